"""Issue 11 items 1 and 8 at the command line: check-config, INVOICE_WORKER_CONFIG,
--version, help with an example for every command, the exit codes listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import __version__
from worker.cli import EXIT_CODES, build_parser, main
from worker.commands import COMMANDS


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INVOICE_WORKER_")}
    return subprocess.run([sys.executable, "-m", "worker", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False, env={**environ, **(env or {})})


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"invoice-worker {__version__}"


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_every_command_has_help_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*name.split(), "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    cmd = next(c for c in COMMANDS if c.name == name)
    assert f"example:\n  {cmd.example}" in text and cmd.example.count("invoice-worker") >= 1
    assert cmd.help in text


def test_main_help_lists_commands_and_exit_codes() -> None:
    text = build_parser().format_help()
    for cmd in COMMANDS:
        assert cmd.name.split()[0] in text
    for code in EXIT_CODES:
        assert f"\n  {code}  " in text
    assert "INVOICE_WORKER_CONFIG" in text


def test_the_spec_commands_and_options_are_kept() -> None:
    parser = build_parser()
    ns = parser.parse_args(["--config", "c.toml", "run", "--once"])
    assert (ns.config, ns.command, ns.once) == ("c.toml", "run", True)
    assert parser.parse_args(["export", "--json"]).json is True
    assert parser.parse_args(["export"]).json is False  # JSON is the default now
    ns = parser.parse_args(["staff", "add", "王静", "--password-env", "PW"])
    assert (ns.staff_command, ns.name, ns.password_env) == ("add", "王静", "PW")
    ns = parser.parse_args(["console", "--host", "192.0.2.1", "--port", "9000"])
    assert (ns.host, ns.port) == ("192.0.2.1", 9000)
    assert parser.parse_args(["console"]).port == 8000
    assert [str(f) for f in parser.parse_args(["import-payments", "a.csv", "b.xlsx"]).files] == [
        "a.csv", "b.xlsx"]
    ns = parser.parse_args(["reprint", "17", "--out", "r"])
    assert (ns.application, str(ns.out)) == ("17", "r")
    for argv in (["init-db"], ["manifest"], ["send-replies"], ["form-template", "x.xlsx"],
                 ["demo", "--dir", "d"], ["staff", "passwd", "王静"], ["check-config"]):
        assert callable(parser.parse_args(argv).func)


def test_check_config_ok_and_problems(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[database]\nurl = "sqlite:///var/invoices.db"\n[output]\ndir = "var/out"\n',
                    encoding="utf-8")
    ok = cli("--config", str(good), "check-config", "--show", cwd=Path("/"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK") and f"resolve against {tmp_path}" in ok.stdout
    shown = json.loads(ok.stdout[ok.stdout.index("{"):])
    assert shown["output"]["dir"] == str(tmp_path / "var" / "out")
    assert shown["smtp"]["from"] == "xy23391756@163.com"

    bad = tmp_path / "bad.toml"
    bad.write_text('[smpt]\nurl = "smtp://127.0.0.1:2525"\n[schedule]\npol_minutes = 1\n'
                   "[invoice]\nfrist_number = 1001\n", encoding="utf-8")
    done = cli("--config", str(bad), "check-config", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stdout.splitlines()
    assert "smpt: unknown key (did you mean 'smtp'?)" in lines
    assert "schedule.pol_minutes: unknown key (did you mean 'poll_minutes'?)" in lines
    assert "invoice.frist_number: unknown key (did you mean 'first_number'?)" in lines


def test_config_comes_from_the_environment_variable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\npol_minutes = 1\n", encoding="utf-8")
    done = cli("check-config", cwd=tmp_path, env={"INVOICE_WORKER_CONFIG": str(bad)})
    assert done.returncode == 2 and "schedule.pol_minutes" in done.stdout
    env_typo = cli("check-config", cwd=tmp_path,
                   env={"INVOICE_WORKER_SCHEDULE__POL_MINUTES": "3"})
    assert env_typo.returncode == 2 and "schedule.pol_minutes" in env_typo.stdout


def test_a_typo_stops_every_command_at_start(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\nurl = "sqlite:///var/invoices.db"\n[smpt]\nurl = "smtp://x"\n'
                   "[schedule]\npol_minutes = 1\n", encoding="utf-8")
    done = cli("--config", str(cfg), "init-db", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "config smpt: unknown key" in done.stderr and "config schedule.pol_minutes" in done.stderr
    assert not (tmp_path / "var").exists()


def test_paths_follow_the_config_file_not_the_working_directory(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    cfg = etc / "worker.toml"
    cfg.write_text('[database]\nurl = "sqlite:///var/invoices.db"\n', encoding="utf-8")
    started = tmp_path / "started-here"
    started.mkdir()
    done = cli("--config", str(cfg), "init-db", cwd=started)
    assert done.returncode == 0, done.stderr
    assert (etc / "var" / "invoices.db").is_file()
    assert list(started.iterdir()) == []


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http", "8000x"])
def test_console_refuses_a_port_that_is_none(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A port past 65535 was served on the port modulo 65536, silently."""
    with pytest.raises(SystemExit) as done:
        main(["console", "--port", port])
    assert done.value.code == 2
    assert "argument --port:" in capsys.readouterr().err

"""The commands: ``run --once`` prints the batch paths, ``export --json`` gives each
invoice's ``pdf`` and each parcel's ``label_pdf``, ``reprint`` renders on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import pages_text
from tests.intake.conftest import World


def cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", "--config", str(world.config_file()),
                           *args], cwd=world.root, capture_output=True, text=True, timeout=300,
                          check=False)


def test_run_export_and_reprint_through_the_command(world: World, tmp_path: Path) -> None:
    submit(world, [make_line(1, name="褚堃"), make_line(2, name="卫喆")], name="一.xlsx")
    submit(world, [make_line(3, name="孙玥")], name="二.xlsx", issue_mode="每人一张")
    run = cli(world, "run", "--once")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["by_status"] == {"accepted": 2} and summary["mails"] == 2
    assert summary["render_error"] is None
    invoices_pdf, labels_pdf = summary["invoices_pdf"], summary["labels_pdf"]
    assert Path(invoices_pdf).name == "invoices.pdf" and Path(labels_pdf).name == "labels.pdf"

    export = cli(world, "export", "--json")
    assert export.returncode == 0, export.stderr
    apps = json.loads(export.stdout)["applications"]
    assert [i["pdf"] for a in apps for i in a["invoices"]] == [invoices_pdf] * 2
    assert [a["shipment"]["label_pdf"] for a in apps] == [labels_pdf] * 2

    again = cli(world, "run", "--once")  # nothing new: no batch
    assert json.loads(again.stdout)["invoices_pdf"] is None

    out = tmp_path / "re"
    by_mail = cli(world, "reprint", apps[1]["message_id"], "--out", str(out))
    assert by_mail.returncode == 0, by_mail.stderr
    (done,) = json.loads(by_mail.stdout)["reprints"]
    assert Path(done["invoices_pdf"]).parent == out.resolve()
    assert pages_text(done["invoices_pdf"]) == pages_text(invoices_pdf)[1:]
    assert pages_text(done["labels_pdf"]) == pages_text(labels_pdf)[1:]

    by_id = cli(world, "reprint", str(done["application"] - 1))
    assert by_id.returncode == 0, by_id.stderr
    (first,) = json.loads(by_id.stdout)["reprints"]
    default_dir = (world.app.config.output_dir / "reprints").resolve()
    assert Path(first["invoices_pdf"]).parent == default_dir
    assert pages_text(first["invoices_pdf"]) == pages_text(invoices_pdf)[:1]


def test_reprint_of_nothing_fails_plainly(world: World) -> None:
    submit(world, [make_line(1)], district="和平区")  # held
    assert cli(world, "run", "--once").returncode == 0
    held = cli(world, "reprint", "1")
    assert held.returncode == 1 and "nothing was issued" in held.stderr
    assert json.loads(held.stdout) == {"reprints": [], "skipped": [
        {"application": 1, "reason": "application 1 is held: nothing was issued for it"}]}
    missing = cli(world, "reprint", "<nobody@example.com>")
    assert missing.returncode == 1 and "no application or mail" in missing.stderr


def test_run_once_exits_3_when_printing_failed_but_keeps_the_pass(
        world: World, monkeypatch, capsys, in_process) -> None:  # type: ignore[no-untyped-def]
    from worker.cli import main

    submit(world, [make_line(1)])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pango is missing")

    monkeypatch.setattr("worker.documents.files.write_pdf", broken)
    code = main(["--config", str(world.config_file()), "run", "--once"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 3
    assert summary["by_status"] == {"accepted": 1} and summary["invoices_pdf"] is None
    assert "pango is missing" in summary["render_error"]
    assert world.export()[0]["status"] == "accepted"

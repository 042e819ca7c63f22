"""The deployment kit stays in step with the code: the units name the secrets the
worker reads, the Procfile migrates on release, gunicorn and nginx agree on timeouts
and the headers the console trusts, compose runs init-db before the rest."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

from worker.config import load_config
from worker.console.security import CSP

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def unit(name: str) -> dict[str, dict[str, str]]:
    """A systemd unit's sections; a key given more than once (Environment=) joined by newlines."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in (DEPLOY / "systemd" / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            current[key] = f"{current[key]}\n{value}" if key in current else value
    return sections


def test_units_read_the_secrets_from_an_environment_file() -> None:
    cfg = load_config()
    env_names = {line.split("=", 1)[0] for line in (DEPLOY / "env.example").read_text().splitlines()
                 if "=" in line and not line.startswith("#")}
    assert env_names == {cfg.mailbox.password_env, cfg.smtp.password_env, "CONSOLE_SECRET_KEY"}
    for name in ("invoice-worker.service", "invoice-console.service"):
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/invoice-worker/env"
        assert "INVOICE_WORKER_CONFIG=" in service["Environment"]
        assert service["User"] == "invoice"
    worker = unit("invoice-worker.service")["Service"]
    assert worker["ExecStart"].endswith(" run") and "init-db" in worker["ExecStartPre"]
    assert "deploy/gunicorn.conf.py" in unit("invoice-console.service")["Service"]["ExecStart"]
    assert "backup.sh" in unit("invoice-backup.service")["Service"]["ExecStart"]


def test_procfile_migrates_on_release() -> None:
    procs = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert set(procs) == {"release", "worker", "web"}
    assert procs["release"].startswith("invoice-worker") and procs["release"].endswith(" init-db")
    assert "gunicorn --config deploy/gunicorn.conf.py" in procs["web"]


def test_gunicorn_and_nginx_agree() -> None:
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["worker_class"] == "gthread" and settings["timeout"] >= 120
    nginx = (DEPLOY / "nginx" / "invoice-console.conf").read_text()
    assert f"proxy_read_timeout {settings['timeout']}s" in nginx
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Host"):
        assert f"proxy_set_header {header} " in nginx
    assert "listen 443 ssl" in nginx and "ssl_certificate " in nginx and "client_max_body_size 20m" in nginx
    assert "add_header Content-Security-Policy" not in nginx and "script-src" not in CSP  # the app's own


def test_compose_runs_init_db_before_worker_and_console() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    assert re.findall(r"^  ([a-z-]+):", compose, re.M) == ["db", "init-db", "worker", "console",
                                                           "pgdata", "data"]
    assert compose.count("condition: service_completed_successfully") == 2
    assert "env_file: deploy/env" in compose and "postgresql+psycopg://invoice:invoice@db:5432/invoice" in (
        DEPLOY / "docker" / "config.toml").read_text()
    assert load_config(DEPLOY / "docker" / "config.toml").output_dir == Path("/data/out")
    docker = (ROOT / "Dockerfile").read_text()
    assert "libharfbuzz-subset0" in docker and "fonts-noto-cjk" in docker and "USER invoice" in docker

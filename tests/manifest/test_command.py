"""``invoice-worker manifest`` through the real command, with a real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.smtp import PASSWORD, USER, SmtpServer
from tests.manifest.conftest import Site


def manifest(site: Site, smtp_toml: str = "", env: dict[str, str] | None = None,
             ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    cfg = site.world.config_file()
    cfg.write_text(cfg.read_text(encoding="utf-8") + smtp_toml, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "worker", "--config", str(cfg), "manifest"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})
    data = json.loads(done.stdout) if done.stdout.strip() else {}
    return done, data


def test_run_twice_through_the_command(site: Site, smtp_server: SmtpServer) -> None:
    waybills = site.issue(3)
    done, first = manifest(site, smtp_server.toml())
    assert done.returncode == 0, done.stderr
    assert list(first)[:3] == ["parcels", "xlsx", "pdf"]
    assert first["parcels"] == 3 and first["emailed"] == "smtp"
    assert Path(first["xlsx"]).is_file() and Path(first["pdf"]).is_file()
    done, second = manifest(site, smtp_server.toml())
    assert done.returncode == 0, done.stderr
    assert {k: second[k] for k in ("parcels", "xlsx", "pdf")} == {
        "parcels": 0, "xlsx": None, "pdf": None}
    (got,) = smtp_server.messages
    text = got.message().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(w in text for w in waybills)


def test_the_courier_receives_both_files_with_chinese_names(
        make_site: Any, smtp_starttls: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    site = make_site(smtp=smtp_starttls.overrides(), courier={"email": "sf-tj@courier.example"})
    site.issue(2)
    result = site.close()
    assert result.emailed == "smtp" and result.xlsx and result.pdf
    (got,) = smtp_starttls.messages
    assert got.tls and got.login == USER
    assert got.rcpt_tos == ["sf-tj@courier.example"]
    msg = got.message()
    assert msg["To"] == "sf-tj@courier.example"
    assert msg["Subject"].startswith("取件清单 第1号 2018-09-03 共2件 到付合计")
    assert got.data.split(b"\r\n\r\n", 1)[0].isascii()  # encoded words, not raw UTF-8
    atts = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert atts == {"取件清单-第1号-2018-09-03.xlsx": result.xlsx.read_bytes(),
                    "取件清单-第1号-2018-09-03.pdf": result.pdf.read_bytes()}


def test_smtp_down_keeps_the_manifest_and_the_next_run_sends_it_once(
        site: Site, smtp_server: SmtpServer, dead_smtp_url: str) -> None:
    waybills = site.issue(2)
    done, data = manifest(site, f'[smtp]\nurl = "{dead_smtp_url}"\n')
    assert done.returncode == 3
    assert data["parcels"] == 2 and Path(data["xlsx"]).is_file() and data["emailed"] is None
    assert "manifest(s) 1 written but not mailed to pickup@courier.example" in done.stderr
    assert "next `manifest` run sends them" in done.stderr and "Traceback" not in done.stderr
    (m,) = site.manifests()
    assert m.emailed_at is None
    assert {s.manifest_id for s in site.shipments()} == {1}

    done, data = manifest(site, smtp_server.toml())
    assert done.returncode == 0, done.stderr
    assert (data["parcels"], data["xlsx"], data["resent"]) == (0, None, [1])
    (got,) = smtp_server.messages
    assert "第1号" in got.message()["Subject"]
    (m,) = site.manifests()
    assert m.emailed_at is not None
    assert [s.waybill for s in site.shipments() if s.manifest_id == 1] == waybills

    done, data = manifest(site, smtp_server.toml())
    assert done.returncode == 0 and data["resent"] == []
    assert len(smtp_server.messages) == 1 and len(site.manifests()) == 1


def test_without_smtp_the_mail_is_an_eml_in_the_output_folder(site: Site) -> None:
    site.issue(2)
    done, data = manifest(site)
    assert done.returncode == 0, done.stderr
    eml = Path(data["emailed"])
    assert eml.parent == site.app.config.output_dir / "outbox" and eml.suffix == ".eml"
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["To"] == "pickup@courier.example"
    day = Path(data["xlsx"]).stem.removeprefix("1-")  # the pickup date, YYYY-MM-DD
    atts = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert atts == {f"取件清单-第1号-{day}.xlsx": Path(data["xlsx"]).read_bytes(),
                    f"取件清单-第1号-{day}.pdf": Path(data["pdf"]).read_bytes()}
    done, data = manifest(site)
    assert data["parcels"] == 0 and len(list(eml.parent.iterdir())) == 1


def test_zero_parcels_writes_nothing(site: Site) -> None:
    done, data = manifest(site)
    assert done.returncode == 0, done.stderr
    assert {k: data[k] for k in ("parcels", "xlsx", "pdf")} == {
        "parcels": 0, "xlsx": None, "pdf": None}
    assert not (site.app.config.output_dir / "manifests").exists()
    assert not (site.app.config.output_dir / "outbox").exists()

"""The console's security promises, through HTTP (Flask's test client)."""

from __future__ import annotations

import os
import re
import stat

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.builders.mail import XLSX
from tests.console.conftest import PASSWORD, Seeded, csrf_of, log_in
from tests.intake.conftest import World
from worker.db.models import Application, Invoice, StoredAttachment
from worker.intake.record import attachment_name
from worker.message.model import Attachment
from worker.staff import accounts


def urls(app: Flask) -> list[tuple[str, str]]:
    """Every route with sample arguments, as (method, url)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("auth.login", "static", "health.healthz"):  # public on purpose
            continue
        args = {a: ("pdf" if a == "kind" else 1) for a in rule.arguments}
        url = rule.build(args)[1]  # type: ignore[index]
        out += [(m, url) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return out


def test_every_page_but_login_refuses_a_stranger(flask_app: Flask, client: FlaskClient,
                                                 seeded: Seeded) -> None:
    routes = urls(flask_app)
    assert len(routes) >= 20
    token = csrf_of(client.get("/login").get_data(as_text=True))  # a stranger with a token
    for method, url in routes:
        if method == "GET":
            r = client.get(url)
            assert r.status_code == 302 and r.location.startswith("/login"), url
        else:
            r = client.post(url, data={"csrf_token": token})
            assert r.status_code == 403, url
            assert client.post(url).status_code == 400, url  # and without one
    assert client.get("/static/console.css").status_code == 200
    assert client.get("/login").status_code == 200


def test_login_wrong_password_is_refused(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"name": "李老师", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"name": "李老师", "password": PASSWORD})
    assert r.status_code == 400 and "令牌" in r.get_data(as_text=True)
    r = client.post("/login", data={"name": "李老师", "password": PASSWORD, "csrf_token": "x" * 43})
    assert r.status_code == 400
    assert client.get("/").status_code == 302


def test_action_without_csrf_token_changes_nothing(logged_in: tuple[FlaskClient, str],
                                                   seeded: Seeded, world: World) -> None:
    client, token = logged_in
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")  # differs, whatever the token
    for data in ({}, {"csrf_token": ""}, {"csrf_token": wrong}):
        r = client.post(f"/applications/{seeded.hostile}/reject", data={**data, "message": "x"})
        assert r.status_code == 400
    assert client.post("/logout").status_code == 400  # logout needs it too
    assert client.get("/").status_code == 200          # ...so we are still in
    with world.app.sessions() as s:
        assert s.get(Application, seeded.hostile).status == "held"  # type: ignore[union-attr]


def test_rate_limit_through_the_form(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    for _ in range(5):
        client.post("/login", data={"name": "李老师", "password": "guess", "csrf_token": token})
    r = client.post("/login", data={"name": "李老师", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "秒后再试" in r.get_data(as_text=True)
    assert 1 <= int(r.headers["Retry-After"]) <= 30  # the first wait is 30 s


def test_logout_ends_the_session_and_a_new_password_ends_others(
        flask_app: Flask, client: FlaskClient, world: World) -> None:
    token = log_in(client)
    other = flask_app.test_client()
    log_in(other)
    assert client.get("/queue").status_code == 200
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302 and client.get("/queue").status_code == 302
    with world.app.sessions.begin() as s:
        accounts.set_password(s, "李老师", "a brand new password")
    assert other.get("/queue").status_code == 302


def test_session_cookie_and_headers(client: FlaskClient, flask_app: Flask, world: World) -> None:
    client.get("/login")
    cookie = client.get_cookie("iw_console")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp  # no script may run
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-store"
    secret = world.app.config.output_dir / ".console-secret"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert flask_app.secret_key == secret.read_text().strip()


def test_no_open_redirect_after_login(client: FlaskClient) -> None:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example/", "/"),
                             ("/\\evil.example", "/"), ("/queue?status=held", "/queue?status=held")):
        r = client.post("/login", data={"name": "李老师", "password": PASSWORD,
                                        "csrf_token": token, "next": target})
        assert r.location == expected, target
        token = csrf_of(client.get("/").get_data(as_text=True))


def test_script_in_unit_name_is_text(logged_in: tuple[FlaskClient, str], seeded: Seeded) -> None:
    client, _ = logged_in
    for url in ("/queue", f"/applications/{seeded.hostile}", "/queue?q=%3Cscript%3E"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;单位" in html, url
    page = client.get(f"/applications/{seeded.hostile}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;.xlsx" in page


def test_attachment_download(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                             world: World) -> None:
    client, _ = logged_in
    r = client.get(f"/applications/{seeded.no_recipient}/attachment")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"file.xlsx\"; "
        "filename*=UTF-8''%E7%94%B3%E8%AF%B7%E8%A1%A8.xlsx")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.mimetype == "application/octet-stream"
    r = client.get(f"/applications/{seeded.hostile}/attachment")  # hostile name: still a file
    disposition = r.headers["Content-Disposition"]
    assert r.status_code == 200
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"; filename\*=UTF-8\'\'[%A-Za-z0-9._-]+',
                        disposition)


def test_attachment_download_gives_the_stored_bytes_or_an_older_file(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    """From the database (``stored_attachments``) byte for byte; an application stored
    before migration 0013 names a file under the output folder, served from there."""
    client, _ = logged_in
    with world.app.sessions() as s:
        app = s.get(Application, seeded.no_recipient)
        assert app is not None and app.attachment_path
        stored = s.get(StoredAttachment, app.attachment_path)
        assert stored is not None
        data = stored.data
    assert client.get(f"/applications/{seeded.no_recipient}/attachment").data == data
    content = b"PK\x03\x04 stored as a file"
    name = attachment_name(Attachment("申请表.xlsx", XLSX, content))
    older = world.app.config.output_dir / name
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(content)
    with world.app.sessions.begin() as s:
        s.get(Application, seeded.no_recipient).attachment_path = name  # type: ignore[union-attr]
    r = client.get(f"/applications/{seeded.no_recipient}/attachment")
    assert r.status_code == 200 and r.data == b"PK\x03\x04 stored as a file"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("stored", ["../../../../../../etc/passwd", "/etc/passwd",
                                    "attachments/../../config.toml", "attachments/escape.xlsx",
                                    "attachments/missing.xlsx", "attachments\x00/x",
                                    ".console-secret", "outbox/reply.eml", "batches/b/invoices.pdf",
                                    "attachments/2d/2d" + "0" * 62 + ".xlsx/../../../.console-secret"])
def test_attachment_download_cannot_escape_its_folder(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World, stored: str) -> None:
    client, _ = logged_in
    out = world.app.config.output_dir
    (world.root / "config.toml").write_text("secret = 1\n")
    (out / "attachments").mkdir(exist_ok=True)
    link = out / "attachments" / "escape.xlsx"
    if not link.exists():
        link.symlink_to("/etc/passwd")  # a symlink inside that points outside
    # Files inside the output folder that are no attachment: never served as one.
    for other in (".console-secret", "outbox/reply.eml", "batches/b/invoices.pdf",
                  "attachments/2d/2d" + "0" * 62 + ".xlsx"):
        (out / other).parent.mkdir(parents=True, exist_ok=True)
        if not (out / other).exists():
            (out / other).write_bytes(b"secret")
    with world.app.sessions.begin() as s:
        s.get(Application, seeded.no_recipient).attachment_path = stored.replace("\x00", "")  # type: ignore[union-attr]
    r = client.get(f"/applications/{seeded.no_recipient}/attachment")
    assert r.status_code == 404
    assert b"root:" not in r.data and b"secret" not in r.data


def test_pdf_paths_outside_the_output_folder_are_not_served(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, _ = logged_in
    with world.app.sessions() as s:
        invoice_id = s.scalars(select(Invoice.id).where(Invoice.pdf_path.is_not(None))).first()
    assert invoice_id is not None
    good = client.get(f"/files/invoice/{invoice_id}.pdf")
    assert good.status_code == 200 and good.data[:5] == b"%PDF-"
    assert good.headers["Content-Disposition"].startswith("inline; ")
    with world.app.sessions.begin() as s:
        s.get(Invoice, invoice_id).pdf_path = "/etc/passwd"  # type: ignore[union-attr]
    assert client.get(f"/files/invoice/{invoice_id}.pdf").status_code == 404
    assert client.get("/files/reprint/1/0").status_code == 404
    assert client.get("/files/manifest/1.exe").status_code == 404


def test_acting_twice_through_the_console_is_refused(
        logged_in: tuple[FlaskClient, str], seeded: Seeded, world: World) -> None:
    client, token = logged_in
    url = f"/applications/{seeded.hostile}"
    r = client.post(url + "/reject", data={"csrf_token": token, "message": "请重新申请"},
                    follow_redirects=True)
    assert "已退回" in r.get_data(as_text=True)
    for action, data in (("/reject", {"message": "又一次"}), ("/approve", {}),
                         ("/correct", {"unit": "x"}), ("/recheck", {})):
        page = client.post(url + action, data={"csrf_token": token, **data},
                           follow_redirects=True).get_data(as_text=True)
        assert "该申请已退回" in page, action
    r = client.post(f"/applications/{seeded.accepted}/approve", data={"csrf_token": token},
                    follow_redirects=True)
    assert "该申请已开具，不能批准" in r.get_data(as_text=True)
    assert client.post("/applications/999/approve", data={"csrf_token": token}).status_code == 404


def test_a_long_download_name_keeps_its_suffix() -> None:
    from worker.console.files import safe_name

    long = "天津市武清区" * 60 + ".xlsx"
    assert len(safe_name(long, "x")) == 200 and safe_name(long, "x").endswith("天津市.xlsx")
    assert safe_name("a" * 300, "x") == "a" * 200
    assert safe_name("../../申请表.xlsx", "x") == "申请表.xlsx"
    assert safe_name("", "fallback.bin") == "fallback.bin"

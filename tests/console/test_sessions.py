"""Issue 10 item 6 over HTTP: server-side sessions that logout, a new password and
"end all sessions" really end -- copied cookies included."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import PASSWORD, csrf_of, log_in
from tests.intake.conftest import World
from worker.db.models import AuditEntry, ConsoleSession
from worker.db.types import utcnow
from worker.staff import accounts
from worker.staff.sessions import LIFETIME, check_session

COOKIE = "iw_console"


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a stolen copy of ``client``'s session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def test_logout_ends_a_copied_cookie_too(flask_app: Flask, client: FlaskClient,
                                         world: World) -> None:
    token = log_in(client)
    thief = copy_of(flask_app, client)
    assert thief.get("/queue").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    r = thief.get("/queue")
    assert r.status_code == 302 and r.location.startswith("/login")
    assert thief.post("/account/sessions/end-all", data={"csrf_token": token}).status_code in (400, 403)
    with world.app.sessions() as s:
        row = s.scalars(select(ConsoleSession)).one()
    assert row.ended_at is not None and row.end_reason == "logout"


def test_the_database_holds_no_usable_token(flask_app: Flask, client: FlaskClient,
                                            world: World) -> None:
    log_in(client)
    with world.app.sessions() as s:
        stored = s.scalars(select(ConsoleSession.token_hash)).one()
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    serializer = flask_app.session_interface.get_signing_serializer(flask_app)  # type: ignore[attr-defined]
    data = serializer.loads(cookie.value)
    assert data["sid"] != stored and len(stored) == 64  # SHA-256 of the token, not the token
    assert check_session(world.app.sessions, data["sid"]) is not None
    assert check_session(world.app.sessions, stored) is None
    assert check_session(world.app.sessions, data["sid"], utcnow() + LIFETIME) is None


def test_a_new_password_in_the_console_ends_the_other_sessions(
        flask_app: Flask, client: FlaskClient, world: World) -> None:
    token = log_in(client)
    other = flask_app.test_client()
    log_in(other)
    form = {"csrf_token": token, "old": "wrong", "new": "a brand new password",
            "again": "a brand new password"}
    page = client.post("/account/password", data=form, follow_redirects=True)
    assert "原密码不正确" in page.get_data(as_text=True)
    assert other.get("/queue").status_code == 200  # nothing changed
    page = client.post("/account/password", data={**form, "old": PASSWORD}, follow_redirects=True)
    assert "密码已修改；您的其他 1 个会话已结束" in page.get_data(as_text=True)
    assert client.get("/queue").status_code == 200   # this session goes on
    assert other.get("/queue").status_code == 302    # the other is over
    log_in(flask_app.test_client(), password="a brand new password")
    with world.app.sessions() as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["password"]


def test_a_password_set_from_the_shell_ends_sessions(flask_app: Flask, client: FlaskClient,
                                                     world: World) -> None:
    log_in(client)
    with world.app.sessions.begin() as s:  # what `staff passwd` does
        accounts.set_password(s, "李老师", "a brand new password")
    assert client.get("/queue").status_code == 302


def test_ending_my_other_sessions_and_everyones(flask_app: Flask, client: FlaskClient,
                                               world: World) -> None:
    with world.app.sessions.begin() as s:
        accounts.create_staff(s, "王老师", "another long password")
    token = log_in(client)
    mine, theirs = flask_app.test_client(), flask_app.test_client()
    log_in(mine)
    log_in(theirs, "王老师", "another long password")
    page = client.get("/account").get_data(as_text=True)
    assert page.count("<tr><td") == 2 and "当前会话" in page
    r = client.post("/account/sessions/end-others", data={"csrf_token": token},
                    follow_redirects=True)
    assert "已结束您的其他 1 个会话" in r.get_data(as_text=True)
    assert mine.get("/").status_code == 302 and theirs.get("/").status_code == 200
    token = csrf_of(client.get("/account").get_data(as_text=True))
    r = client.post("/account/sessions/end-all", data={"csrf_token": token})
    assert r.status_code == 302 and r.location.startswith("/login")
    assert client.get("/").status_code == 302 and theirs.get("/").status_code == 302
    with world.app.sessions() as s:
        assert not s.scalars(select(ConsoleSession).where(
            ConsoleSession.ended_at.is_(None))).all()
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action) for e in entries] == [("李老师", "end_sessions")] * 2
    assert '"whose": "所有工作人员"' in entries[1].changes


def test_a_disabled_account_is_out_at_once(client: FlaskClient, world: World) -> None:
    log_in(client)
    with world.app.sessions.begin() as s:
        accounts.find_staff(s, "李老师").active = False  # type: ignore[union-attr]
    assert client.get("/").status_code == 302
    with world.app.sessions() as s:
        assert s.scalars(select(ConsoleSession.end_reason)).one() == "account_disabled"


def test_sessions_expire_after_their_lifetime(world: World, client: FlaskClient) -> None:
    log_in(client)
    with world.app.sessions.begin() as s:
        row = s.scalars(select(ConsoleSession)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/").status_code == 302

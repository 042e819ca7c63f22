"""Issue 10 items 3 and 5 over HTTP: login throttling that never locks the owner out,
the failed-tries notice, the proxy warning, and the redirect after login."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import PASSWORD, csrf_of, log_in
from tests.intake.conftest import World
from worker.console import create_app
from worker.db.models import LoginAttempt


def try_login(client: FlaskClient, password: str, name: str = "李老师",
              **extra: str) -> tuple[int, str, str | None]:
    token = csrf_of(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"name": name, "password": password, "csrf_token": token,
                                    **extra})
    return r.status_code, r.get_data(as_text=True), r.location


def test_a_stranger_cannot_lock_the_owner_out(flask_app: Flask, world: World) -> None:
    owner = flask_app.test_client()
    token = log_in(owner)  # the owner's browser has logged in before: it has a device cookie
    owner.post("/logout", data={"csrf_token": token})
    stranger = flask_app.test_client()
    for _ in range(5):
        assert try_login(stranger, "guess")[0] == 401
    for _ in range(10):  # knocking while throttled: refused unchecked, and not counted
        assert try_login(stranger, PASSWORD)[0] == 429
    status, _, location = try_login(owner, PASSWORD)
    assert status == 302 and location == "/"
    with world.app.sessions() as s:
        throttled = s.scalars(select(LoginAttempt).where(LoginAttempt.throttled.is_(True))).all()
    assert len(throttled) == 10


def test_the_notice_of_failed_tries_is_shown_once_after_login(flask_app: Flask) -> None:
    owner = flask_app.test_client()
    owner.post("/logout", data={"csrf_token": log_in(owner)})
    stranger = flask_app.test_client()
    for _ in range(6):
        try_login(stranger, "guess")
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    page = owner.get(try_login(owner, PASSWORD)[2] or "/").get_data(as_text=True)
    assert "您的账户有 6 次登录失败（其中 1 次因尝试过多被直接拒绝）" in page
    assert "来自 127.0.0.1" in page  # the stranger's address
    assert "登录失败" not in owner.get("/").get_data(as_text=True)  # once only


def test_forwarded_for_without_the_proxy_setting_warns(
        flask_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = flask_app.test_client()
    assert "CONSOLE_BEHIND_PROXY" not in client.get("/login").get_data(as_text=True)
    headers = {"X-Forwarded-For": "203.0.113.7"}
    with caplog.at_level(logging.WARNING, logger="worker.console.security"):
        for _ in range(3):
            page = client.get("/login", headers=headers).get_data(as_text=True)
            assert 'id="proxy-warning"' in page and "CONSOLE_BEHIND_PROXY=1" in page
    warnings = [r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(warnings) == 1  # logged once, shown on every page


def test_behind_the_proxy_the_forwarded_address_is_the_clients(
        world: World, staff: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_BEHIND_PROXY", "1")
    app = create_app(world.app.config)
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        headers = {"X-Forwarded-For": "203.0.113.7"}
        token = csrf_of(client.get("/login", headers=headers).get_data(as_text=True))
        r = client.post("/login", headers=headers, data={
            "name": "李老师", "password": "guess", "csrf_token": token})
        assert r.status_code == 401 and "proxy-warning" not in r.get_data(as_text=True)
        with world.app.sessions() as s:
            assert s.scalars(select(LoginAttempt.address)).one() == "203.0.113.7"
    finally:
        app.extensions["invoice_worker"].close()


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\t/evil.example/", "\t//evil.example", "/\n/evil.example",
    "/\r\n/evil.example", " //evil.example", "/\\evil.example", "\\\\evil.example",
    "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example", "//evil.example",
    "/queue\r\nSet-Cookie: x=1", "/login", "/nowhere",
])
def test_no_redirect_off_the_console_after_login(client: FlaskClient, target: str) -> None:
    status, _, location = try_login(client, PASSWORD, next=target)
    assert status == 302 and location == "/", repr(target)


def test_the_next_page_survives_the_login_page_as_a_browser_sends_it(
        client: FlaskClient) -> None:
    html = client.get("/login?next=/%09/evil.example").get_data(as_text=True)
    assert 'name="next" value="/\t/evil.example"' in html  # what the browser posts back
    assert try_login(client, PASSWORD, next="/\t/evil.example")[2] == "/"
    token = csrf_of(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    for target in ("/queue?status=held&q=%E5%AE%9D", "/applications/1", "/print"):
        assert try_login(client, PASSWORD, next=target)[2] == target
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})

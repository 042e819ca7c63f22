"""CSRF protection: one random token per session, required on every POST.

Checked before anything else runs (login, logout and uploads included), compared in
constant time. SameSite=Lax cookies already keep other sites' forms from carrying
the session; the token also covers same-site pages and old browsers.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

FIELD = "csrf_token"


def token() -> str:
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return str(session[FIELD])


def new_token() -> None:
    """A fresh token (at login and logout: a token seen before login is not reused)."""
    session[FIELD] = secrets.token_urlsafe(32)


def _check() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get(FIELD)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(
            sent.encode(), expected.encode()):
        abort(400, description="表单已失效（缺少或错误的安全令牌），请刷新页面后重试。")


def install(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = token

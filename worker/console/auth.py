"""Logging in and out, and the rule that every page but the login page needs it.

The session is server-side (``worker.staff.sessions``): Flask's signed cookie
(HttpOnly, SameSite=Lax, 10 hours) carries only a random token and the CSRF token;
each request looks the token up, so logging out, a new password, a disabled account
or "end all sessions" end a session at once, copied cookies included.

A successful login also leaves a signed *device cookie* (path ``/login`` only) naming
the accounts this browser has logged in to; ``worker.staff.login`` lets such a browser
through however many failures strangers caused on the same name.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from worker.console import csrf
from worker.console.db import config, sessions
from worker.staff.login import THROTTLED, FailureNotice, clean_key, login, wait_text
from worker.staff.sessions import EndReason, check_session, end_session, open_session

bp = Blueprint("auth", __name__)
PUBLIC = frozenset({"auth.login", "static"})
DEVICE_COOKIE = "iw_device"
DEVICE_DAYS = 365
DEVICE_NAMES = 5  # accounts remembered per browser (a shared office PC)
SID = "sid"
# WHATWG URL standard, "basic URL parser": remove every ASCII tab or newline, and
# leading/trailing C0 controls and spaces, before anything else -- so "/\t/evil"
# is "//evil" to a browser, a link to another site.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_SPACE = "".join(chr(c) for c in range(0x21))
_PATH_SAFE = "/-._~!$&'()*+,;=:@%"


def safe_next(target: str | None) -> str:
    """Where to go after login: only a page of this console (a GET route other than
    login), read the way a browser would read it; anything else is the dashboard."""
    default = url_for("dashboard.index")
    text = _TAB_NEWLINE.sub("", target or "").strip(_C0_SPACE)
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return default
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return default
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return default
    if endpoint in PUBLIC:
        return default
    path = quote(parts.path, safe=_PATH_SAFE)
    return path + ("?" + quote(parts.query, safe=_PATH_SAFE + "?") if parts.query else "")


def _devices() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt="iw-device")  # type: ignore[arg-type]


def _device_map() -> dict[str, str]:
    raw = request.cookies.get(DEVICE_COOKIE, "")
    try:
        data = _devices().loads(raw) if raw else {}
    except BadSignature:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _remember_device(response: Response, name: str, device: str) -> None:
    known = {k: v for k, v in _device_map().items() if k != name}
    known = dict(list(known.items())[-(DEVICE_NAMES - 1):]) | {name: device}
    response.set_cookie(DEVICE_COOKIE, _devices().dumps(known), max_age=DEVICE_DAYS * 86400,
                        path=url_for("auth.login"), httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def notice_text(n: FailureNotice) -> str:
    """The notice shown after login about failed tries on this account."""
    tz = config().tz
    since = f"自上次登录（{n.since.astimezone(tz):%Y-%m-%d %H:%M}）以来" if n.since else "此前"
    refused = f"（其中 {n.throttled} 次因尝试过多被直接拒绝）" if n.throttled else ""
    return (f"{since}，您的账户有 {n.count} 次登录失败{refused}；最近一次在 "
            f"{n.last_at.astimezone(tz):%Y-%m-%d %H:%M}，来自 {n.last_address}。"
            "如果不是您本人，请在“账户”页修改密码。")


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page() -> Response | str | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    name = request.form.get("name", "")
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    result = login(sessions(), name, password, address,
                   device=_device_map().get(clean_key(name)))
    if result.actor is None:
        error, headers = result.error, {}
        if result.error == THROTTLED:
            error = f"{THROTTLED}（请 {wait_text(result.retry_after)}后再试）"
            headers = {"Retry-After": str(max(1, math.ceil(result.retry_after.total_seconds())))}
        return render_template("console/login.html", error=error, name=name,
                               next=request.form.get("next", "")), \
            429 if result.error == THROTTLED else 401, headers
    old = session.get(SID)
    if old:
        end_session(sessions(), old, EndReason.LOGOUT)
    session.clear()  # nothing from before login survives (no session fixation)
    session.permanent = True
    session[SID] = open_session(sessions(), result.actor, result.password_fingerprint, address,
                                request.headers.get("User-Agent", ""))
    csrf.new_token()
    if result.failures:
        flash(notice_text(result.failures), "warn")
    response = redirect(safe_next(request.form.get("next")))
    if result.device:
        _remember_device(response, result.actor.name, result.device)
    return response


@bp.post("/logout")
def logout() -> Response:
    end_session(sessions(), session.get(SID), EndReason.LOGOUT)
    session.clear()
    csrf.new_token()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


def _require_login() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    live = check_session(sessions(), session.get(SID))
    if live is None:
        session.pop(SID, None)
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)
    g.actor = live.actor
    g.session_id = live.id
    return None


def install(app: Flask) -> None:
    app.before_request(_require_login)

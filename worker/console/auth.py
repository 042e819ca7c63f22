"""Logging in and out, and the rule that every page but the login page needs it.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, 10 hours). It holds the
staff id and a fingerprint of the password hash; each request checks both against the
database, so disabling an account or setting a new password ends its sessions.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from worker.console import csrf
from worker.console.db import sessions
from worker.staff.login import LOCKED, current_staff, login

bp = Blueprint("auth", __name__)
PUBLIC = frozenset({"auth.login", "static", "health.healthz"})  # healthz: no details


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to //evil or http://evil."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
def login_page() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next", ""))
    name = request.form.get("name", "")
    password = request.form.get("password", "")
    result = login(sessions(), name, password, request.remote_addr or "unknown")
    if result.actor is None:
        status = 429 if result.error == LOCKED else 401
        return render_template("console/login.html", error=result.error, name=name,
                               next=request.form.get("next", "")), status
    session.clear()  # nothing from before login survives (no session fixation)
    session.permanent = True
    session["staff_id"] = result.actor.id
    session["fp"] = result.password_fingerprint
    csrf.new_token()
    return redirect(_safe_next(request.form.get("next")))



@bp.post("/logout")
def logout() -> Response:
    session.clear()
    csrf.new_token()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))


def _require_login() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    with sessions()() as db:
        who = current_staff(db, session.get("staff_id"), session.get("fp"))
    if who is None:
        session.pop("staff_id", None)
        session.pop("fp", None)
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)
    g.actor = who
    return None


def install(app: Flask) -> None:
    app.before_request(_require_login)

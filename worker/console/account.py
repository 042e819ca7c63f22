"""The staff member's own account: open sessions, ending them, a new password, and
ending every session of every staff member (after a suspected break-in) -- all from
the console, no shell needed. The work is done by ``worker.staff.sessions``."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from worker.console.db import actor, sessions
from worker.staff.errors import ActionRefused
from worker.staff.sessions import (
    change_password,
    end_all_sessions,
    end_my_other_sessions,
    live_sessions,
)

bp = Blueprint("account", __name__)


@bp.get("/account")
def index() -> str:
    me = actor()
    assert me.id is not None
    return render_template("console/account.html", live=live_sessions(sessions(), me.id),
                           current=g.session_id)


@bp.post("/account/sessions/end-others")
def end_others() -> Response:
    n = end_my_other_sessions(sessions(), actor(), g.session_id)
    flash(f"已结束您的其他 {n} 个会话", "ok")
    return redirect(url_for("account.index"))


@bp.post("/account/sessions/end-all")
def end_all() -> Response:
    n = end_all_sessions(sessions(), actor())
    session.clear()
    flash(f"已结束所有工作人员的 {n} 个会话（包括您自己的），请重新登录", "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/password")
def password() -> Response:
    f = request.form
    try:
        n = change_password(sessions(), actor(), g.session_id, f.get("old", ""),
                            f.get("new", ""), f.get("again", ""))
    except ActionRefused as e:
        flash(str(e), "error")
    else:
        flash(f"密码已修改；您的其他 {n} 个会话已结束", "ok")
    return redirect(url_for("account.index"))

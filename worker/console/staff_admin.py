"""Accounts page for admins: every console account, disable and enable (the logic and
its audit are ``worker.staff.admin``'s; this layer only reads and forwards)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from worker.console.db import actor, sessions
from worker.staff.admin import is_admin, list_staff, set_active
from worker.staff.errors import ActionRefused

bp = Blueprint("staff_admin", __name__)


@bp.before_app_request
def _load_role() -> None:
    """After login's check (registered later, so it runs later): is this an admin? Read
    here, before any page opens its session: SQLite's BEGIN IMMEDIATE would make a
    second session inside a page's wait for the first."""
    who = g.get("actor")
    if who is not None:
        with sessions()() as db:
            g.is_admin = is_admin(db, who.id)


def _require_admin() -> None:
    if not g.get("is_admin"):
        abort(403)


@bp.app_context_processor
def _role() -> dict[str, bool]:
    """``is_admin`` for the navigation."""
    return {"is_admin": bool(g.get("is_admin"))}


@bp.get("/staff")
def index() -> str:
    _require_admin()
    with sessions()() as db:
        return render_template("console/staff.html", accounts=list_staff(db), me=actor().id)


@bp.post("/staff/<action>")
def change(action: str) -> Response:
    _require_admin()
    if action not in ("disable", "enable"):
        abort(404)
    name = request.form.get("name", "")[:64]
    try:
        account = set_active(sessions(), actor(), name, action == "enable")
    except ActionRefused as e:
        flash(str(e), "error")
    else:
        flash(f"已{'启用' if account.active else '停用'}账号 {account.name}", "ok")
    return redirect(url_for("staff_admin.index"))

"""``invoice-worker staff add NAME`` (and ``staff passwd NAME``): accounts from the shell
(the commands are declared in ``worker/commands/staff.py``).

The password comes from the environment variable named by ``--password-env`` (for
scripts; never on the command line, where ``ps`` would show it), else it is asked
for twice without echo.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session

from worker.app import App
from worker.db import check_schema
from worker.staff.accounts import set_password
from worker.staff.admin import add_staff
from worker.staff.errors import ActionRefused


def _password(var: str | None) -> str:
    if var:
        value = os.environ.get(var)
        if not value:
            raise ActionRefused(f"environment variable {var} is not set or empty")
        return value
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ActionRefused("the two passwords differ")
    return first


def add(app: App, name: str, password_env: str | None, *, admin: bool = False) -> int:
    """``staff add NAME [--admin]``: exit 1 (with the reason) when the name is taken or
    the password is refused. The first account made is an admin."""
    def create(session: Session, password: str) -> str:
        staff = add_staff(session, name, password, admin=admin)
        return f"staff {staff.name} created" + (" (admin)" if staff.is_admin else "")

    return _account(app, create, password_env)


def passwd(app: App, name: str, password_env: str | None) -> int:
    """``staff passwd NAME``: a new password; the account's console sessions end."""
    def change(session: Session, password: str) -> str:
        staff = set_password(session, name, password)
        return f"password of {staff.name} changed; their console sessions are ended"

    return _account(app, change, password_env)


def _account(app: App, action: Callable[[Session, str], str], password_env: str | None) -> int:
    """Ask for the password, run ``action`` in one transaction, print its message."""
    check_schema(app.engine)
    try:
        password = _password(password_env)
        with app.sessions.begin() as session:
            message = action(session, password)
    except ActionRefused as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 1
    print(message)
    return 0

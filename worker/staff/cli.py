"""``invoice-worker staff add NAME`` (and ``staff passwd NAME``): accounts from the shell
(the arguments are declared in ``worker/cli.py``).

The password comes from the environment variable named by ``--password-env`` (for
scripts; never on the command line, where ``ps`` would show it), else it is asked
for twice without echo.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

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


def run(app: App, args: argparse.Namespace) -> int:
    check_schema(app.engine)
    try:
        password = _password(args.password_env)
        with app.sessions.begin() as session:
            if args.staff_command == "add":
                staff = add_staff(session, args.name, password, admin=args.admin)
                print(f"staff {staff.name} created" + (" (admin)" if staff.is_admin else ""))
            else:
                staff = set_password(session, args.name, password)
                print(f"password of {staff.name} changed; their console sessions are ended")
    except ActionRefused as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 1
    return 0

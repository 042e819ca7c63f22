"""What staff use: the ``staff`` group (console accounts), the status, finance
reports and the web console."""

from __future__ import annotations

import sys
from argparse import ArgumentTypeError, Namespace
from pathlib import Path
from typing import TYPE_CHECKING

from worker.commands.table import CommandTable, arg

if TYPE_CHECKING:
    from worker.app import App

COMMANDS = CommandTable()
command = COMMANDS.command


_PASSWORD_ENV = arg("--password-env", metavar="VAR",
                    help="read the password from this environment variable (else prompt)")


@command("staff add", "create a console account",
         example="STAFF_PW=… invoice-worker --config my.toml staff add 王静 --password-env STAFF_PW",
         args=[arg("name", metavar="NAME"), _PASSWORD_ENV,
               arg("--admin", action="store_true", help="may manage accounts in the console")],
         details="The first account made is an admin.")
def staff_add(app: App, args: Namespace) -> int:
    from worker.staff.cli import add

    return add(app, args.name, args.password_env, admin=args.admin)


@command("staff passwd", "set a new password (ends the account's console sessions)",
         example="invoice-worker --config my.toml staff passwd 王静",
         args=[arg("name", metavar="NAME"), _PASSWORD_ENV])
def staff_passwd(app: App, args: Namespace) -> int:
    from worker.staff.cli import passwd

    return passwd(app, args.name, args.password_env)


def _staff_admin(app: App, action: str, name: str | None) -> int:
    from worker.db import check_schema
    from worker.staff.admin import run_cli

    check_schema(app.engine)
    code, text = run_cli(app.sessions, action, name, app.config.tz)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


@command("staff list", "list the console accounts: active or not, admins",
         example="invoice-worker --config my.toml staff list")
def staff_list(app: App, args: Namespace) -> int:
    return _staff_admin(app, "list", None)


@command("staff disable", "disable an account (its console sessions end)",
         example="invoice-worker --config my.toml staff disable 王静",
         args=[arg("name", metavar="NAME")],
         details="The last active admin cannot be disabled. Exit 1 when refused.")
def staff_disable(app: App, args: Namespace) -> int:
    return _staff_admin(app, "disable", args.name)


@command("staff enable", "enable an account again",
         example="invoice-worker --config my.toml staff enable 王静",
         args=[arg("name", metavar="NAME")])
def staff_enable(app: App, args: Namespace) -> int:
    return _staff_admin(app, "enable", args.name)


@command("status", "last passes, errors and what is left of the number ranges",
         example="invoice-worker --config my.toml status --json",
         args=[arg("--json", action="store_true", help="as JSON")],
         details="Exit 1 when the worker looks stopped (no successful pass within 3 x\n"
                 "schedule.poll_minutes) or replies are failing: a monitor can use it.")
def status(app: App, args: Namespace) -> int:
    from worker.health.cli import run as status_command

    return status_command(app, as_json_output=args.json)


@command("report", "finance reports as xlsx or csv (by --out's suffix)",
         example="invoice-worker --config my.toml report ledger --from 2018-09-01 --to 2018-09-30 "
                 "--out 台账.xlsx",
         args=[arg("kind", choices=["ledger", "queue", "payments", "audit"],
                   help="ledger (开票台账), queue (held applications), payments, audit (log)"),
               arg("--from", dest="start", metavar="DATE",
                   help="first day, YYYY-MM-DD (local); the ledger goes by issue date (开票日期)"),
               arg("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD (included)"),
               arg("--out", type=Path, required=True, metavar="FILE", help="FILE.xlsx or FILE.csv")])
def report(app: App, args: Namespace) -> int:
    from worker.reports.cli import run as report_command

    return report_command(app, args.kind, args.start, args.end, args.out)


def _port(text: str) -> int:
    """A TCP port, 1-65535 (a larger number was taken modulo 65536 by the socket layer)."""
    try:
        port = int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise ArgumentTypeError(f"{port} is not a port (1-65535)")
    return port


@command("console", "serve the staff web console",
         example="invoice-worker --config my.toml console --port 8000",
         args=[arg("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)"),
               arg("--port", type=_port, default=8000, help="port (8000)")],
         details="For production the Procfile's web: process runs it under gunicorn.")
def console(app: App, args: Namespace) -> int:
    from worker.console.serve import serve

    return serve(app.config, args.host, args.port)

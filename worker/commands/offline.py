"""The commands that work without a database: check the config, write the blank form,
run the demo."""

from __future__ import annotations

import json
import os
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.commands.table import CommandTable, arg
from worker.errors import ConfigError, WorkerError

if TYPE_CHECKING:
    from worker.config import Config

COMMANDS = CommandTable()
command = COMMANDS.command


@command("check-config", "validate the merged config; name every unknown key and bad value",
         example="invoice-worker --config /etc/invoice-worker.toml check-config",
         args=[arg("--show", action="store_true", help="also print the merged config as JSON")],
         uses_app=False,
         details="Merges the shipped defaults, the --config file and INVOICE_WORKER_<SECTION>__<KEY>\n"
                 "environment variables, and checks the result. Prints OK, or one line per problem\n"
                 "(dotted key: reason) and exits 2.")
def check_config(args: Namespace) -> int:
    from worker.config import load_config

    try:
        config = load_config(args.config)
    except ConfigError as e:
        for key, reason in e.problems:
            print(f"{key}: {reason}")
        return 2
    print(f"OK: {' + '.join(config.source)} (+ environment)")
    print(f"relative paths resolve against {config.base_dir}"
          + ("" if args.config else " (no config file: the current directory)"))
    for note in _notes(config):
        print(f"note: {note}")
    if args.show:
        print(json.dumps(_shown(config), ensure_ascii=False, indent=2))
    return 0


def _notes(config: Config) -> list[str]:
    """What is valid but probably not meant (in this environment): not errors, since the
    check may run where the service's secrets are not set."""
    out = []
    imap = config.mailbox.url.startswith("imap")
    for needed, key, var in ((imap, "mailbox.password_env", config.mailbox.password_env),
                             (bool(config.smtp.url), "smtp.password_env", config.smtp.password_env)):
        if needed and var and not os.environ.get(var):
            out.append(f"{key}: environment variable {var} is not set here")
    if not config.smtp.url:
        out.append(f"smtp.url is empty: replies and manifests become .eml files in {config.output_dir}")
    return out


def _shown(config: Config) -> dict[str, Any]:
    """The merged config as JSON, the database password masked."""
    from sqlalchemy.engine import make_url

    data = config.model_dump(mode="json", by_alias=True)
    data["database"]["url"] = make_url(config.database.url).render_as_string(hide_password=True)
    return data


@command("form-template", "write a blank application form (.xlsx)",
         example="invoice-worker form-template blank/申请表.xlsx",
         args=[arg("path", metavar="PATH", type=Path, help="where to write the .xlsx")], uses_app=False)
def form_template(args: Namespace) -> int:
    from worker.form import write_blank_form

    try:
        args.path.parent.mkdir(parents=True, exist_ok=True)
        write_blank_form(args.path)
    except OSError as e:  # a folder of that name, a file where a folder should be, no rights
        where = f" ({e.filename})" if e.filename and str(e.filename) != str(args.path) else ""
        raise WorkerError(f"cannot write {args.path}: {e.strerror or e}{where}") from e
    print(args.path)
    return 0


@command("demo", "end to end on a local Maildir with sample mail (SQLite, no network)",
         example="invoice-worker demo --dir /tmp/demo",
         args=[arg("--dir", type=Path, default=Path("demo"),
                   help="where the demo lives (default: ./demo; recreated on each run)")],
         uses_app=False)
def demo(args: Namespace) -> int:
    from worker.demo import run_demo

    return run_demo(args.dir)

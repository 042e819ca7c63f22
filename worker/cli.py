"""The ``invoice-worker`` command (SPEC §5: a stable contract).

The parser is built from the command table of ``worker/commands/`` (one function per
command; its ``__init__`` says how to add one): each sub-parser's ``func`` default is a
runner that loads the config and the ``App`` for the commands that use it and closes it
afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence

from worker import __version__
from worker.commands import COMMANDS, GROUPS
from worker.commands.table import Command
from worker.errors import ConfigError, InfrastructureError, PaymentFileError, WorkerError

log = logging.getLogger("worker")

CONFIG_ENV = "INVOICE_WORKER_CONFIG"

# exit code -> meaning; main() maps errors to these, and --help lists them
EXIT_CODES = {
    0: "success",
    1: "the command could not do all it was asked (bad payment rows, nothing to reprint, "
       "an account action refused)",
    2: "usage or config error (check-config names each key)",
    3: "an outside system failed: database (or schema not current: run init-db), mailbox, "
       "SMTP, an unreadable payment file, or printing; what was done is kept, run again",
}

Runner = Callable[[argparse.Namespace], int]


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs (examples, exit codes)."""


def build_parser() -> argparse.ArgumentParser:
    exit_codes = "\n".join(textwrap.fill(text, 88, initial_indent=f"  {code}  ", subsequent_indent="     ")
                           for code, text in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="invoice-worker",
        description="Invoice mailbox worker for the Tianjin continuing-education programme.",
        epilog=f"example:\n  invoice-worker --config my.toml run --once\n"
               f"  invoice-worker COMMAND --help   # each command's options and an example\n\n"
               f"exit codes:\n{exit_codes}",
        formatter_class=_Formatter,
    )
    parser.add_argument("--config", metavar="PATH", default=os.environ.get(CONFIG_ENV) or None,
                        help=f"TOML file overriding the shipped defaults (default: ${CONFIG_ENV})")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (--log-level debug)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info",
                        help="how much to log (info; libraries' chatter only with debug)")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="text for people, json (one object a line) for a log collector")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for cmd in COMMANDS:
        group, _, action = cmd.name.rpartition(" ")
        if group and group not in groups:
            parent = sub.add_parser(group, help=GROUPS.get(group, ""), description=GROUPS.get(group),
                                    formatter_class=_Formatter)
            groups[group] = parent.add_subparsers(dest=f"{group}_command", required=True,
                                                  metavar="ACTION")
        _add(groups[group] if group else sub, action, cmd)
    return parser


def _add(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, cmd: Command) -> None:
    details = f"\n\n{cmd.details}" if cmd.details else ""
    parser = sub.add_parser(name, help=cmd.help, description=f"{cmd.help}.{details}",
                            epilog=f"example:\n  {cmd.example}", formatter_class=_Formatter)
    for option in cmd.args:
        parser.add_argument(*option.flags, **option.options)
    parser.set_defaults(func=_runner(cmd))


def _runner(cmd: Command) -> Runner:
    if not cmd.uses_app:
        return cmd.func

    def with_app(args: argparse.Namespace) -> int:
        from worker.app import App

        if not args.config:
            log.warning("no --config (nor $%s): the shipped defaults, relative paths under %s",
                        CONFIG_ENV, os.getcwd())
        app = App.load(args.config)
        try:
            return cmd.func(app, args)
        finally:
            app.close()

    return with_app


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from worker.logs import setup as setup_logging

    setup_logging("debug" if args.verbose else args.log_level, args.log_format)
    func: Runner = args.func
    try:
        return func(args)
    except ConfigError as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        for key, reason in e.problems[1:]:
            print(f"invoice-worker: config {key}: {reason}", file=sys.stderr)
        return 2
    except (InfrastructureError, PaymentFileError) as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 3
    except WorkerError as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``export --json | head``): no traceback, and none at exit
        # either, when Python flushes stdout (docs.python.org, signal: "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("invoice-worker: output closed by its reader before everything was written",
              file=sys.stderr)
        return 1

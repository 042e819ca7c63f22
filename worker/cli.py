"""The ``invoice-worker`` command (SPEC §5: a stable contract)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from worker.errors import ConfigError, InfrastructureError, PaymentFileError, WorkerError

log = logging.getLogger("worker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="invoice-worker",
        description="Invoice mailbox worker for the Tianjin continuing-education programme.",
    )
    parser.add_argument("--config", metavar="PATH", help="TOML file overriding the defaults")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-db", help="create or migrate the schema (idempotent)")
    imp = sub.add_parser("import-payments", help="load payment records (CSV or xlsx)")
    imp.add_argument("files", nargs="+", metavar="FILE", type=Path)
    run = sub.add_parser("run", help="the scheduled worker; --once for a single pass")
    run.add_argument("--once", action="store_true", help="one pass, then exit")
    exp = sub.add_parser("export", help="print applications")
    exp.add_argument("--json", action="store_true", required=True, help="as JSON (SPEC §5)")
    tpl = sub.add_parser("form-template", help="write a blank application form (.xlsx)")
    tpl.add_argument("path", metavar="PATH", type=Path)
    demo = sub.add_parser("demo", help="end to end on a local Maildir with sample mail")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="where the demo lives")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return _dispatch(args)
    except ConfigError as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 2
    except (InfrastructureError, PaymentFileError) as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 3
    except WorkerError as e:
        print(f"invoice-worker: {e}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "form-template":
        from worker.form import write_blank_form

        args.path.parent.mkdir(parents=True, exist_ok=True)
        write_blank_form(args.path)
        print(args.path)
        return 0
    if args.command == "demo":
        from worker.demo import run_demo

        return run_demo(args.dir)

    from worker.app import App
    from worker.db import check_schema, init_db

    app = App.load(args.config)
    try:
        if args.command == "init-db":
            revision = init_db(app.engine)
            print(f"schema at revision {revision}")
            return 0
        if args.command == "import-payments":
            return _import(app, args.files)
        if args.command == "export":
            from worker.export import export_applications

            check_schema(app.engine)
            with app.sessions() as session:
                data = export_applications(session)
            json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
            return 0
        if args.command == "run":
            if args.once:
                summary = app.run_once()
                print(json.dumps({"mails": summary.processed, "already_done": summary.duplicates,
                                  "by_status": summary.by_status}, ensure_ascii=False))
                return 0
            from worker.scheduler import run_forever

            check_schema(app.engine)
            run_forever(app)
            return 0
    finally:
        app.close()
    raise AssertionError(f"unhandled command {args.command}")


def _import(app: object, files: list[Path]) -> int:
    from worker.app import App
    from worker.db import check_schema
    from worker.payments import import_payment_file

    assert isinstance(app, App)
    check_schema(app.engine)
    bad = 0
    for path in files:
        try:
            with app.sessions.begin() as session:
                result = import_payment_file(session, path, app.config.tz)
        except PaymentFileError as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
            continue
        print(result.summary())
        for err in result.errors:
            print(f"  bad row {err}", file=sys.stderr)
        bad += bool(result.errors)
    return 1 if bad else 0

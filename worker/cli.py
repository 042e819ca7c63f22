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
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (--log-level debug)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info",
                        help="how much to log (info; libraries' chatter only with debug)")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="text for people, json (one object a line) for a log collector")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-db", help="create or migrate the schema (idempotent)")
    imp = sub.add_parser("import-payments", help="load payment records (CSV or xlsx)")
    imp.add_argument("files", nargs="+", metavar="FILE", type=Path)
    run = sub.add_parser("run", help="the scheduled worker; --once for a single pass")
    run.add_argument("--once", action="store_true", help="one pass, then exit")
    exp = sub.add_parser("export", help="print applications")
    exp.add_argument("--json", action="store_true", required=True, help="as JSON (SPEC §5)")
    sub.add_parser("manifest", help="close out a pickup: write and mail the courier manifest")
    sub.add_parser("send-replies", help="send the replies due in the outbox; print JSON counts")
    tpl = sub.add_parser("form-template", help="write a blank application form (.xlsx)")
    tpl.add_argument("path", metavar="PATH", type=Path)
    demo = sub.add_parser("demo", help="end to end on a local Maildir with sample mail")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="where the demo lives")
    rep = sub.add_parser("reprint", help="render one application's invoices and label again")
    rep.add_argument("application", metavar="APPLICATION",
                     help="application id (申请编号), or a Message-ID for all of that mail's")
    rep.add_argument("--out", type=Path, metavar="DIR",
                     help="where to write the PDFs (default: OUTPUT_DIR/reprints)")
    staff = sub.add_parser("staff", help="console accounts: staff add|passwd|list|disable|enable")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    for name, text in (("add", "create a console account (the first one is an admin)"),
                       ("passwd", "set a new password")):
        acct = staff_sub.add_parser(name, help=text)
        acct.add_argument("name", metavar="NAME")
        acct.add_argument("--password-env", metavar="VAR",
                          help="read the password from this environment variable (else prompt)")
        if name == "add":
            acct.add_argument("--admin", action="store_true",
                              help="may manage accounts in the console")
    staff_sub.add_parser("list", help="accounts, active or not, admins")
    for name, text in (("disable", "disable an account (its sessions end)"),
                       ("enable", "enable an account again")):
        staff_sub.add_parser(name, help=text).add_argument("name", metavar="NAME")
    st = sub.add_parser("status", help="last passes, errors, number ranges; exit 1 when "
                        "the worker looks stopped or replies are failing")
    st.add_argument("--json", action="store_true", help="as JSON")
    rpt = sub.add_parser("report", help="finance reports as xlsx or csv (by --out's suffix), e.g. "
                         "report ledger --from 2018-09-01 --to 2018-09-30 --out 台账.xlsx")
    rpt.add_argument("kind", choices=["ledger", "queue", "payments", "audit"],
                     help="ledger (开票台账), queue (held applications), payments, audit (log)")
    rpt.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (local)")
    rpt.add_argument("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD (included)")
    rpt.add_argument("--out", type=Path, required=True, metavar="FILE", help="FILE.xlsx or FILE.csv")
    con = sub.add_parser("console", help="serve the staff web console")
    con.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    con.add_argument("--port", type=int, default=8000, help="port (8000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from worker.logs import setup as setup_logging

    setup_logging("debug" if args.verbose else args.log_level, args.log_format)
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
        if args.command == "staff" and args.staff_command in ("list", "disable", "enable"):
            from worker.staff.admin import run_cli as staff_admin

            check_schema(app.engine)
            code, text = staff_admin(app.sessions, args.staff_command, getattr(args, "name", None),
                                     app.config.tz)
            print(text, file=sys.stderr if code else sys.stdout)
            return code
        if args.command == "staff":
            from worker.staff.cli import run as staff_command

            return staff_command(app, args)
        if args.command == "console":
            from worker.console.serve import serve

            return serve(app.config, args.host, args.port)
        if args.command == "status":
            from worker.health.cli import run as status_command

            return status_command(app, as_json_output=args.json)
        if args.command == "report":
            from worker.reports.cli import run as report_command

            return report_command(app, args.kind, args.start, args.end, args.out)
        if args.command == "export":
            from worker.export import export_applications

            check_schema(app.engine)
            with app.sessions() as session:
                data = export_applications(session)
            json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
            return 0
        if args.command == "manifest":
            return _manifest(app)
        if args.command == "send-replies":
            return _send_replies(app)
        if args.command == "reprint":
            return _reprint(app, args.application, args.out)
        if args.command == "run":
            if args.once:
                from worker.health.runs import RunLog, Trigger, recorded_pass
                from worker.progress import bar_for

                summary = recorded_pass(app, RunLog(app.sessions, Trigger.CLI),
                                        progress=bar_for("邮件", "封"))
                print(json.dumps({"mails": summary.processed, "already_done": summary.duplicates,
                                  "by_status": summary.by_status,
                                  "invoices_pdf": summary.invoices_pdf,
                                  "labels_pdf": summary.labels_pdf,
                                  "batches": summary.batches,
                                  "render_error": summary.render_error}, ensure_ascii=False))
                return 3 if summary.render_error else 0  # outcomes kept; printing retried
            from worker.scheduler import run_forever

            check_schema(app.engine)
            run_forever(app)
            return 0
    finally:
        app.close()
    raise AssertionError(f"unhandled command {args.command}")


def _manifest(app: object) -> int:
    """SPEC §5: print the JSON even when mailing failed (the files exist); exit 3 then."""
    from worker.app import App
    from worker.db import check_schema
    from worker.mailer import Mailer
    from worker.manifest import close_out
    from worker.progress import task

    assert isinstance(app, App)
    check_schema(app.engine)
    with task("取件清单"):
        result = close_out(app.sessions, app.config, Mailer.from_config(app.config))
    print(json.dumps(result.as_json(), ensure_ascii=False))
    if result.error is not None:
        print(f"invoice-worker: manifest(s) {', '.join(map(str, result.unsent))} written but "
              f"not mailed to {app.config.courier.email}; the next `manifest` run sends them: "
              f"{result.error}", file=sys.stderr)
        return 3
    return 0


def _reprint(app: object, ref: str, out: Path | None) -> int:
    """Print ``{"reprints": [{"application", "invoices_pdf", "labels_pdf"}], "skipped":
    [{"application", "reason"}]}``; a mail's applications that issued nothing are skipped."""
    from worker.app import App
    from worker.db import check_schema
    from worker.documents import NothingToPrint, applications_of, reprint
    from worker.progress import bar

    assert isinstance(app, App)
    check_schema(app.engine)
    ids = applications_of(app.sessions, ref)
    if not ids:
        print(f"invoice-worker: no application or mail {ref!r}", file=sys.stderr)
        return 1
    out_dir = (out or app.config.output_dir / "reprints").resolve()
    done, skipped = [], []
    for app_id in bar(ids, desc="重印", unit="份"):
        try:
            invoices, labels = reprint(app.sessions, app.config, app_id, out_dir)
        except NothingToPrint as e:
            skipped.append({"application": app_id, "reason": str(e)})
            continue
        done.append({"application": app_id, "invoices_pdf": str(invoices),
                     "labels_pdf": str(labels)})
    print(json.dumps({"reprints": done, "skipped": skipped}, ensure_ascii=False))
    for item in skipped:
        print(f"invoice-worker: {item['reason']}", file=sys.stderr)
    return 0 if done else 1


def _send_replies(app: object) -> int:
    """Counts as JSON; exit 3 when the SMTP server could not be reached (rows stay queued)."""
    from worker.app import App
    from worker.db import check_schema
    from worker.mailer import Mailer
    from worker.replies import send_due

    assert isinstance(app, App)
    check_schema(app.engine)
    report = send_due(app.sessions, Mailer.from_config(app.config), limit=10_000,
                      retries=app.config.replies)
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.stopped:
        print(f"invoice-worker: sending stopped, the rest stays queued: {report.stopped}",
              file=sys.stderr)
        return 3
    return 0


def _import(app: object, files: list[Path]) -> int:
    from worker.app import App
    from worker.db import check_schema
    from worker.payments import import_payment_file
    from worker.progress import bar_for

    assert isinstance(app, App)
    check_schema(app.engine)
    bad = 0
    for path in files:
        try:
            with app.sessions.begin() as session:
                result = import_payment_file(session, path, app.config.tz,
                                             progress=bar_for(path.name, "行"))
        except PaymentFileError as e:
            print(f"error: {e}", file=sys.stderr)
            bad += 1
            continue
        print(result.summary())
        for err in result.errors:
            print(f"  bad row {err}", file=sys.stderr)
        bad += bool(result.errors)
    return 1 if bad else 0

"""The commands of ``invoice-worker``, one function each (the parser is ``worker/cli.py``).

Adding a command is one decorated function here::

    @command("staff list", "list the console accounts",
             example="invoice-worker --config my.toml staff list",
             args=[arg("--all", action="store_true", help="include disabled accounts")])
    def staff_list(app: App, args: Namespace) -> int:
        ...
        return 0

A name with a space (``"staff list"``, ``"tax export"``) is an action of a command
group; give the group's help once in ``GROUPS``. ``uses_app=False`` for a command that
must work without a database (the function then takes ``args`` only). The function
returns the exit code (``worker/cli.py`` lists them); raising a ``WorkerError`` maps to
its code there. Heavy modules are imported inside the functions, so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.errors import ConfigError, PaymentFileError

if TYPE_CHECKING:
    from worker.app import App
    from worker.config import Config


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    name: str                  # "run", or "group action" such as "staff add"
    help: str                  # one line, shown in the command list
    example: str               # shown under the command's --help
    func: Callable[..., int]   # (app, args) -> code, or (args) -> code when not uses_app
    args: tuple[Arg, ...] = ()
    uses_app: bool = True
    details: str = ""          # more text under the command's --help


COMMANDS: list[Command] = []
GROUPS: dict[str, str] = {
    "staff": "console accounts",
    "tax": "the tax platform (电子发票服务平台): hand over planned invoices, bring issued ones back",
}


def command(name: str, help: str, *, example: str, args: list[Arg] | tuple[Arg, ...] = (),
            uses_app: bool = True, details: str = "") -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Register the decorated function as the command ``name`` (order of definition is
    the order in ``--help``)."""
    def register(func: Callable[..., int]) -> Callable[..., int]:
        COMMANDS.append(Command(name, help, example, func, tuple(args), uses_app, details))
        return func
    return register


def _json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False))


# --- with the database -----------------------------------------------------------------------

@command("init-db", "create or migrate the schema (idempotent)",
         example="invoice-worker --config my.toml init-db")
def init_db(app: App, args: Namespace) -> int:
    from worker.db import init_db as migrate

    print(f"schema at revision {migrate(app.engine)}")
    return 0


@command("import-payments", "load payment records (CSV or xlsx) exported from the platform",
         example="invoice-worker --config my.toml import-payments export.csv export.xlsx",
         args=[arg("files", nargs="+", metavar="FILE", type=Path, help="CSV (UTF-8 or GB18030) or .xlsx")],
         details="Importing the same file twice changes nothing; a later export updates a record\n"
                 "(a refund). Exit 1 when a file or a row could not be read; the good rows load.")
def import_payments(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.payments import import_payment_file
    from worker.progress import bar_for

    check_schema(app.engine)
    bad = 0
    for path in args.files:
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


@command("run", "the scheduled worker; --once for a single pass",
         example="invoice-worker --config my.toml run --once",
         args=[arg("--once", action="store_true", help="one pass (mail, print batch, replies), then exit")],
         details="--once prints the pass as JSON; exit 3 when printing failed (the outcomes are kept\n"
                 "and the next run prints them). Without --once: poll the mailbox every\n"
                 "schedule.poll_minutes and close out the pickup daily at schedule.manifest_time.")
def run(app: App, args: Namespace) -> int:
    from worker.db import check_schema

    if args.once:
        from worker.health.runs import RunLog, Trigger, recorded_pass
        from worker.progress import bar_for

        summary = recorded_pass(app, RunLog(app.sessions, Trigger.CLI), progress=bar_for("邮件", "封"))
        _json({"mails": summary.processed, "already_done": summary.duplicates,
               "by_status": summary.by_status, "invoices_pdf": summary.invoices_pdf,
               "labels_pdf": summary.labels_pdf, "batches": summary.batches,
               "render_error": summary.render_error})
        return 3 if summary.render_error else 0  # outcomes kept; printing retried
    from worker.scheduler import run_forever

    check_schema(app.engine)
    run_forever(app)
    return 0


@command("export", "print every application as JSON (SPEC §5)",
         example="invoice-worker --config my.toml export > applications.json",
         args=[arg("--json", action="store_true", help="JSON (the default; accepted for scripts)")],
         details='Prints {"applications": [...]}: message_id, attachment, status, reasons, unit,\n'
                 "district, invoices and shipment of each application.")
def export(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.export import export_applications

    check_schema(app.engine)
    with app.sessions() as session:
        data = export_applications(session)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


@command("manifest", "close out a pickup: write and mail the courier manifest",
         example="invoice-worker --config my.toml manifest",
         details='Prints {"parcels": N, "xlsx": PATH, "pdf": PATH} (N may be 0, then no files). The\n'
                 "JSON is printed even when mailing failed (the files exist); exit 3 then, and the\n"
                 "next `manifest` run sends them.")
def manifest(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.mailer import Mailer
    from worker.manifest import close_out
    from worker.progress import task

    check_schema(app.engine)
    with task("取件清单"):
        result = close_out(app.sessions, app.config, Mailer.from_config(app.config))
    _json(result.as_json())
    if result.error is not None:
        print(f"invoice-worker: manifest(s) {', '.join(map(str, result.unsent))} written but "
              f"not mailed to {app.config.courier.email}; the next `manifest` run sends them: "
              f"{result.error}", file=sys.stderr)
        return 3
    return 0


@command("parcels", "parcels that wait or need staff: no waybill yet (and why), refused, returned",
         example="invoice-worker --config my.toml parcels",
         args=[arg("--order", action="store_true", help="order waybills for waiting parcels first"),
               arg("--track", action="store_true", help="read the routes of undelivered parcels first")],
         details='Prints {"provider": NAME, "parcels": [{"application", "reference", "waybill",\n'
                 '"status", "reason", "next_try", "note"}]} for every live parcel not yet settled\n'
                 "or flagged for staff (exit 0). With the pool provider the list is usually empty.")
def parcels(app: App, args: Namespace) -> int:
    from sqlalchemy import select

    from worker.db import check_schema
    from worker.db.models import Shipment
    from worker.status import PARCEL_NEEDS_STAFF, PARCEL_WAITING

    check_schema(app.engine)
    ordered = app.order_waybills() if args.order else None
    tracked = app.track_parcels() if args.track else None
    with app.sessions() as session:
        rows = session.scalars(select(Shipment).where(
            Shipment.replaced_by_id.is_(None),
            Shipment.status.in_((*PARCEL_WAITING, *PARCEL_NEEDS_STAFF))).order_by(Shipment.id)).all()
        listed = [{"application": s.application_id, "reference": s.reference, "waybill": s.waybill,
                   "status": s.status, "reason": s.order_error,
                   "next_try": s.next_try_at.isoformat() if s.next_try_at else None,
                   "note": s.tracking_note} for s in rows]
    out: dict[str, Any] = {"provider": app.config.courier.provider, "parcels": listed}
    if ordered is not None:
        out["ordered"] = ordered.as_json()
    if tracked is not None:
        out["tracked"] = tracked.as_json()
    _json(out)
    return 0


@command("send-replies", "send the replies due in the outbox; print JSON counts",
         example="invoice-worker --config my.toml send-replies",
         details="Exit 3 when the SMTP server could not be reached (the rows stay queued).")
def send_replies(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.mailer import Mailer
    from worker.replies import send_due

    check_schema(app.engine)
    report = send_due(app.sessions, Mailer.from_config(app.config), limit=10_000,
                      retries=app.config.replies, output_dir=app.config.output_dir)
    _json(report.as_dict())
    if report.stopped:
        print(f"invoice-worker: sending stopped, the rest stays queued: {report.stopped}",
              file=sys.stderr)
        return 3
    return 0


@command("reprint", "render one application's invoices and label again",
         example="invoice-worker --config my.toml reprint 17 --out reprints/",
         args=[arg("application", metavar="APPLICATION",
                   help="application id (申请编号), or a Message-ID for all of that mail's"),
               arg("--out", type=Path, metavar="DIR",
                   help="where to write the PDFs (default: OUTPUT_DIR/reprints)")],
         details='Prints {"reprints": [{"application", "invoices_pdf", "labels_pdf"}], "skipped":\n'
                 '[{"application", "reason"}]}; a mail\'s applications that issued nothing are\n'
                 "skipped. Exit 1 when nothing was reprinted.")
def reprint(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.documents import NothingToPrint, applications_of
    from worker.documents import reprint as render_again

    check_schema(app.engine)
    ids = applications_of(app.sessions, args.application)
    if not ids:
        print(f"invoice-worker: no application or mail {args.application!r}", file=sys.stderr)
        return 1
    out_dir = (args.out or app.config.output_dir / "reprints").resolve()
    done, skipped = [], []
    from worker.progress import bar

    for app_id in bar(ids, desc="重印", unit="份"):
        try:
            invoices, labels = render_again(app.sessions, app.config, app_id, out_dir)
        except NothingToPrint as e:
            skipped.append({"application": app_id, "reason": str(e)})
            continue
        done.append({"application": app_id, "invoices_pdf": str(invoices),
                     "labels_pdf": str(labels)})
    _json({"reprints": done, "skipped": skipped})
    for item in skipped:
        print(f"invoice-worker: {item['reason']}", file=sys.stderr)
    return 0 if done else 1


@command("tax export", "write planned invoices into the platform's batch-issuing workbook",
         example="invoice-worker --config my.toml tax export --out exports/ --template 模板.xlsx",
         args=[arg("--out", type=Path, metavar="DIR", required=True, help="where to write the .xlsx file(s)"),
               arg("--template", type=Path, metavar="FILE",
                   help="the official template downloaded from the platform (V260401); rows are "
                        "added to it and the rest left as it was"),
               arg("--again", type=int, metavar="EXPORT",
                   help="write the invoices of this earlier export (still waiting for issue) again")],
         details='Prints {"invoices": N, "files": [PATH, ...], "export": ID}. Every planned invoice\n'
                 "not yet exported goes out once (at most 998 per file) and is marked exported in\n"
                 "the transaction that records the files; after a crash it is still planned and the\n"
                 "next run writes it again. An invoice the platform would refuse stays planned and\n"
                 "is listed under \"refused\" (exit 1). Platform mode only ([invoicing] mode).")
def tax_export(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.taxflow import export_again, export_planned

    check_schema(app.engine)
    template = None
    if args.template is not None:
        try:
            template = args.template.read_bytes()
        except OSError as e:
            print(f"invoice-worker: cannot read the template {args.template}: {e.strerror}", file=sys.stderr)
            return 1
    out = args.out.resolve()
    name = args.template.name if args.template else None
    if args.again is not None:
        try:
            result = export_again(app.sessions, app.config, args.again, out, actor="cli",
                                  template=template, template_name=name)
        except LookupError as e:
            print(f"invoice-worker: {e}", file=sys.stderr)
            return 1
    else:
        result = export_planned(app.sessions, app.config, out, actor="cli", template=template,
                                template_name=name)
    _json(result.as_json())
    if template is None and result.files:
        print("invoice-worker: no --template given: the built-in copy of the platform's "
              "structure (V260401) was written; if the platform refuses the upload, download "
              "its current template and export with --template", file=sys.stderr)
    for serial, reason in result.refused:
        print(f"invoice-worker: 流水号 {serial} not exported: {reason}", file=sys.stderr)
    return 1 if result.refused else 0


@command("tax import", "record what the platform gave back: issued XML/PDF/OFD, zips, failure workbooks",
         example="invoice-worker --config my.toml tax import downloads/发票.zip downloads/失败明细.xlsx",
         args=[arg("paths", nargs="+", metavar="PATH", type=Path,
                   help="XML, PDF or OFD files, zips of them, the failure workbook (by content)")],
         details='Prints {"issued": N, "failed": N, "unmatched": N, "duplicates": N, "unreadable": N}\n'
                 "and one line per finding on stderr. Issued invoices are recorded only when they\n"
                 "match a planned one exactly (备注 reference, buyer, total, lines); the unit's reply\n"
                 "with the official numbers is queued in the same transaction. Importing the same\n"
                 "files again records nothing twice (reported as duplicates). Exit 1 when a file\n"
                 "was unreadable or an invoice did not match.")
def tax_import(app: App, args: Namespace) -> int:
    from worker.db import check_schema
    from worker.taxflow import Source, import_files
    from worker.taxflow.importing import MAX_SOURCE_BYTES

    check_schema(app.engine)
    sources, unread = [], 0
    for path in args.paths:
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                raise OSError(f"larger than {MAX_SOURCE_BYTES // 2**20} MB")
            sources.append(Source(path.name, path.read_bytes()))
        except OSError as e:
            print(f"invoice-worker: cannot read {path}: {e.strerror or e}", file=sys.stderr)
            unread += 1
    result = import_files(app.sessions, app.config, sources, actor="cli")
    counts = result.counts()
    counts["unreadable"] += unread
    _json(counts)
    for item in result.details:
        if item["outcome"] not in ("issued", "red", "attached"):
            print(f"invoice-worker: {item['source']}: {item['detail']}", file=sys.stderr)
    return 1 if counts["unmatched"] + counts["unreadable"] else 0


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
               arg("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (local)"),
               arg("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD (included)"),
               arg("--out", type=Path, required=True, metavar="FILE", help="FILE.xlsx or FILE.csv")])
def report(app: App, args: Namespace) -> int:
    from worker.reports.cli import run as report_command

    return report_command(app, args.kind, args.start, args.end, args.out)


@command("console", "serve the staff web console",
         example="invoice-worker --config my.toml console --port 8000",
         args=[arg("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)"),
               arg("--port", type=int, default=8000, help="port (8000)")],
         details="For production the Procfile's web: process runs it under gunicorn.")
def console(app: App, args: Namespace) -> int:
    from worker.console.serve import serve

    return serve(app.config, args.host, args.port)


# --- without a database ------------------------------------------------------------------

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

    args.path.parent.mkdir(parents=True, exist_ok=True)
    write_blank_form(args.path)
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

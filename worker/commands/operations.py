"""Operating the worker: the schema, payments in, the pass, and what goes out (the
export, the pickup manifest, parcels, replies, reprints)."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.commands.table import CommandTable, arg, print_json
from worker.errors import PaymentFileError

if TYPE_CHECKING:
    from worker.app import App

COMMANDS = CommandTable()
command = COMMANDS.command


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
            print(f"  {'note' if err.about_file else 'bad row'} {err}", file=sys.stderr)
        bad += bool(result.bad)
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
        print_json({"mails": summary.processed, "already_done": summary.duplicates,
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
    print_json(result.as_json())
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
    print_json(out)
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
    print_json(report.as_dict())
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
    print_json({"reprints": done, "skipped": skipped})
    for item in skipped:
        print(f"invoice-worker: {item['reason']}", file=sys.stderr)
    return 0 if done else 1

"""The ``tax`` group: planned invoices out to the tax platform, what it issued back in
(platform mode, ``worker.taxflow``)."""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING

from worker.commands.table import CommandTable, arg, print_json

if TYPE_CHECKING:
    from worker.app import App

COMMANDS = CommandTable()
command = COMMANDS.command


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
    print_json(result.as_json())
    if not result.files and app.config.invoicing.mode == "print":
        print("invoice-worker: [invoicing] mode is \"print\": invoices are issued and printed "
              "by the worker, none are planned for the tax platform", file=sys.stderr)
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
    print_json(counts)
    for item in result.details:
        if item["outcome"] not in ("issued", "red", "attached"):
            print(f"invoice-worker: {item['source']}: {item['detail']}", file=sys.stderr)
    return 1 if counts["unmatched"] + counts["unreadable"] else 0

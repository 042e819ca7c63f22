"""``tax import``: what the platform gave back, recorded against the planned invoices.

Sources are sniffed by content, never by name: an issued invoice's XML, its PDF or
OFD, a zip of them (``worker.tax.archive``: bomb limits, GBK names), or the failure
workbook of a batch (.xlsx/.xls, ``worker.tax.failures``). Each file that cannot be
used is a ``Problem`` (counted ``unreadable``), never a crash; the rest is still read.

Order of work, for crash safety:

1. everything is read and parsed in memory (bounded: ``MAX_SOURCE_BYTES`` per file,
   the archive and XML limits of ``worker.tax``);
2. the files of the invoices that will be recorded are stored under the output folder,
   content-addressed (``tax/<aa>/<sha256>.<kind>``, ``worker.atomic``): a name in a zip
   never becomes a path, and a re-run writes the same file to the same place;
3. ONE transaction: the invoices waiting for issue are read ``FOR UPDATE``, matched
   (``worker.tax.match``: exact or reported), and every change is written -- issued
   numbers (a guarded ``UPDATE ... WHERE number IS NULL``), failed rows (state failed,
   items freed, the application HELD with ``TAX_PLATFORM_REJECTED`` and the platform's
   words), red-letter links, the unit's reply with the official numbers (outbox), and
   the ``TaxImport`` row with counts and details.

A SIGKILL anywhere leaves either all of an import or none of it; the re-run records
what was not recorded and reports the rest as duplicates. The unique ``xml_digest``
and ``(code, number)`` constraints hold even against a concurrent import (which then
rolls back and is retried once, seeing the other's numbers).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from worker.atomic import write_atomic
from worker.config import Config
from worker.db.models import Application, Invoice, InvoiceItem, InvoiceReversal, TaxImport
from worker.db.models import Reason as ReasonRow
from worker.db.types import utcnow
from worker.errors import StorageError, TaxFileError
from worker.replies import queue_issued_reply
from worker.status import ApplicationStatus, InvoiceState
from worker.tax.archive import ArchiveFile, FileKind, InvoiceFiles, group_files, kind_of, read_archive
from worker.tax.failures import read_failures, reasons_by_serial
from worker.tax.match import MatchResult, Outcome, match_invoices
from worker.tax.model import FailedRow, IssuedInvoice, Problem
from worker.tax.xml import NUMBER, parse_issued_xml
from worker.taxflow.planned import planned_invoice
from worker.validation import Code

MAX_SOURCE_BYTES = 64 * 1024 * 1024  # a day's zip of PDFs is a few MB; more is not ours
WAITING = (InvoiceState.PLANNED, InvoiceState.EXPORTED)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Source:
    """One file given to ``tax import``: its display name (never a path) and bytes."""

    name: str
    data: bytes


@dataclass
class ImportResult:
    """What one import did. ``details``: one ``{source, outcome, detail}`` per finding."""

    import_id: int | None = None
    issued: int = 0
    failed: int = 0
    unmatched: int = 0
    duplicates: int = 0
    unreadable: int = 0
    reversed: int = 0
    replies: int = 0
    details: list[dict[str, str]] = field(default_factory=list)

    def note(self, source: str, outcome: str, detail: str) -> None:
        self.details.append({"source": source[:255], "outcome": outcome, "detail": detail})

    def counts(self) -> dict[str, int]:
        """``{"issued", "failed", "unmatched", "duplicates", "unreadable"}`` (+ ``reversed``
        when a red-letter invoice was linked)."""
        data = {"issued": self.issued, "failed": self.failed, "unmatched": self.unmatched,
                "duplicates": self.duplicates, "unreadable": self.unreadable}
        if self.reversed:
            data["reversed"] = self.reversed
        return data


# ------------------------------------------------------------------ reading


@dataclass
class _Read:
    files: list[ArchiveFile] = field(default_factory=list)
    failures: list[tuple[str, FailedRow]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _sniff(source: Source) -> str:
    data = source.data
    if data.startswith(_OLE2):
        return "workbook"
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return "zip"  # read_archive reports it damaged
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return "workbook"
        if "OFD.xml" in names:
            return FileKind.OFD
        return "zip"
    return kind_of(source.name, data[:16])


def read_sources(sources: list[Source]) -> _Read:
    """Every source sorted into invoice files, failure rows and problems."""
    out = _Read()
    for source in sources:
        if len(source.data) > MAX_SOURCE_BYTES:
            limit = MAX_SOURCE_BYTES // 2**20
            out.problems.append(Problem(source.name, f"文件过大（超过 {limit} MB），未读取"))
            continue
        kind = _sniff(source)
        try:
            if kind == "workbook":
                rows = read_failures(source.data, source.name)
                out.failures += [(source.name, row) for row in rows]
            elif kind == "zip":
                contents = read_archive(source.data)
                out.files += contents.files
                out.problems += [Problem(f"{source.name}/{p.source}", p.detail) for p in contents.problems]
            elif kind in (FileKind.XML, FileKind.PDF, FileKind.OFD):
                out.files.append(ArchiveFile(source.name, FileKind(kind), source.data))
            else:
                out.problems.append(Problem(source.name, "不是发票 XML、PDF、OFD、压缩包或失败明细，未使用"))
        except TaxFileError as e:
            out.problems.append(Problem(source.name, e.detail))
    return out


def _parse(groups: list[InvoiceFiles], result: ImportResult,
           ) -> tuple[list[tuple[IssuedInvoice, InvoiceFiles]], list[InvoiceFiles]]:
    """(issued invoice, its files) per readable XML; groups without XML (PDF/OFD alone)."""
    parsed, orphans = [], []
    for group in groups:
        for problem in group.problems:
            result.unreadable += 1
            result.note(problem.source, "unreadable", problem.detail)
        if group.xml is None:
            orphans.append(group)
            continue
        try:
            parsed.append((parse_issued_xml(group.xml.data), group))
        except TaxFileError as e:
            result.unreadable += 1
            result.note(group.xml.name, "unreadable", e.detail)
    return parsed, orphans


# ------------------------------------------------------------------ storing files


def store_file(output_dir: Path, file: ArchiveFile) -> str:
    """Content-addressed copy under ``output_dir``; the relative path stored."""
    digest = hashlib.sha256(file.data).hexdigest()
    rel = Path("tax") / digest[:2] / f"{digest}.{file.kind.value}"
    target = output_dir / rel
    if not target.exists():
        try:
            write_atomic(target, file.data)
        except OSError as e:
            raise StorageError(f"cannot store {file.kind.value} under {output_dir}: {e}") from e
    return rel.as_posix()


# ------------------------------------------------------------------ recording


def import_files(sessions: sessionmaker[Session], config: Config, sources: list[Source], *,
                 actor: str) -> ImportResult:
    """Read ``sources``, store the issued invoices' files and record everything in one
    transaction (module docstring); ``StorageError`` if files cannot be stored."""
    read = read_sources(sources)
    for attempt in (1, 2):
        result = ImportResult()
        for problem in read.problems:
            result.unreadable += 1
            result.note(problem.source, "unreadable", problem.detail)
        parsed, orphans = _parse(group_files(read.files), result)
        try:
            with sessions.begin() as session:
                _record(session, config, parsed, orphans, read.failures, result)
                row = TaxImport(actor=actor[:64], sources=json.dumps(
                    [s.name[:255] for s in sources], ensure_ascii=False),
                    issued=result.issued, failed=result.failed, unmatched=result.unmatched,
                    duplicates=result.duplicates, unreadable=result.unreadable,
                    details=json.dumps(result.details, ensure_ascii=False))
                session.add(row)
                session.flush()
                result.import_id = row.id
            return result
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record(session: Session, config: Config, parsed: list[tuple[IssuedInvoice, InvoiceFiles]],
            orphans: list[InvoiceFiles], failures: list[tuple[str, FailedRow]],
            result: ImportResult) -> None:
    waiting = list(session.scalars(
        select(Invoice).where(Invoice.state.in_(WAITING), Invoice.serial.is_not(None))
        .order_by(Invoice.id)
        .options(selectinload(Invoice.items),
                 selectinload(Invoice.application).selectinload(Application.mail))
        .with_for_update(of=Invoice).execution_options(populate_existing=True)))
    by_serial = {inv.serial.upper(): inv for inv in waiting if inv.serial}
    planned = [planned_invoice(inv, config) for inv in waiting]
    recorded: dict[str, str] = {number: serial or "" for number, serial in session.execute(
        select(Invoice.number, Invoice.serial).where(Invoice.number.is_not(None)))}
    recorded |= {number: "" for number in session.scalars(
        select(InvoiceReversal.red_number).where(InvoiceReversal.red_number.is_not(None)))}
    digests = set(session.scalars(select(Invoice.xml_digest).where(Invoice.xml_digest.is_not(None))))
    files = {id(issued): group for issued, group in parsed}
    matches = match_invoices([issued for issued, _ in parsed], planned, recorded=recorded,
                             recorded_digests=digests, seller_tax_id=config.seller.tax_id)
    touched: dict[int, Application] = {}
    for match in matches:
        group = files[id(match.issued)]
        source = group.xml.name if group.xml else group.key
        if match.outcome is Outcome.ISSUED and match.planned is not None:
            invoice = by_serial[match.planned.serial.upper()]
            if _issue(session, config, invoice, match.issued, group):
                result.issued += 1
                touched[invoice.application_id] = invoice.application
                result.note(source, "issued", match.detail)
                if group.pdf is None:
                    result.note(source, "issued",
                                f"发票 {match.issued.number} 没有 PDF：打印或邮寄前请导入其 PDF")
            else:
                result.duplicates += 1
                result.note(source, "duplicate", f"发票 {match.issued.number}：流水号已由另一张发票记录")
        elif match.outcome is Outcome.RED:
            _red(session, config, match, group, result, source)
        elif match.outcome is Outcome.DUPLICATE:
            result.duplicates += 1
            result.note(source, "duplicate", match.detail)
        else:  # UNMATCHED, MISMATCH: reported, never attached
            result.unmatched += 1
            result.note(source, str(match.outcome), match.detail)
    for group in orphans:
        _orphan(session, config, group, result)
    _fail(session, by_serial, failures, result)
    for app in touched.values():
        if _all_issued(app):
            attach = config.invoicing.by_email
            if queue_issued_reply(session, app, config, attach=attach, output_dir=config.output_dir):
                result.replies += 1


def _local(text: str, config: Config) -> datetime | None:
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip()[:19], pattern).replace(tzinfo=config.tz)
        except ValueError:
            continue
    return None


def _issue(session: Session, config: Config, invoice: Invoice, issued: IssuedInvoice,
           group: InvoiceFiles) -> bool:
    """Record the official number on ``invoice`` once (guarded); False if already done."""
    assert group.xml is not None
    paths = {kind: store_file(config.output_dir, f) for kind, f in
             (("xml", group.xml), ("pdf", group.pdf), ("ofd", group.ofd)) if f is not None}
    done = session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.number.is_(None),
                              Invoice.state.in_(WAITING))
        .values(number=issued.number, state=InvoiceState.ISSUED,
                platform_issued_at=_local(issued.issue_time, config) or utcnow(),
                xml_digest=issued.digest, xml_path=paths["xml"], platform_pdf_path=paths.get("pdf"),
                ofd_path=paths.get("ofd"))
        .execution_options(synchronize_session=False)).rowcount
    if done:
        session.refresh(invoice)
    return bool(done)


def _red(session: Session, config: Config, match: MatchResult, group: InvoiceFiles,
         result: ImportResult, source: str) -> None:
    """A red-letter invoice: linked to the staff's 红冲 record of its blue one."""
    reversal = session.scalars(
        select(InvoiceReversal).join(Invoice, InvoiceReversal.invoice_id == Invoice.id)
        .where(Invoice.number == match.blue_number)).one_or_none()
    if reversal is None or reversal.red_number is not None:
        result.unmatched += 1
        why = "尚未在控制台登记红冲" if reversal is None else f"已关联红字发票 {reversal.red_number}"
        result.note(source, "unmatched", f"{match.detail}：蓝字发票{why}，未关联")
        return
    assert group.xml is not None
    reversal.red_number = match.issued.number
    reversal.red_xml_path = store_file(config.output_dir, group.xml)
    result.reversed += 1
    result.note(source, "red", match.detail)


def _orphan(session: Session, config: Config, group: InvoiceFiles, result: ImportResult) -> None:
    """A PDF/OFD without its XML: attached only to an issued invoice of that number
    (from its file name) that lacks one; otherwise reported."""
    files = [f for f in (group.pdf, group.ofd) if f is not None]
    name = files[0].name if files else group.key
    invoice = None
    if NUMBER.fullmatch(group.key):
        invoice = session.scalars(select(Invoice).where(
            Invoice.number == group.key, Invoice.state == InvoiceState.ISSUED)).one_or_none()
    if invoice is None:
        result.unmatched += 1
        result.note(name, "unmatched",
                    "只有 PDF/OFD、没有 XML，且文件名中的发票号码不是本系统已开具的发票，未使用")
        return
    attached = []
    if group.pdf is not None and invoice.platform_pdf_path is None:
        invoice.platform_pdf_path = store_file(config.output_dir, group.pdf)
        attached.append("PDF")
    if group.ofd is not None and invoice.ofd_path is None:
        invoice.ofd_path = store_file(config.output_dir, group.ofd)
        attached.append("OFD")
    if attached:
        result.note(name, "attached", f"发票 {invoice.number} 补充了{'、'.join(attached)}")
    else:
        result.duplicates += 1
        result.note(name, "duplicate", f"发票 {invoice.number} 的文件已导入过")


def _fail(session: Session, by_serial: dict[str, Invoice], failures: list[tuple[str, FailedRow]],
          result: ImportResult) -> None:
    """Failed rows: the invoice FAILED with the platform's words, its orders freed, its
    application HELD with TAX_PLATFORM_REJECTED (fixed and approved in the console)."""
    sources: dict[str, str] = {}
    for source, row in failures:
        sources.setdefault(row.serial.upper(), source)
    words = reasons_by_serial(FailedRow(row.serial.upper(), row.reason) for _, row in failures)
    for serial, reasons in words.items():
        source = sources[serial]
        invoice = by_serial.get(serial)
        if invoice is not None and invoice.state not in WAITING:  # issued in this import
            result.unmatched += 1
            result.note(source, "unmatched", f"流水号 {serial} 本次已导入开具的发票，失败行未处理")
            continue
        if invoice is None:
            known = session.scalars(select(Invoice).where(Invoice.serial == serial)).one_or_none()
            if known is not None and known.state == InvoiceState.FAILED:
                result.duplicates += 1
                result.note(source, "duplicate", f"流水号 {serial} 的失败已导入过")
            else:
                state = f"状态为 {known.state}" if known is not None else "不是本系统的流水号"
                result.unmatched += 1
                result.note(source, "unmatched", f"失败明细中的流水号 {serial} {state}，未处理")
            continue
        text = "；".join(reasons)
        invoice.state = InvoiceState.FAILED
        invoice.failure = text
        session.execute(update(InvoiceItem).where(InvoiceItem.invoice_id == invoice.id)
                        .values(active=False).execution_options(synchronize_session=False))
        for item in invoice.items:
            item.active = False  # keep the loaded objects true to the rows
        app = invoice.application
        app.status = ApplicationStatus.HELD
        app.updated_at = utcnow()
        app.reasons.append(ReasonRow(code=str(Code.TAX_PLATFORM_REJECTED), line=None,
                                     detail=f"发票流水号 {invoice.serial}：{text}"[:2000]))
        result.failed += 1
        result.note(source, "failed", f"流水号 {invoice.serial}（申请编号 {app.id}）：{text}")


def _all_issued(app: Application) -> bool:
    live = [i for i in app.invoices if InvoiceState(i.state).holds_orders]
    return (app.status == ApplicationStatus.ACCEPTED and bool(live)
            and all(i.state == InvoiceState.ISSUED for i in live))


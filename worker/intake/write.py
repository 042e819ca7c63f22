"""Writing one mail's outcome with SQLAlchemy Core: everything is decided in memory
first (``worker.intake.record``), then stored in a handful of executemany statements,
the mail's own INSERT first (its unique Message-ID claims the mail).

The outcome is held in ``Stored`` rows: each carries its column values as passed to
its INSERT (what an ORM object holds after its flush: a Message-ID cut to fit its
column is still the one a reply threads under) and the related rows a reply reads
(``worker.replies.content``) under the ORM's relationship names. Lines and invoice
items carry their text as stored (``as_stored_all``), as the ORM read them back before.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Insert, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.bulk import insert_many
from worker.db.models import (
    Application,
    ApplicationLine,
    Invoice,
    InvoiceItem,
    Mail,
    Shipment,
    StoredAttachment,
)
from worker.db.models import Reason as ReasonRow
from worker.db.select_in import select_in
from worker.db.types import String, as_stored_all, storable_key
from worker.fields import LINE_TEXT_LENGTHS
from worker.issuing import NewIssue, shipment_values
from worker.text import needs_cleaning


class Stored(SimpleNamespace):
    """One row of an outcome (see the module docstring); ``id`` None until inserted."""


class StoredApplication(Stored):
    """An application's row; its ``lines`` (as a reply reads them: only a held
    application's reply does) are made from ``stored_lines`` when read."""

    @property
    def lines(self) -> list[Stored]:
        return [Stored(**line) for line in self.stored_lines]


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


_MAILS = _table(Mail)
_APPLICATIONS = _table(Application)
LINES = _table(ApplicationLine)
_REASONS = _table(ReasonRow)
_INVOICES = _table(Invoice)
_ITEMS = _table(InvoiceItem)
_SHIPMENTS = _table(Shipment)
_FILES = _table(StoredAttachment)

# Built once: ``insert_many`` compiles each shape once per dialect.
_INSERT_MAIL = _MAILS.insert()
_INSERT_APPLICATIONS = _APPLICATIONS.insert()
_INSERT_REASONS = _REASONS.insert()
_INSERT_SHIPMENTS = _SHIPMENTS.insert()
_INVOICE_IDS = select(_INVOICES.c.id, _INVOICES.c.serial, _INVOICES.c.number).where(
    _INVOICES.c.application_id.in_(bindparam("applications", expanding=True)))
# An attachment already stored (the same bytes sent again, or by a racing worker) stays
# as it is: its name is its content. INSERT ... ON CONFLICT DO NOTHING, in both dialects.
_INSERT_NEW_FILES = {"sqlite": sqlite.insert(_FILES).on_conflict_do_nothing(),
                     "postgresql": postgresql.insert(_FILES).on_conflict_do_nothing()}

# Column keys a Stored row's attributes are written to (its id is the database's).
_KEYS = {table: frozenset(c.key for c in table.c) - {"id"}
         for table in (_MAILS, _APPLICATIONS, _INVOICES, _ITEMS)}
# A new line's columns as given (``insert_lines``): all but ``dropped``, which new lines
# take from its default (``stored_lines`` sets it for a reply to read).
_LINE_KEYS = tuple(sorted(c.key for c in LINES.c if c.key not in ("id", "dropped")))
# Text columns and their types, for ``as_stored_all``.
_TEXT = {table: [(c.key, c.type) for c in table.c if isinstance(c.type, String)]
         for table in (LINES, _INVOICES, _ITEMS)}
# ``stored_lines`` relies on the lines' texts cut to LINE_TEXT_LENGTHS being cut to
# their columns.
if {key: kind.length for key, kind in _TEXT[LINES]} != LINE_TEXT_LENGTHS:
    raise RuntimeError("application_lines' text columns differ from LINE_TEXT_LENGTHS")


@cache
def _insert_as_stored(table: Table, keys: frozenset[str]) -> Insert:
    """INSERT of rows whose text is already as stored (``as_stored``): those columns
    are bound with their type's plain ``impl``, so nothing is cleaned twice. One
    statement object per set of keys (``insert_many`` compiles it once)."""
    return table.insert().values({key: bindparam(key, type_=kind.impl_instance)
                                  for key, kind in _TEXT[table] if key in keys})


def _execute_as_stored(session: Session, table: Table, rows: list[dict[str, Any]],
                       returning: tuple[str, ...] = (), keys: tuple[str, ...] | None = None,
                       ) -> list[tuple[Any, ...]]:
    """``rows`` (text as stored, the same keys each; ``keys``: the column keys read
    from them, default all) inserted in one statement."""
    keys = tuple(rows[0]) if keys is None else keys
    insert = _insert_as_stored(table, frozenset(keys))
    return insert_many(session.connection(), insert, rows, returning, keys)


def stored_lines(lines: list[dict[str, Any]], texts: list[str] | None = None,
                 ) -> list[dict[str, Any]]:
    """New lines' column values (but ``dropped``; the caller's own dicts, which may be
    the ones returned) as stored (``as_stored_all``), none dropped; ``insert_lines``
    completes them with their application's id. ``texts``: all their texts, each
    already cut to its column's length (``LINE_TEXT_LENGTHS``, the columns' own, as
    ``worker.intake.record`` cuts them): when they are all ``str`` and none needs
    cleaning, the lines are as stored already (what ``as_stored_all`` would find
    after looking at each text again)."""
    if texts is not None and set(map(type, texts)) <= {str} \
            and not needs_cleaning("".join(texts)):
        stored = lines
    else:
        stored = as_stored_all(lines, _TEXT[LINES])
    for line in stored:
        line["dropped"] = False
    return stored


def stored_invoices(issue: NewIssue) -> list[Stored]:
    """The invoices of ``issue`` with their items, as stored (``as_stored_all``)."""
    invoices = as_stored_all(issue.invoices, _TEXT[_INVOICES])
    items = as_stored_all([item for each in issue.items for item in each], _TEXT[_ITEMS])
    out, taken = [], 0
    for invoice, own in zip(invoices, issue.items, strict=True):
        out.append(Stored(**invoice, id=None,
                          items=[Stored(**item) for item in items[taken:taken + len(own)]]))
        taken += len(own)
    return out


def _keys(row: Stored, table: Table) -> tuple[str, ...]:
    """The column keys ``row`` holds (its other attributes are related rows)."""
    return tuple(sorted(_KEYS[table].intersection(vars(row))))


def insert_mails(session: Session, mails: list[Stored]) -> None:
    """The mails' rows, with their final status and folder, in one statement; sets each
    ``mail.id`` (matched back by the Message-ID as stored, unique in the table)."""
    length = _MAILS.c.message_id.type.length
    result = insert_many(session.connection(), _INSERT_MAIL, [vars(mail) for mail in mails],
                         ("id", "message_id"), _keys(mails[0], _MAILS))
    ids = dict((key, id_) for id_, key in result)
    for mail in mails:
        mail.id = ids[storable_key(mail.message_id, length)]


def insert_attachments(session: Session, mails: list[Stored]) -> None:
    """The applications' attachments (each ``app.file``: name, size, data; None for an
    application without one) not stored yet, in one statement; each name once."""
    files = {app.file["name"]: app.file for mail in mails for app in mail.applications
             if app.file is not None}
    if files:
        conn = session.connection()
        insert_many(conn, _INSERT_NEW_FILES[conn.dialect.name], list(files.values()))


def insert_applications(session: Session, mails: list[Stored]) -> None:
    """The applications of ``mails`` in one statement; sets their ids."""
    apps = [app for mail in mails for app in mail.applications]
    if not apps:
        return
    for mail in mails:
        for app in mail.applications:
            app.mail_id = mail.id
    result = insert_many(session.connection(), _INSERT_APPLICATIONS,
                         [vars(app) for app in apps], ("id", "mail_id", "position"),
                         _keys(apps[0], _APPLICATIONS))
    ids = {(mail_id, position): id_ for id_, mail_id, position in result}
    for mail in mails:
        for app in mail.applications:
            app.id = ids[mail.id, app.position]


def insert_lines(session: Session, mails: list[Stored]) -> None:
    """The applications' lines (column values, as stored) in one statement."""
    rows = []
    for mail in mails:
        for app in mail.applications:
            for line in app.stored_lines:  # its own dicts (``stored_lines``): no copy
                line["application_id"] = app.id
            rows += app.stored_lines
    if rows:
        # ``dropped`` (False on every new line) is left to the column's default, False,
        # bound once for the statement instead of once per line.
        _execute_as_stored(session, LINES, rows, keys=_LINE_KEYS)


def insert_rest(session: Session, mails: list[Stored], config: Config) -> None:
    """The applications' reasons, invoices, items and parcels: one statement each (none
    when there is nothing of the kind). Sets the invoices' ids and each accepted
    application's ``shipment``."""
    conn = session.connection()
    apps = [app for mail in mails for app in mail.applications]
    reasons = [dict(application_id=app.id, code=r.code, line=r.line, detail=r.detail)
               for app in apps for r in app.reasons]
    if reasons:
        insert_many(conn, _INSERT_REASONS, reasons)
    invoices = [(app, invoice) for app in apps for invoice in app.invoices]
    if invoices:
        for app, invoice in invoices:
            invoice.application_id = app.id
        _execute_as_stored(session, _INVOICES, [vars(inv) for _, inv in invoices], (),
                           _keys(invoices[0][1], _INVOICES))
        # Their ids read back by their applications, all new (FK: no other invoice names
        # one): one executemany and a lookup, where INSERT ... RETURNING was a statement
        # of each chunk's own length, which SQLite parsed and planned anew each time
        # (~26 columns a row, more than the insert itself cost).
        ids = {serial or number: id_ for id_, serial, number  # each key is unique
               in select_in(conn, _INVOICE_IDS, "applications",
                            sorted({app.id for app, _ in invoices}))}
        items = []
        for _, invoice in invoices:
            invoice.id = ids[invoice.serial or invoice.number]
            for item in invoice.items:
                item.invoice_id = invoice.id
                items.append(item)
        _execute_as_stored(session, _ITEMS, [vars(item) for item in items], (),
                           _keys(items[0], _ITEMS))
    parcels = [app for app in apps if app.issue is not None and app.issue.parcel]
    for app in parcels:
        app.shipment = Stored(**shipment_values(app, len(app.invoices), config,
                                                app.issue.waybill))
    if parcels:
        insert_many(conn, _INSERT_SHIPMENTS, [dict(vars(app.shipment), application_id=app.id)
                                              for app in parcels])

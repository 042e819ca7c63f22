"""The decision: checking and deciding one application, in the caller's transaction.

Below every stage that decides: the intake pass (``worker.intake.record``, which
judges a draft before its first INSERT), staff actions and the console's re-check and
approval all call this module, so an application is judged and issued the same way
whoever triggers it. The rule itself: every check of ``worker.validation`` runs;
an application with no reason left (after the waivers staff may give, see
``worker.validation.reasons.WAIVABLE``) is accepted and issued, otherwise held with
every reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Application, Invoice, InvoiceItem, Mail, Payment
from worker.db.models import Reason as ReasonRow
from worker.db.select_in import select_in
from worker.db.types import utcnow
from worker.fields import FIELDS
from worker.issuing import issue
from worker.status import ApplicationStatus
from worker.validation import Code, Draft, Line, Lookups, PaymentRow, Reason, check_application
from worker.validation.checks import check_deadline, check_recipient
from worker.validation.model import draft_values
from worker.validation.reasons import WAIVABLE


def draft_of(app: Application) -> Draft:
    return draft_from(app, [line_of(line) for line in app.lines if not line.dropped],
                      judged_time(app.mail))


def judged_time(mail: Mail) -> datetime | None:
    """The time date rules judge: when the mailbox received the mail.  Rows stored before
    arrival times were kept (NULL) fall back to their Date header, as judged then."""
    return mail.received_at or mail.date


#: A Date header this far from the arrival time is flagged for staff (issue 9): the
#: sender's clock is wrong or the mail was held up; the arrival time is what counts.
DATE_SKEW_LIMIT = timedelta(days=1)


def date_skew(mail: Mail) -> timedelta | None:
    """How far the sender's Date is from the arrival time, when more than a day."""
    if mail.date is None or mail.received_at is None:
        return None
    skew = mail.date - mail.received_at
    return skew if abs(skew) > DATE_SKEW_LIMIT else None


def line_of(line: Any) -> Line:
    """The checks' view of one stored line (an ApplicationLine, or anything with its columns)."""
    return Line(position=line.position, seq=line.seq, name=line.name,
                id_number=line.id_number, order_no=line.order_no, year=line.year,
                amount=line.amount, year_raw=line.year_raw, amount_raw=line.amount_raw,
                row=line.row)


def draft_from(app: Any, lines: list[Line], received_at: datetime | None) -> Draft:
    """What draft_of reads back, from ``app``'s columns (an Application, or anything with
    its columns: intake's ``worker.intake.write.Stored``) and the given (undropped) lines.
    Choice fields are stored normalised (or as typed when unreadable), so their stored
    text stands for what the unit typed."""
    values = draft_values(app)
    raw = {f"raw_{f.key}": values[f.key] for f in FIELDS if f.choices}
    return Draft(**values, **raw, lines=lines, total_count=app.total_count,
                 total_amount=app.total_amount, received_at=received_at)


# Built once, Core columns, the orders one expanding parameter: an intake chunk reads
# hundreds of payments at once, and plain rows cost a fraction of ORM-loaded ones.
_PAYMENT, _ITEM, _INVOICE = Payment.__table__.c, InvoiceItem.__table__.c, Invoice.__table__.c
# Both queries bind the orders with one type (the columns' String(64)s clean and cut
# alike, as a test checks), so ``select_in`` binds each order once for both.
_ORDER = _PAYMENT.order_no.type
_PAYMENTS_OF = select(  # in ``PaymentRow``'s order
    _PAYMENT.order_no, _PAYMENT.name, _PAYMENT.id_number, _PAYMENT.year, _PAYMENT.amount,
    _PAYMENT.paid_at, _PAYMENT.method, _PAYMENT.status,
).where(_PAYMENT.order_no.in_(bindparam("orders", expanding=True, type_=_ORDER)))


def _active_items() -> Any:
    """The predicate of the partial unique index on active items' orders, as the model
    declares it: SQLite uses a partial index only for a query that names its WHERE as
    written (``active``), and SQLAlchemy writes a Boolean column as ``active = 1``
    there, which scanned every item of every invoice at each lookup. Items' ``active``
    is 0 or 1 (NOT NULL), so both select the same rows; PostgreSQL writes ``active``."""
    index = next(ix for ix in InvoiceItem.__table__.indexes
                 if ix.name == "uq_invoice_items_active_order")
    where = {str(index.dialect_options[name]["where"]) for name in ("sqlite", "postgresql")}
    if where != {"active"}:
        raise RuntimeError(f"uq_invoice_items_active_order's predicate changed: {where}")
    return index.dialect_options["sqlite"]["where"]


_INVOICED = (select(_ITEM.order_no, _INVOICE.number, _INVOICE.serial)
             .join_from(InvoiceItem.__table__, Invoice.__table__, _ITEM.invoice_id == _INVOICE.id)
             .where(_ITEM.order_no.in_(bindparam("orders", expanding=True, type_=_ORDER)),
                    _active_items()))
_INVOICED_ELSEWHERE = _INVOICED.where(_INVOICE.application_id != bindparam("application_id"))


def lookups_for(session: Session, orders: list[str], *,
                application_id: int | None = None) -> Lookups:
    """Payments and invoices of ``orders``. An order counts as invoiced while an active
    item holds it: on a planned, exported or issued invoice alike (a failed or reversed
    one has freed it, ``InvoiceState.holds_orders``). ``application_id``: that
    application's own invoices do not count (it is being planned again after a failure;
    ``issue`` keeps what they hold). The value is the official number, else the 流水号."""
    orders = sorted({o for o in orders if o})
    payments: dict[str, PaymentRow] = {}
    invoiced: dict[str, str] = {}
    conn = session.connection()  # Core statements: the ORM's execute adds only its overhead
    for i in range(0, len(orders), 500):
        chunk = orders[i:i + 500]
        # select_in: bound and read as execute would, without its per-call expansion
        bound: dict[Any, list[Any]] = {}  # the orders as bound, for both queries
        payments.update({row[0]: row for row in select_in(conn, _PAYMENTS_OF, "orders", chunk,
                                                          bound=bound, into=PaymentRow)})
        query, params = ((_INVOICED, None) if application_id is None else
                         (_INVOICED_ELSEWHERE, {"application_id": application_id}))
        invoiced.update({order: number or f"待开具，流水号 {serial}" for order, number, serial
                         in select_in(conn, query, "orders", chunk, params, bound=bound)})
    return Lookups(payments=payments, invoiced=invoiced)


def reason_rows(reasons: list[Reason]) -> list[ReasonRow]:
    return [ReasonRow(code=str(r.code), line=r.line, detail=r.detail) for r in reasons]


def set_reasons(app: Application, reasons: list[Reason]) -> None:
    app.reasons = reason_rows(reasons)


def evaluate(session: Session, app: Application, config: Config,
             *, pre_reasons: list[Reason] | None = None, unread: bool = False) -> list[Reason]:
    """Every reason the application has now, issuing nothing (the console's re-check).
    ``unread``: see ``evaluate_draft``."""
    return evaluate_draft(session, draft_of(app), config, pre_reasons=pre_reasons,
                          unread=unread, application_id=app.id)


def evaluate_draft(session: Session, draft: Draft, config: Config,
                   *, pre_reasons: list[Reason] | None = None, unread: bool = False,
                   application_id: int | None = None,
                   lookups: Lookups | None = None) -> list[Reason]:
    """``lookups``: the caller's, read for more orders than this draft's and kept up to
    date with what it issued since (an intake chunk, ``worker.intake.chunk``); else
    read here with ``lookups_for``. ``unread``: the mail itself was not read (too large,
    not a mail): a recipient it may hold is not looked for, so not said to be missing."""
    if pre_reasons:
        # No usable form: what else the unit should know before sending again.
        return list(pre_reasons) + check_deadline(draft, config.programme) \
            + ([] if unread else check_recipient(draft))
    if lookups is None:
        session.flush()  # earlier applications of this mail count as invoiced
        lookups = lookups_for(session, [line.order_no for line in draft.lines],
                              application_id=application_id)
    return check_application(draft, config.programme, lookups)


def judge(session: Session, draft: Draft, config: Config,
          *, pre_reasons: list[Reason] | None = None, unread: bool = False,
          waive: frozenset[Code] = frozenset(),
          application_id: int | None = None,
          lookups: Lookups | None = None) -> tuple[ApplicationStatus, list[Reason]]:
    """The verdict on ``draft``, storing nothing: ACCEPTED with no reasons, or HELD
    with every reason that remains after ``waive`` (staff approval; only WAIVABLE
    codes, else ValueError). The caller stores the reasons and, when accepted, issues.
    ``application_id``: a stored application judged again (``lookups_for``);
    ``lookups``: see ``evaluate_draft``."""
    if not waive <= WAIVABLE:
        raise ValueError(f"cannot waive {sorted(waive - WAIVABLE)}")
    reasons = [r for r in evaluate_draft(session, draft, config, pre_reasons=pre_reasons,
                                         unread=unread, application_id=application_id,
                                         lookups=lookups)
               if r.code not in waive]
    return (ApplicationStatus.HELD if reasons else ApplicationStatus.ACCEPTED), reasons


def decide(session: Session, app: Application, config: Config,
           *, pre_reasons: list[Reason] | None = None,
           waive: frozenset[Code] = frozenset()) -> ApplicationStatus:
    """Run every check; accept and issue, or hold with all reasons.

    ``waive`` (staff approval) lets listed WAIVABLE codes through; they stay out of
    the stored reasons, and the audit log records that they were waived."""
    status, reasons = judge(session, draft_of(app), config, pre_reasons=pre_reasons, waive=waive,
                            application_id=app.id)
    set_reasons(app, reasons)
    app.updated_at = utcnow()
    app.status = status
    if status == ApplicationStatus.ACCEPTED:
        issue(session, app, config)
    return status

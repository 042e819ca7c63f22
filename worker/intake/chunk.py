"""What one intake chunk's transaction reads once instead of once per mail.

A chunk (``[mailbox] chunk_mails`` mails, ``worker.intake.run_pass``) is stored in one
transaction (``worker.intake.record.record_chunk``: all together, or each mail in its
own savepoint). At its start the chunk locks the counters
its issuing may take (``HeldCounters``: before any mail row, so two workers never wait
for each other in a circle) and then reads the payments and invoiced orders of every
order its mails name (``worker.decision.lookups_for``: it sees whatever another worker
committed before the lock was granted). Each mail's issuing is added to the invoiced
orders, so a later mail of the same chunk claiming the same order is held with
ALREADY_INVOICED exactly as if it had read the database; a mail whose savepoint rolls
back takes its numbers, claims and queued replies back with it (``mark``/``reset``).
The reply limits' counts are read once too (``worker.replies.policy.RecentReplies``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.types import utcnow
from worker.decision import lookups_for
from worker.fields import LINE_TEXT_LENGTHS
from worker.intake.analyse import AppDraft
from worker.issuing.numbers import HeldCounters
from worker.replies.policy import RecentReplies
from worker.validation import Lookups

_ORDER_LENGTH = LINE_TEXT_LENGTHS["order_no"]


def counter_firsts(config: Config) -> dict[str, int]:
    """The counters intake's issuing takes from (``worker.issuing.issue``), each with
    its range's first number."""
    invoicing, inv = config.invoicing, config.invoice
    firsts = ({f"serial:{invoicing.serial_prefix}": 1} if invoicing.platform
              else {f"invoice:{inv.code}": inv.first_number})
    courier = config.courier
    if not invoicing.by_email and courier.provider == "pool":
        firsts[f"waybill:{courier.waybill_prefix}"] = courier.waybill_first
    return firsts


def orders_of(drafts: Iterable[AppDraft]) -> list[str]:
    """The order numbers the checks will look up, as stored (cut to their column)."""
    return [line.order_no[:_ORDER_LENGTH] for d in drafts for line in d.draft.lines]


class Chunk:
    """Locked counters and the lookups of one chunk's transaction."""

    def __init__(self, session: Session, config: Config, orders: list[str]) -> None:
        self.counters = HeldCounters(session, counter_firsts(config))
        self.lookups = lookups_for(session, orders)
        self.replies = RecentReplies(session, utcnow())  # the reply limits' counts
        self.replies.use(session)

    def mark(self) -> tuple[dict[str, int], dict[str, str], int]:
        """The state a savepoint returns to (taken as it starts)."""
        return self.counters.mark(), dict(self.lookups.invoiced), self.replies.mark()

    def reset(self, mark: tuple[dict[str, int], dict[str, str], int]) -> None:
        counters, invoiced, replies = mark
        self.counters.reset(counters)
        self.replies.reset(replies)
        self.lookups = Lookups(payments=self.lookups.payments, invoiced=dict(invoiced))

    def refresh(self, session: Session, orders: list[str]) -> None:
        """Read ``orders`` again (a unique-constraint race: another worker committed)."""
        fresh = lookups_for(session, orders)
        for order in {o for o in orders if o}:
            self.lookups.invoiced.pop(order, None)
            self.lookups.payments.pop(order, None)
        self.lookups.invoiced.update(fresh.invoiced)
        self.lookups.payments.update(fresh.payments)

    def issued(self, invoices: Iterable[Any]) -> None:
        """Orders on ``invoices`` (with ``number``, ``serial`` and ``items`` as stored)
        count as invoiced from now on, with the value ``lookups_for`` would read: the
        official number, else the 流水号."""
        for invoice in invoices:
            value = invoice.number or f"待开具，流水号 {invoice.serial}"
            for item in invoice.items:
                self.lookups.invoiced[item.order_no] = value

    def write(self, session: Session) -> None:
        """Store the counters' next values (just before the commit)."""
        self.counters.write(session)
        session.info.pop(RecentReplies.KEY, None)

"""Several mails per transaction (``[mailbox] chunk_mails``), on SQLite and PostgreSQL:
what a chunk reads once (counters, payments, invoiced orders) must follow what its
earlier mails stored, and a mail rolled back to its savepoint gives back its numbers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from tests.intake.conftest import World, make_world
from tests.intake.test_pass import form_mail, trainees, unit
from tests.intake.test_refused_data import GOOD_ARRIVAL, HOSTILE_ARRIVAL, record_module
from worker import intake
from worker.db.models import Counter, Invoice, InvoiceItem, Mail, OutboxMessage, Shipment
from worker.intake import run_pass
from worker.intake.record import UNSTORABLE
from worker.mailbox import open_mailbox


def _pass(world: World) -> dict[str, int]:
    """One pass without the print batch (nothing here is about printing)."""
    cfg = world.app.config
    with open_mailbox(cfg.mailbox.url, None) as mailbox:
        return run_pass(mailbox, world.app.sessions, cfg).by_status


def test_two_mails_of_one_chunk_claiming_one_order(world: World) -> None:
    """The second mail sees the first one's invoice (not yet committed, same chunk) and
    is held ALREADY_INVOICED with its number, as it would be in a later pass."""
    people = trainees("C", 2)
    world.pay(people)
    world.deliver(form_mail(unit(people)), arrival=HOSTILE_ARRIVAL)
    world.deliver(form_mail(unit(people[1:])), arrival=GOOD_ARRIVAL)
    assert world.app.config.mailbox.chunk_mails >= 2
    assert _pass(world) == {"accepted": 1, "held": 1}
    with world.app.sessions() as s:
        held = s.scalars(select(Mail).where(Mail.status == "held")).one()
        reasons = [(r.code, r.line, r.detail) for r in held.applications[0].reasons]
        assert [code for code, _, _ in reasons] == ["ALREADY_INVOICED"]
        assert "00000001" in reasons[0][2]
        assert list(s.scalars(select(InvoiceItem.order_no))) == ["C00000", "C00001"]


def test_a_mail_rolled_back_after_issuing_leaves_no_gap(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mail refused after its invoices and waybill were numbered: its savepoint and
    its numbers go back, it is held alone, and the next mail of the chunk takes the
    very numbers it gave back."""
    bad, good = trainees("D", 2), trainees("E", 3)
    world.pay([*bad, *good])
    original = record_module.queue_mail_reply

    def failing(session: Session, row: Mail, config: Any) -> Any:
        if any(a.status == "accepted" and a.invoices and a.invoices[0].items[0].order_no
               == "D00000" for a in row.applications):
            raise DataError("INSERT", {}, Exception("value refused"))
        return original(session, row, config)

    monkeypatch.setattr(record_module, "queue_mail_reply", failing)
    world.deliver(form_mail(unit(bad)), arrival=HOSTILE_ARRIVAL)
    world.deliver(form_mail(unit(good)), arrival=GOOD_ARRIVAL)
    assert _pass(world) == {"held": 1, "accepted": 1}
    assert world.folder("INBOX") == []
    cfg = world.app.config
    with world.app.sessions() as s:
        held = s.scalars(select(Mail).where(Mail.status == "held")).one()
        assert ("FORM_UNREADABLE", UNSTORABLE) in [
            (r.code, r.detail) for r in held.applications[0].reasons]
        assert list(s.scalars(select(Invoice.number))) == ["00000001"]
        assert sorted(s.scalars(select(InvoiceItem.order_no))) == ["E00000", "E00001", "E00002"]
        assert list(s.scalars(select(Shipment.waybill))) == [
            f"{cfg.courier.waybill_prefix}{cfg.courier.waybill_first}"]
        counter = s.get(Counter, f"invoice:{cfg.invoice.code}")
        assert counter is not None and counter.next_value == 2


def test_should_stop_ends_the_pass_after_the_mails_read(world: World) -> None:
    """A stop asked mid-chunk: the mails read so far are stored and moved, the rest wait."""
    people = trainees("F", 3)
    world.pay(people)
    for person in people:
        world.deliver(form_mail(unit([person])))
    asked = iter([False, True])
    cfg = world.app.config
    with open_mailbox(cfg.mailbox.url, None) as mailbox:
        summary = run_pass(mailbox, world.app.sessions, cfg, lambda: next(asked, True))
    assert summary.by_status == {"accepted": 1}
    assert len(world.folder("INBOX")) == 2


def test_a_rolled_back_mails_reply_does_not_count_against_the_limit(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reply limits are read once per chunk: a reply queued by a mail whose
    savepoint then rolls back is taken back, a reply queued and kept counts for the
    later mails of the same chunk."""
    world = make_world(db_url, tmp_path, reply_limits={"per_address_per_day": 1})
    try:
        original = record_module.queue_mail_reply

        def failing_once(session: Session, row: Mail, config: Any) -> Any:
            """The first mail's accepted outcome is refused after its reply was queued
            (each time it is tried: its chunk's mails stored together, then alone)."""
            result = original(session, row, config)
            if any(item.order_no == "R000000" for a in row.applications
                   for invoice in a.invoices for item in invoice.items):
                raise DataError("INSERT", {}, Exception("value refused"))
            return result

        monkeypatch.setattr(record_module, "queue_mail_reply", failing_once)
        for i, arrival in enumerate((HOSTILE_ARRIVAL, GOOD_ARRIVAL,
                                     GOOD_ARRIVAL + timedelta(minutes=1))):
            people = trainees(f"R{i}", 1)
            world.pay(people)
            world.deliver(form_mail(unit(people)), arrival=arrival)
        assert _pass(world) == {"held": 1, "accepted": 2}
        with world.app.sessions() as s:
            statuses = [(m.status, o.status, (o.last_error or "").partition(":")[0])
                        for m, o in s.execute(select(Mail, OutboxMessage).join(
                            OutboxMessage, OutboxMessage.mail_id == Mail.id).order_by(Mail.id))]
        # The rolled-back mail is stored again held without its form (a stranger's, no
        # reply): its first reply went back with its savepoint, so the next mail is
        # answered, and the one after it is over the limit of one.
        assert statuses == [("held", "withheld", "stranger"), ("accepted", "pending", ""),
                            ("accepted", "withheld", "address_limit")]
    finally:
        world.app.close()


def test_a_chunks_mails_are_stored_together(world: World) -> None:
    """Three mails of one chunk: one INSERT for their mail rows, one for their lines,
    one for their invoices (the database refusing none of it)."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split("(")[0].split()[-1] if statement.startswith(
            "INSERT") else "")

    for i in range(3):
        people = trainees(f"T{i}", 2)
        world.pay(people)
        world.deliver(form_mail(unit(people)), arrival=GOOD_ARRIVAL + timedelta(minutes=i))
    engine = world.app.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert _pass(world) == {"accepted": 3}
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s]
    for table in ("mails", "application_lines", "invoices", "invoice_items"):
        assert inserts.count(table) == 1, (table, inserts)
    with world.app.sessions() as s:
        assert len(s.scalars(select(InvoiceItem)).all()) == 6


def test_an_id_with_a_digit_int_cannot_read_holds_only_its_mail(world: World) -> None:
    """U+10A40 (KHAROSHTHI DIGIT ONE) is a digit to str.isdigit, survives NFKC and is
    no digit to int(): its form is held INVALID_ID_NUMBER, the pass goes on."""
    odd, good = trainees("K", 1), trainees("G", 1)
    odd[0].id_number = odd[0].id_number[:15] + "\U00010A40" + odd[0].id_number[16:]
    world.pay([*odd, *good])
    world.deliver(form_mail(unit(odd)), arrival=HOSTILE_ARRIVAL)
    world.deliver(form_mail(unit(good)), arrival=GOOD_ARRIVAL)
    assert _pass(world) == {"held": 1, "accepted": 1}
    with world.app.sessions() as s:
        held = s.scalars(select(Mail).where(Mail.status == "held")).one()
        assert "INVALID_ID_NUMBER" in [r.code for r in held.applications[0].reasons]


def test_a_bug_met_while_deciding_holds_only_that_mail(
    world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the checks (here: a ValueError for one unit's form) is contained like
    one met while reading: that mail is stored failed, held INTERNAL_ERROR with the
    traceback in its error, in Exceptions; the other mails of the chunk are decided as
    usual and the pass ends normally."""
    bad, good = trainees("B", 1), trainees("O", 2)
    world.pay([*bad, *good])
    original = record_module.judge

    def buggy(session: Session, draft: Any, *args: Any, **kw: Any) -> Any:
        if any(line.order_no == "B00000" for line in draft.lines):
            raise ValueError("a bug")
        return original(session, draft, *args, **kw)

    monkeypatch.setattr(record_module, "judge", buggy)
    world.deliver(form_mail(unit(bad)), arrival=HOSTILE_ARRIVAL)
    world.deliver(form_mail(unit(good)), arrival=GOOD_ARRIVAL)
    assert _pass(world) == {"failed": 1, "accepted": 1}
    assert world.folder("INBOX") == [] and len(world.folder("Exceptions")) == 1
    with world.app.sessions() as s:
        failed = s.scalars(select(Mail).where(Mail.status == "failed")).one()
        assert failed.error and "ValueError: a bug" in failed.error
        assert [r.code for r in failed.applications[0].reasons] == ["INTERNAL_ERROR"]
        assert list(s.scalars(select(Invoice.number))) == ["00000001"]


@pytest.mark.parametrize(("budget", "expected"), [
    ("one", [1, 1, 1, 1, 1]),   # a mail alone reaches it: one mail per transaction
    ("two", [2, 2, 1]),         # two mails' sizes reach it
    ("all", [4, 1]),            # never reached: chunk_mails (4) cuts
])
def test_a_chunk_ends_at_its_mail_count_or_its_bytes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: str, expected: list[int],
) -> None:
    """A chunk's mails are held in memory, parsed, until its commit: large mail makes
    smaller chunks (``[mailbox] chunk_bytes``), so memory stays bounded whatever arrives.
    Every mail is still processed once, in arrival order."""
    people = trainees("K", 5)
    mails = [form_mail(unit([person])) for person in people]
    world = make_world(db_url, tmp_path)
    world.deliver(*mails)
    sizes = sorted(path.stat().st_size for path in (world.maildir / "new").iterdir())
    assert sizes[-1] < 2 * sizes[0]  # as listed: any two reach 2 x the smallest, none alone
    limit = {"one": 1, "two": 2 * sizes[0], "all": sum(sizes) * 10}[budget]
    world.app.close()
    world = make_world(db_url, tmp_path, mailbox={"chunk_mails": 4, "chunk_bytes": limit})
    try:
        world.pay(people)
        seen: list[int] = []
        original = intake.handle_chunk

        def counting(mailbox: Any, refs: list[Any], *args: Any, **kw: Any) -> bool:
            seen.append(len(refs))
            return original(mailbox, refs, *args, **kw)

        monkeypatch.setattr(intake, "handle_chunk", counting)
        assert _pass(world) == {"accepted": 5}
        assert seen == expected
    finally:
        world.app.close()


def test_a_pass_collects_young_objects_less_often_and_gives_the_thresholds_back(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """During a pass the youngest generation is collected every 50,000 allocations (the
    older generations' settings kept); after it, even one that failed, the process has
    its own thresholds again; one that turned automatic collection off keeps it off."""
    import gc

    seen: list[tuple[int, int, int]] = []
    handle = intake.handle_chunk

    def watched(*args: Any, **kwargs: Any) -> bool:
        seen.append(gc.get_threshold())
        return handle(*args, **kwargs)

    people = trainees("G", 1)
    world.pay(people)
    world.deliver(form_mail(unit(people)))
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        monkeypatch.setattr(intake, "handle_chunk", watched)
        assert _pass(world) == {"accepted": 1}
        assert seen == [(50_000, 10, 10)] and gc.get_threshold() == (700, 10, 10)

        def failing(*args: Any, **kwargs: Any) -> bool:
            raise OSError("disk gone")

        others = trainees("H", 1)
        world.pay(others)
        world.deliver(form_mail(unit(others)))
        monkeypatch.setattr(intake, "handle_chunk", failing)
        with pytest.raises(OSError):
            _pass(world)
        assert gc.get_threshold() == (700, 10, 10)

        # automatic collection turned off by the process (threshold 0) stays off
        gc.set_threshold(0, 10, 10)
        monkeypatch.setattr(intake, "handle_chunk", watched)
        assert _pass(world) == {"accepted": 1}
        assert seen[-1] == (0, 10, 10) and gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*before)

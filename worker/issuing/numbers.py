"""Gap-free numbers from a counter row, taken inside the issuing transaction.

A database sequence would skip numbers on rollback; a counter row does not: if the
transaction that took numbers fails, the counter goes back with it. The row is locked
(``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so two workers queue.

An intake chunk (``worker.intake.chunk``) locks its counters once, at the start of its
transaction, and takes numbers from ``HeldCounters`` in memory: one SELECT per counter
and chunk, one UPDATE before the commit. Locking them first, always in name order,
also means two workers never hold each other's rows (a deadlock needs a worker that
waits for a counter while holding a mail another one is inserting).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from worker.db.models import Counter
from worker.errors import PoolExhausted

_COUNTERS = Counter.__table__
_LOCK_NEXT = (select(_COUNTERS.c.next_value).where(_COUNTERS.c.name == bindparam("counter"))
              .with_for_update())
_SET_NEXT = (update(_COUNTERS).where(_COUNTERS.c.name == bindparam("counter"))
             .values(next_value=bindparam("next_value")))


def allocate(session: Session, name: str, count: int, *, first: int, last: int,
             held: HeldCounters | None = None) -> list[int]:
    """Take the next ``count`` numbers of counter ``name`` (range first..last); from
    ``held`` when it holds that counter (PoolExhausted when the range is used up)."""
    if count <= 0:
        return []
    if held is not None and name in held.values:
        return held.take(name, count, first=first, last=last)
    counter = _lock_or_create(session, name, first)
    numbers = _range(name, counter.next_value, count, first, last)
    counter.next_value = numbers[-1] + 1
    session.flush()
    return numbers


class HeldCounters:
    """Counter rows locked for a whole transaction, their next values kept in memory.

    ``mark``/``reset`` follow a savepoint: numbers a rolled-back mail took are taken
    again by the next mail, so there is no gap; ``write`` stores the next values (call
    it before the commit; the rows stay locked until then)."""

    def __init__(self, session: Session, firsts: dict[str, int]) -> None:
        """``firsts``: counter name -> its range's first number (a missing row starts
        there). Locks every row, in name order."""
        self.values = {name: _lock_value(session, name, firsts[name]) for name in sorted(firsts)}
        self._stored = dict(self.values)

    def take(self, name: str, count: int, *, first: int, last: int) -> list[int]:
        numbers = _range(name, self.values[name], count, first, last)
        self.values[name] = numbers[-1] + 1
        return numbers

    def mark(self) -> dict[str, int]:
        return dict(self.values)

    def reset(self, mark: dict[str, int]) -> None:
        self.values = dict(mark)

    def write(self, session: Session) -> None:
        """One UPDATE per counter that moved (Core, one statement built once; a locked
        row still in the session is told its new value, as the ORM's UPDATE did)."""
        conn = session.connection()
        for name, value in self.values.items():
            if value != self._stored[name]:
                conn.execute(_SET_NEXT, {"counter": name, "next_value": value})
                self._stored[name] = value
                row = session.identity_map.get(identity_key(Counter, name))
                if row is not None:
                    set_committed_value(row, "next_value", value)


def _range(name: str, next_value: int, count: int, first: int, last: int) -> list[int]:
    start = max(next_value, first)
    end = start + count - 1
    if end > last:
        raise PoolExhausted(
            f"counter {name}: {count} numbers needed, only {max(0, last - start + 1)} left "
            f"(range ends at {last}); extend the range in config"
        )
    return list(range(start, end + 1))


def _lock_value(session: Session, name: str, first: int) -> int:
    """The counter's next value, its row locked (created if missing): read with Core,
    one statement built once (every intake chunk asks)."""
    value = session.connection().execute(_LOCK_NEXT, {"counter": name}).scalar_one_or_none()
    return _lock_or_create(session, name, first).next_value if value is None else int(value)


def _lock_or_create(session: Session, name: str, first: int) -> Counter:
    counter = _locked(session, name)
    if counter is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=name, next_value=first))
        except IntegrityError:
            pass  # another worker created it first; lock theirs
        counter = _locked(session, name)
        assert counter is not None
    return counter


def peek(session: Session, name: str) -> int | None:
    counter = session.get(Counter, name)
    return counter.next_value if counter else None


def _locked(session: Session, name: str) -> Counter | None:
    # No autoflush: the lookup reads only the counter row, which nothing pending
    # changes (allocate flushes its own update); an identity-map hit keeps its value.
    with session.no_autoflush:
        return session.scalars(
            select(Counter).where(Counter.name == name).with_for_update()
        ).one_or_none()


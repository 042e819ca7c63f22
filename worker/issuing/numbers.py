"""Gap-free numbers from a counter row, taken inside the issuing transaction.

A database sequence would skip numbers on rollback; a counter row does not: if the
transaction that took numbers fails, the counter goes back with it. The row is locked
(``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so two workers queue.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.db.models import Counter
from worker.errors import PoolExhausted


def allocate(session: Session, name: str, count: int, *, first: int, last: int) -> list[int]:
    """Take the next ``count`` numbers of counter ``name`` (range first..last)."""
    if count <= 0:
        return []
    counter = _locked(session, name)
    if counter is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=name, next_value=first))
        except IntegrityError:
            pass  # another worker created it first; lock theirs
        counter = _locked(session, name)
        assert counter is not None
    start = max(counter.next_value, first)
    end = start + count - 1
    if end > last:
        raise PoolExhausted(
            f"counter {name}: {count} numbers needed, only {max(0, last - start + 1)} left "
            f"(range ends at {last}); extend the range in config"
        )
    counter.next_value = end + 1
    session.flush()
    return list(range(start, end + 1))


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

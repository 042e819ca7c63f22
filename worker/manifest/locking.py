"""Keeping two close-outs apart: row locks on PostgreSQL, a lock file on SQLite."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def skip_locked(session: Session, query: Select[Any]) -> Select[Any]:
    """PostgreSQL: rows another close-out holds are left to it. SQLite has no row locks
    (and needs none: ``BEGIN IMMEDIATE`` admits one writer at a time)."""
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock``; it is per open file, so it also separates two threads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

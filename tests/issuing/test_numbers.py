from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from worker.db import session_factory
from worker.errors import PoolExhausted
from worker.issuing.numbers import allocate, peek


def test_numbers_are_consecutive_and_a_rollback_returns_them(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        assert allocate(s, "invoice:X", 3, first=1, last=100) == [1, 2, 3]
    with pytest.raises(RuntimeError), sessions.begin() as s:
        assert allocate(s, "invoice:X", 2, first=1, last=100) == [4, 5]
        raise RuntimeError("crash before commit")
    with sessions.begin() as s:
        assert allocate(s, "invoice:X", 1, first=1, last=100) == [4]
    with sessions() as s:
        assert peek(s, "invoice:X") == 5


def test_pool_exhausted_is_an_infrastructure_error(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        allocate(s, "waybill:T", 2, first=10, last=11)
    with pytest.raises(PoolExhausted, match="extend the range"), sessions.begin() as s:
        allocate(s, "waybill:T", 1, first=10, last=11)


def test_concurrent_allocations_never_overlap_or_skip(engine: Engine) -> None:
    sessions = session_factory(engine)
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with sessions.begin() as s:
                    got = allocate(s, "invoice:C", 2, first=1, last=10_000)
                with lock:
                    taken.extend(got)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 81))

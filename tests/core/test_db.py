"""Schema management: init-db creates, upgrades in place, and is idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, column, insert, inspect, table, text

from tests.fixtures.db import empty_engine
from worker.db import _alembic_config, check_schema, current_revision, init_db
from worker.errors import StorageError


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_upgrade_from_the_first_revision_keeps_data(backend: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    engine = empty_engine(backend, tmp_path, request)
    command.upgrade(_alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO counters (name, next_value) VALUES ('invoice:X', 42)"))
    with pytest.raises(StorageError, match="init-db"):
        check_schema(engine)
    head = init_db(engine)
    assert head == current_revision(engine) and init_db(engine) == head
    check_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT next_value FROM counters")).scalar() == 42
    assert {"staff", "audit_log", "outbox", "login_attempts"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_sqlite_connection_gets_the_settings_concurrent_workers_and_chunks_need(
        tmp_path: Path) -> None:
    """WAL and a busy timeout (writers queue), foreign keys, NORMAL sync, and the temp
    store in memory (a chunk's savepoint journal is not a temp file)."""
    from worker.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        got = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
               for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous",
                            "temp_store")}
    engine.dispose()
    # synchronous 1 = NORMAL, temp_store 2 = MEMORY (sqlite.org/pragma.html)
    assert got == {"journal_mode": "wal", "busy_timeout": 60000, "foreign_keys": 1,
                   "synchronous": 1, "temp_store": 2}


def _mail_row(engine: Engine) -> dict[str, object]:
    """A value for each required column of ``mails`` at the engine's revision."""
    def value(kind: str) -> object:
        if "DATE" in kind or "TIME" in kind:
            return "2018-09-03 02:15:00"
        return 0 if "INT" in kind or "BOOL" in kind else "x"

    return {c["name"]: value(str(c["type"]).upper()) for c in inspect(engine).get_columns("mails")
            if not c["nullable"] and c["name"] != "id"}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_0015_drops_0014s_digests_that_hashed_the_subject(backend: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    """A row digested by 0014 (subject included) would make every copy of its mail a
    second mail under today's digest: 0015 clears it, so a copy is taken for the same
    mail, as for rows from before 0014 (``worker.message.model.same_mail``)."""
    engine = empty_engine(backend, tmp_path, request)
    command.upgrade(_alembic_config(engine), "0014")
    values = dict(_mail_row(engine), message_id="<a@b>", content_digest="f" * 64)
    with engine.begin() as conn:
        conn.execute(insert(table("mails", *(column(n) for n in values))), values)
    init_db(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT content_digest, envelope_digest FROM mails")).one()
    assert tuple(row) == (None, None)
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_0016_recomputes_envelopes_in_utc_without_gateway_tags(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A row with 0015's envelope digest gets today's, from its stored sender, subject
    and Date, so a gateway's copy of it is known; a row without one keeps none."""
    from datetime import UTC, datetime

    from worker.message.model import envelope_of

    engine = empty_engine(backend, tmp_path, request)
    command.upgrade(_alembic_config(engine), "0015")
    base = _mail_row(engine)
    rows = [dict(base, message_id="<a@b>", sender="oa@wq.gov.cn", subject="发票申请",
                 date="2018-09-03 02:15:00", envelope_digest="e" * 64),
            dict(base, message_id="<c@d>", sender="oa@wq.gov.cn", subject="发票申请",
                 date="2018-09-03 02:15:00", envelope_digest=None)]
    with engine.begin() as conn:
        conn.execute(insert(table("mails", *(column(n) for n in rows[0]))), rows)
    init_db(engine)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT envelope_digest FROM mails ORDER BY message_id")).scalars().all()
    tagged = envelope_of("oa@wq.gov.cn", "[EXTERNAL] 发票申请", datetime(2018, 9, 3, 2, 15, tzinfo=UTC))
    assert got == [tagged, None]
    engine.dispose()

"""Storage: the one engine factory, sessions, and schema creation via Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE so concurrent writers queue
    instead of failing; PostgreSQL gets pre-ping so a restarted server is survived."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # sqlite3 keeps every distinct SQL text it prepared (128 by default), and an
        # intake chunk's multi-row INSERT ... RETURNING and IN lists differ in length
        # each time: a big cache filled with big one-off statements (+12 MB over 400
        # mails, bench/intake.py). About 15 statements repeat in every chunk.
        engine = create_engine(url, connect_args={"timeout": 60, "cached_statements": 32},
                               **kwargs)
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # A savepoint's statement journal (an intake chunk's, ~0.5 MB) in memory, not in
        # a temp file: 9 files and 2,300 pwrites fewer over 900 bench mails.
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def init_db(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision; safe to run again."""
    try:
        command.upgrade(_alembic_config(engine), "head")
        return current_revision(engine) or ""
    except SQLAlchemyError as e:
        raise StorageError(f"cannot create or migrate the database: {e}") from e


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Refuse to run against a database that ``init-db`` has not brought up to date."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    try:
        current = current_revision(engine)
    except SQLAlchemyError as e:
        raise StorageError(f"cannot reach the database: {e}") from e
    if current != head:
        raise StorageError(
            f"database schema is at {current or 'nothing'}, expected {head}: "
            "run `invoice-worker init-db`"
        )

"""Backup and restore of one installation: the database and the output folder.

``python -m worker.backup backup DIR`` writes ``DIR/invoice-worker-YYYYmmdd-HHMMSS.tar.gz``
holding
* ``database.sqlite3``: SQLite's online backup API (a consistent copy while the worker
  and console keep writing; a file copy of a WAL database is not), or
  ``database.pgdump``: ``pg_dump --format=custom`` (one consistent snapshot);
* ``output/``: the output folder (PDF batches, manifests, attachments stored before
  migration 0013 moved them into the database, the console's session key), and
* ``backup.json``: when, which schema revision, how many rows in each table.
``python -m worker.backup restore FILE [--force]`` puts both back (SQLite: the file;
PostgreSQL: ``pg_restore --clean --if-exists``), refusing to overwrite a database or
output folder that holds data unless ``--force``. Stop the worker and console first.
Both read the config like the worker (``--config``, else INVOICE_WORKER_CONFIG).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from worker.config import Config, load_config
from worker.db import current_revision, make_engine
from worker.errors import WorkerError

DB_SQLITE = "database.sqlite3"
DB_PG = "database.pgdump"
OUTPUT = "output"
META = "backup.json"


class BackupError(WorkerError):
    """Raised when a backup cannot be made or restored; says what to do."""


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options and environment (the password never on a command line)."""
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    try:
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as e:
        raise BackupError(f"{cmd[0]} not found: install postgresql-client") from e
    except subprocess.CalledProcessError as e:
        raise BackupError(f"{cmd[0]} failed: {e.stderr.strip()}") from e


def table_counts(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            return {n: conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()  # noqa: S608 -- names from the schema
                    for n in names}
    finally:
        engine.dispose()


def backup(config: Config, dest_dir: Path, now: datetime | None = None) -> Path:
    """Write one archive into ``dest_dir``; returns its path."""
    url = make_url(config.database.url)
    now = now or datetime.now(UTC)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"invoice-worker-{now.astimezone(config.tz):%Y%m%d-%H%M%S}.tar.gz"
    engine = make_engine(config.database.url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
        work = Path(tmp)
        if url.get_backend_name() == "sqlite":
            db_file = DB_SQLITE
            src = sqlite3.connect(url.database or "")
            dst = sqlite3.connect(work / DB_SQLITE)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        elif url.get_backend_name() == "postgresql":
            db_file = DB_PG
            args, env = _pg_args(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(work / DB_PG), *args], env)
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        meta = {"created": now.isoformat(), "database": db_file, "revision": revision,
                "tables": table_counts(config.database.url)}
        (work / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        partial = target.with_name(target.name + ".part")
        # Only its owner may read it: it holds every form, ID number and password hash,
        # and the console's session key (0600 in the output folder too).
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an earlier .part keeps its mode through O_CREAT
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(work / META, META)
            tar.add(work / db_file, db_file)
            if config.output_dir.is_dir():
                tar.add(config.output_dir, OUTPUT)
        partial.replace(target)
    return target


def _has_data(db_url: str) -> bool:
    try:
        counts = table_counts(db_url)
    except Exception:  # no database there yet (a new server): nothing to lose
        return False
    return any(n for name, n in counts.items() if name != "alembic_version")


def restore(config: Config, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Put the archive's database and output folder back; returns its ``backup.json``."""
    url = make_url(config.database.url)
    out = config.output_dir
    if not force and _has_data(config.database.url):
        raise BackupError("the database holds data; restore with --force to replace it")
    if not force and out.is_dir() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty; restore with --force to replace it")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work, filter="data")  # no absolute paths, links out or devices
        except (OSError, tarfile.TarError) as e:
            raise BackupError(f"{archive}: not a readable backup ({e})") from e
        try:
            meta = json.loads((work / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BackupError(f"{archive}: no {META} in it") from e
        if meta.get("database") == DB_SQLITE and url.get_backend_name() == "sqlite":
            path = Path(url.database or "")
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            shutil.copyfile(work / DB_SQLITE, path)
        elif meta.get("database") == DB_PG and url.get_backend_name() == "postgresql":
            args, env = _pg_args(url)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  *args, str(work / DB_PG)], env)
        else:
            raise BackupError(f"the backup holds {meta.get('database')}, the config a "
                              f"{url.get_backend_name()} database: restore to the same kind")
        if (work / OUTPUT).is_dir():
            if out.exists():
                shutil.rmtree(out)
            shutil.copytree(work / OUTPUT, out)
    return dict(meta)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.backup", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.environ.get("INVOICE_WORKER_CONFIG") or None)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup", help="write DIR/invoice-worker-<time>.tar.gz")
    b.add_argument("dir", type=Path)
    r = sub.add_parser("restore", help="put a backup back (stop the worker and console first)")
    r.add_argument("archive", type=Path)
    r.add_argument("--force", action="store_true", help="replace a database or folder holding data")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        if args.command == "backup":
            print(backup(config, args.dir))
        else:
            meta = restore(config, args.archive, force=args.force)
            print(json.dumps({"restored": str(args.archive), "revision": meta.get("revision"),
                              "tables": meta.get("tables")}, ensure_ascii=False))
    except WorkerError as e:
        print(f"invoice-worker backup: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

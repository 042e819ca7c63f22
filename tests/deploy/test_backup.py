"""Back up a running installation, wipe it, restore it, find everything again."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.console.conftest import Seeded, seed
from tests.fixtures.db import _reset_pg
from tests.intake.conftest import World, make_world
from worker.backup import table_counts
from worker.db import check_schema, make_engine
from worker.db.models import Invoice, Shipment


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    (tmp_path / "site").mkdir()
    w = make_world(db_url, tmp_path / "site")
    yield w
    w.app.close()


def backup_cmd(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.backup", "--config",
                           str(world.config_file()), *args], capture_output=True, text=True,
                          timeout=300, check=False, cwd=world.root)


def wipe(world: World) -> None:
    url = world.app.config.database.url
    world.app.engine.dispose()
    if url.startswith("sqlite"):
        db = Path(url.removeprefix("sqlite:///"))
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        _reset_pg(engine)
        engine.dispose()
    shutil.rmtree(world.app.config.output_dir)


def files_of(world: World) -> set[str]:
    with world.app.sessions() as s:
        return {*s.scalars(select(Invoice.pdf_path)), *s.scalars(select(Shipment.label_pdf))}


def test_backup_wipe_restore_finds_everything(world: World, tmp_path: Path) -> None:
    seeded: Seeded = seed(world)
    before_export = world.export()
    before_counts = table_counts(world.app.config.database.url)
    pdfs = files_of(world)
    assert pdfs and all(Path(p).is_file() for p in pdfs)
    out = world.app.config.output_dir
    kept = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())

    made = backup_cmd(world, "backup", str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    archive = Path(made.stdout.strip())
    assert archive.parent == tmp_path / "backups" and archive.name.endswith(".tar.gz")
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: its owner's only

    wipe(world)
    assert not out.exists()
    done = backup_cmd(world, "restore", str(archive))
    assert done.returncode == 0, done.stderr

    check_schema(world.app.engine)
    assert table_counts(world.app.config.database.url) == before_counts
    assert world.export() == before_export
    assert files_of(world) == pdfs and all(Path(p).is_file() for p in pdfs)
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == kept
    with world.app.sessions() as s:
        (inv,) = s.scalars(select(Invoice))
        assert inv.application_id == seeded.accepted and inv.number == "00000001"

    again = backup_cmd(world, "restore", str(archive))
    assert again.returncode == 1 and "--force" in again.stderr   # it holds data now
    assert backup_cmd(world, "restore", str(archive), "--force").returncode == 0


def test_a_broken_archive_is_refused(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tarball")
    shutil.rmtree(world.app.config.output_dir, ignore_errors=True)
    done = backup_cmd(world, "restore", str(bad))
    assert done.returncode == 1 and "not a readable backup" in done.stderr

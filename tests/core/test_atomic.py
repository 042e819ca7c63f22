"""``write_atomic``: the whole new file or the old one, never half, never a stray temp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker import atomic
from worker.atomic import write_atomic


def test_writes_creates_folders_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "发票.pdf"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert sorted(p.name for p in target.parent.iterdir()) == ["发票.pdf"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "manifest.xlsx"
    write_atomic(target, b"old")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.xlsx"]


def test_each_write_has_its_own_temp_file_and_syncs(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    temps: list[str] = []
    synced: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src: str, dst: str) -> None:
        temps.append(Path(src).name)
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.os, "fsync", fsync)
    target = tmp_path / "x.eml"
    write_atomic(target, b"1")
    write_atomic(target, b"2")
    assert len(set(temps)) == 2 and all(t.startswith(".x.eml.") for t in temps)
    assert len(synced) == 4  # the file and its folder, each time

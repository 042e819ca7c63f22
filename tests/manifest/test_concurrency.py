"""Close-outs at the same time never share a parcel, and never mail a manifest twice."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.manifest.conftest import RecordingMailer, Site
from tests.manifest.test_close import waybills_in
from worker.manifest import ManifestResult
from worker.manifest import close as close_mod

WAIT = 60.0


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def assert_each_parcel_on_one_manifest(site: Site, issued: list[str]) -> None:
    """Files and database agree, and together hold every parcel exactly once."""
    out = site.app.config.output_dir
    listed: list[str] = []
    for m in site.manifests():
        in_file = waybills_in(out / m.xlsx_path)
        in_db = [s.waybill for s in site.shipments() if s.manifest_id == m.id]
        assert in_file == in_db and m.parcels == len(in_db)
        listed += in_file
    assert Counter(listed) == Counter(issued)


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_second_close_out_skips_parcels_the_first_holds(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    held = site.issue(6)
    claimed, release = threading.Event(), threading.Event()
    real_write = close_mod.write_files
    first: list[threading.Thread] = []

    def slow_write(*args: Any) -> Any:
        if threading.current_thread() in first:
            claimed.set()  # rows locked, transaction open
            assert release.wait(WAIT)
        return real_write(*args)

    monkeypatch.setattr(close_mod, "write_files", slow_write)
    mailer = RecordingMailer()
    a, a_box = in_thread(lambda: site.close(mailer))
    first.append(a)
    try:
        assert claimed.wait(WAIT)
        late = site.issue(1)  # the pass still issues while A holds its parcels
        b, b_box = in_thread(lambda: site.close(mailer))
        b.join(WAIT)
        assert not b.is_alive(), "the second close-out waited for the first one's rows"
    finally:
        release.set()
    a.join(WAIT)
    assert "error" not in a_box and "error" not in b_box, (a_box, b_box)
    ra, rb = a_box["result"], b_box["result"]
    assert (ra.parcels, rb.parcels) == (6, 1)
    assert waybills_in(ra.xlsx) == held and waybills_in(rb.xlsx) == late
    assert_each_parcel_on_one_manifest(site, held + late)
    assert sorted(m["Subject"].split()[1] for m in mailer.sent) == ["第1号", "第2号"]


class BlockingMailer(RecordingMailer):
    """Sends, but holds on in the middle of the first send until released."""

    def __init__(self) -> None:
        super().__init__()
        self.sending, self.release = threading.Event(), threading.Event()

    def _deliver(self, msg: EmailMessage) -> str:
        if not self.sending.is_set():
            self.sending.set()
            assert self.release.wait(WAIT)
        return super()._deliver(msg)


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_manifest_being_sent_is_not_sent_again_by_another_run(site: Site) -> None:
    site.issue(2)
    slow = BlockingMailer()
    a, a_box = in_thread(lambda: site.close(slow))
    other = RecordingMailer()
    try:
        assert slow.sending.wait(WAIT)  # manifest 1 committed, its mail in flight
        b, b_box = in_thread(lambda: site.close(other))
        b.join(WAIT)
        assert not b.is_alive()
    finally:
        slow.release.set()
    a.join(WAIT)
    assert b_box["result"] == ManifestResult(0, None, None, None)
    assert other.sent == [] and len(slow.sent) == 1
    assert a_box["result"].emailed == "recorded"
    (m,) = site.manifests()
    assert m.emailed_at is not None


@pytest.mark.slow
def test_close_outs_racing_in_separate_processes_split_the_parcels(site: Site) -> None:
    issued = site.issue(12)
    cfg = site.world.config_file()
    procs = [subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "manifest"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["parcels"] for r in results) == 12
    assert sorted(r["manifest"] for r in results if r["parcels"]) == [
        m.id for m in site.manifests()]
    assert_each_parcel_on_one_manifest(site, issued)
    outbox = site.app.config.output_dir / "outbox"
    assert len(list(outbox.iterdir())) == len(site.manifests())  # each mailed once
    assert all(Path(r["emailed"]).parent == outbox for r in results if r["parcels"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_close_out_mails_its_own_manifest_on_sqlite(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second close-out that starts after the first has claimed (it finds nothing to
    claim) waits for the first's mail instead of mailing the first's manifest itself,
    which left the first reporting its manifest unsent (a CI run saw it: ``emailed``
    None in a 3-process race)."""
    site.issue(3)
    claimed, release = threading.Event(), threading.Event()
    real_claim = close_mod._claim

    def slow_claim(*args: Any) -> Any:
        result = real_claim(*args)
        if not claimed.is_set():  # the first close-out only: claimed, its mail not yet sent
            claimed.set()
            assert release.wait(WAIT)
        return result

    monkeypatch.setattr(close_mod, "_claim", slow_claim)
    first_mailer, second_mailer = RecordingMailer(), RecordingMailer()
    a, a_box = in_thread(lambda: site.close(first_mailer))
    assert claimed.wait(WAIT)
    b, b_box = in_thread(lambda: site.close(second_mailer))
    b.join(1.0)  # it waits for the senders' lock while the first holds it
    release.set()
    a.join(WAIT)
    b.join(WAIT)
    assert "error" not in a_box and "error" not in b_box
    assert a_box["result"].parcels == 3 and a_box["result"].emailed == "recorded"
    assert len(first_mailer.sent) == 1 and second_mailer.sent == []
    assert b_box["result"] == ManifestResult(0, None, None, None)

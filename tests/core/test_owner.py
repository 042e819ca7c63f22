"""``worker.owner``: a lease holder is declared gone only when that is certain."""

from __future__ import annotations

import subprocess
import sys

import pytest

from worker.owner import current_owner, owner_gone


def test_this_process_is_not_gone_and_each_claim_has_its_own_token() -> None:
    a, b = current_owner(), current_owner()
    assert a != b and a.rsplit("/", 1)[0] == b.rsplit("/", 1)[0]
    assert not owner_gone(a)


def test_a_finished_process_is_gone() -> None:
    out = subprocess.run([sys.executable, "-c", "from worker.owner import current_owner; "
                          "print(current_owner())"], capture_output=True, text=True, check=True)
    assert owner_gone(out.stdout.strip())


def test_a_recycled_pid_is_not_the_old_owner() -> None:
    host, boot, pid, start, nonce = current_owner().split("/")
    assert owner_gone(f"{host}/{boot}/{pid}/{float(start) - 3600:.2f}/{nonce}")


def test_other_machines_and_unreadable_owners_are_never_gone() -> None:
    host, boot, _pid, _start, nonce = current_owner().split("/")
    assert not owner_gone(f"elsewhere/{boot}/999999/1.00/{nonce}")
    assert not owner_gone(f"{host}/another-boot/999999/1.00/{nonce}")
    for broken in (None, "", "x", f"{host}/{boot}/notapid/1.00/{nonce}", "a/b/c/d/e/f"):
        assert not owner_gone(broken)


def test_this_process_is_not_gone_when_ntp_moves_the_boot_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wall-clock boot time (``btime``) moves when NTP slews the clock; a worker
    running for days must still know its own leases (else its reply is sent twice)."""
    import psutil._pslinux as linux

    owner = current_owner()
    booted = linux.boot_time()
    monkeypatch.setattr(linux, "boot_time", lambda: booted + 1.0)
    assert not owner_gone(owner)

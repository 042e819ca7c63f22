"""Who holds a lease: this process, named so that a restarted worker on the same
machine can tell at once that the holder is gone (issue 10 item 8).

A lease (an outbox row being sent, a print batch being rendered) records its owner as
``host/boot/pid/start/nonce``: the host name, the first characters of the kernel's boot
id, the process id, the process's start (``_start``: so a recycled pid is not taken for
the old process) and a random nonce (two claims by one process are told apart).

``owner_gone`` is certain only on the same machine: an owner on another host (or one we
cannot read) is never declared gone, and its lease ends with its time limit as before.
Workers that share a database must therefore have distinct host names (containers
sharing one kernel and one host name would read each other's process ids).
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
from pathlib import Path

import psutil

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@functools.cache
def _machine() -> tuple[str, str]:
    host = socket.gethostname().replace("/", "_")[:100] or "localhost"
    try:
        boot = _BOOT_ID.read_text().strip().replace("-", "")[:12]
    except OSError:  # not Linux: the boot time tells restarts apart as well
        boot = f"{psutil.boot_time():.0f}"
    return host, boot


def _start(pid: int) -> str:
    """When ``pid`` started, as a token that does not move while it runs: on Linux its
    start in clock ticks since boot (proc(5), /proc/pid/stat field 22); elsewhere
    psutil's wall-clock start in whole seconds. psutil's wall-clock start is boot time
    (``btime``, the clock minus the uptime) plus those ticks, and ``btime`` moves by a
    second when NTP slews the clock: a process running for days would see its own
    lease declared gone and its reply sent twice. Raises psutil.NoSuchProcess (or
    OSError) when it is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            raise psutil.NoSuchProcess(pid) from None
        return f"{psutil.Process(pid).create_time():.0f}"
    return stat[stat.rindex(b")") + 2:].split()[19].decode()


@functools.cache
def _own(pid: int) -> str:
    """This process as ``pid/start`` (keyed by pid: a forked child is another process)."""
    return f"{pid}/{_start(pid)}"


def current_owner() -> str:
    """A new owner token for a lease taken by this process (at most ~150 characters)."""
    host, boot = _machine()
    return f"{host}/{boot}/{_own(os.getpid())}/{secrets.token_hex(4)}"


def owner_gone(owner: str | None) -> bool:
    """True only when ``owner`` is a process of this machine that no longer runs (or a
    zombie, or a recycled pid); False when it runs, is elsewhere, or cannot be read."""
    parts = (owner or "").split("/")
    if len(parts) != 5 or (parts[0], parts[1]) != _machine():
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    try:
        if _start(pid) != parts[3] or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True  # another process has the pid now, or it died unreaped
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, OSError, ValueError, IndexError):  # cannot tell, so not gone
        return False
    return False

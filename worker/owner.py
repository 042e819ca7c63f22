"""Who holds a lease: this process, named so that a restarted worker on the same
machine can tell at once that the holder is gone (issue 10 item 8).

A lease (an outbox row being sent, a print batch being rendered) records its owner as
``host/boot/pid/start/nonce``: the host name, the first characters of the kernel's boot
id, the process id, the process's start time (so a recycled pid is not taken for the
old process) and a random nonce (two claims by one process are told apart).

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


def _start(pid: int) -> float:
    return psutil.Process(pid).create_time()


@functools.cache
def _own(pid: int) -> str:
    """This process as ``pid/start`` (keyed by pid: a forked child is another process)."""
    return f"{pid}/{_start(pid):.2f}"


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
        pid, start = int(parts[2]), float(parts[3])
    except ValueError:
        return False
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - start) > 0.05 or \
                process.status() == psutil.STATUS_ZOMBIE:
            return True  # another process has the pid now, or it died unreaped
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # AccessDenied and the like: cannot tell, so not gone
        return False
    return False

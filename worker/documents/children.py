"""Rendering in child processes (issue 12): one process per print batch or reprint.

Why a child: WeasyPrint holds a whole batch's box tree, and CPython keeps the arenas it
freed; a process that rendered 800 invoices stayed at 826 MiB. A child returns all of
it to the system when it exits, and no cyclic-collector tail is paid (the process ends
instead). A child that crashes or is killed fails only its own batch: the parent
records nothing for it, releases its claim, and the next run renders it again.

How: ``multiprocessing`` with the ``forkserver`` context, one ``Process`` per job.

* Not ``fork``: the parent holds SQLAlchemy engines (pooled connections, which a forked
  child would share) and may run threads (the console); forking it is unsafe.
* ``forkserver`` rather than ``spawn``: the server is a fresh interpreter that imports
  WeasyPrint and our document modules once (``PRELOAD``, ~2.4 s of CPU on the
  reference machine) and then forks a child per job in milliseconds; ``spawn`` would
  pay the imports again for every batch. The server holds no connection and no
  thread, and never the database layer (the views it unpickles do not import it). It
  lives as long as the worker process (~85 MB, pages the children share: each child
  freezes them out of its collector so they stay shared).
* A ``Process`` per job rather than ``ProcessPoolExecutor(max_tasks_per_child=1)``: a
  killed worker breaks the whole executor (every batch in flight fails with
  ``BrokenProcessPool``), while here it fails only its own job; and nothing idles.

Jobs and results cross as pickles: a job's function must be a module-level function.
Each child asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``),
so a killed worker leaves no orphan rendering a batch nobody will record.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)

PRELOAD = ["weasyprint", "pypdf", "worker.documents.files", "worker.documents.invoice",
           "worker.documents.label"]
"""Imported once by the fork server (the views' modules too: unpickling a job needs them)."""

IN_PROCESS = False
"""Run jobs in this process instead, one after the other: for tests that patch the
rendering itself (a fault, a recording fetcher) and for a debugger. Never configured."""

_PR_SET_PDEATHSIG = 1


class ChildFailed(Exception):
    """A job failed in its child: raised, or the process died (a signal, an exit).
    ``str()`` is the reason (``OSError: No space left on device``, ``killed by SIGKILL``);
    ``detail`` the child's traceback, if it sent one."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


def slots(configured: int) -> int:
    """How many children at once: the CPUs this process may run on (its affinity, which
    container CPU sets narrow; ``os.cpu_count()`` where that is unknown), at most
    ``configured`` (``[documents] render_processes``), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, configured))


class Child:
    """One job in its own process; ``result()`` once ``wait`` returned it."""

    def __init__(self, fn: Callable[[Any], Any], arg: Any) -> None:
        self._outcome: tuple[str, Any, str] | None = None
        self._process: BaseProcess | None = None
        self._reader: Connection | None = None
        if IN_PROCESS:
            try:
                self._outcome = ("ok", fn(arg), "")
            except Exception as e:
                self._outcome = ("raised", e, "")
            return
        context = _context()
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_child_main, args=(fn, arg, writer),
                                  name=f"render-{getattr(fn, '__name__', 'job')}", daemon=True)
        try:
            process.start()
        finally:
            writer.close()  # the child has its own end: EOF here once it is gone
        self._process, self._reader = process, reader

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def done(self) -> bool:
        return self._outcome is not None

    def _handles(self) -> list[Any]:
        assert self._process is not None and self._reader is not None
        return [self._reader, self._process.sentinel]

    def _collect(self) -> None:
        """Read the child's answer (if it sent one) and reap it."""
        assert self._process is not None and self._reader is not None
        outcome: tuple[str, Any, str] | None = None
        try:
            if self._reader.poll():
                outcome = self._reader.recv()
        except (EOFError, OSError):
            outcome = None
        self._process.join()
        self._reader.close()
        if outcome is None:
            code = self._process.exitcode
            reason = (f"render process {self._process.pid} killed by "
                      f"{signal.Signals(-code).name}" if code is not None and code < 0
                      else f"render process {self._process.pid} exited with {code} "
                           "before answering")
            outcome = ("failed", reason, "")
        self._outcome = outcome

    def result(self) -> Any:
        """The job's return value; raises ``ChildFailed`` (or, ``IN_PROCESS``, the job's
        own exception)."""
        assert self._outcome is not None, "wait() first"
        kind, value, detail = self._outcome
        if kind == "ok":
            return value
        if kind == "raised":
            raise value
        raise ChildFailed(value, detail)

    def kill(self) -> None:
        """Stop the child now (if it still runs) and reap it."""
        if self._process is None or self._outcome is not None:
            return
        if self._process.is_alive():
            self._process.kill()
        self._collect()


def start(fn: Callable[[Any], Any], arg: Any) -> Child:
    """Run ``fn(arg)`` in a new child process (``IN_PROCESS``: here, now)."""
    return Child(fn, arg)


def wait_any(children: Sequence[Child]) -> list[Child]:
    """Block until at least one of ``children`` is done; returns those done."""
    finished = [c for c in children if c.done()]
    if finished or not children:
        return finished
    owners: dict[Any, Child] = {h: c for c in children for h in c._handles()}
    for handle in wait(list(owners)):  # its answer arrived, or it is gone
        if not owners[handle].done():
            owners[handle]._collect()
    return [c for c in children if c.done()]


def run(fn: Callable[[Any], Any], arg: Any) -> Any:
    """``fn(arg)`` in a child, waited for; raises ``ChildFailed`` like ``Child.result``."""
    child = start(fn, arg)
    try:
        while not child.done():
            wait_any([child])
        return child.result()
    finally:
        child.kill()


@functools.cache
def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    # The fork server is ``python -c``: Python 3.11 puts the working directory first on
    # its sys.path and ignores the parent's (fixed in 3.12), so a ``worker`` folder where
    # staff run the command would be imported instead of the installed package.
    # PYTHONSAFEPATH (3.11, "-P") leaves it out; set only while the server starts.
    saved = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = saved
    return context  # type: ignore[return-value]


def _child_main(fn: Callable[[Any], Any], arg: Any, writer: Connection) -> None:
    _die_with_parent()
    # Everything this process inherited from the fork server (the preloaded modules)
    # leaves the collector's generations: a collection writes to the header of each
    # object it scans, which would copy every page of them into this process
    # (copy-on-write) where they are now shared. (Splicing lists: O(1), nothing read.)
    gc.freeze()
    try:
        outcome: tuple[str, Any, str] = ("ok", fn(arg), "")
    except BaseException as e:  # everything goes back as text: an exception may not pickle
        outcome = ("failed", f"{type(e).__name__}: {e}", traceback.format_exc())
    writer.send(outcome)
    writer.close()


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent (the fork server, which itself ends
    with the worker) exits. Elsewhere nothing: the child then finishes its job alone."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable")

"""Progress bars for long command-line work, on a terminal only (issue 11 item 6).

tqdm (small, no dependencies, the usual choice) draws on stderr when stderr is a
terminal; piped or redirected (cron, systemd, a test), nothing is drawn and the
iterable passes through untouched, so logs and JSON output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, TypeVar

T = TypeVar("T")
Progress = Callable[[Iterable[T]], Iterable[T]]


def on_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def bar(iterable: Iterable[T], *, desc: str, unit: str, total: int | None = None,
        stream: TextIO | None = None) -> Iterable[T]:
    """``iterable`` with a bar on a terminal (``total`` defaults to its len, if it has one)."""
    stream = stream or sys.stderr
    if not on_terminal(stream):
        return iterable
    from tqdm import tqdm

    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    return tqdm(iterable, desc=desc, unit=unit, total=total, file=stream, leave=False,
                dynamic_ncols=True)


def bar_for(desc: str, unit: str, stream: TextIO | None = None) -> Progress[T] | None:
    """A ``progress`` argument for the workers' loops, or None when not on a terminal."""
    if not on_terminal(stream):
        return None
    return lambda items: bar(items, desc=desc, unit=unit, stream=stream)


@contextmanager
def task(desc: str, stream: TextIO | None = None) -> Iterator[None]:
    """One step that cannot be counted (a manifest's files and mail): 0/1, then 1/1
    with the time it took."""
    stream = stream or sys.stderr
    if not on_terminal(stream):
        yield
        return
    from tqdm import tqdm

    with tqdm(total=1, desc=desc, file=stream, leave=False) as progress:
        yield
        progress.update(1)

"""The stdlib's compat32 parser, with Python 3.13's way of finding MIME boundaries.

Up to Python 3.12, ``email.feedparser.FeedParser._parsegen`` compiles a regular
expression for every multipart it meets, from that multipart's own boundary
(``'(?P<sep>' + re.escape(separator) + r')(?P<end>--)?...$'``).  Every mail has its own
boundary, so ``re``'s cache never hits: the compile is ~75 us a mail, half the cost of
parsing a typical one.  CPython fixed it in 3.13 (gh-106628): a line is a boundary
when it starts with the separator and the constant ``boundaryendRE`` matches the rest.

``parse_bytes`` is ``BytesParser(policy=compat32).parsebytes`` run with that fix: the
same ``_parsegen`` code, given a ``re`` whose ``compile`` returns 3.13's matcher for
exactly that one pattern (checked by rebuilding it from the separator) and the real
``re.compile`` for anything else.  Nothing global changes: other users of ``email``
get the stdlib as it is.  On a Python that has the fix, it is the stdlib's parser.
"""

from __future__ import annotations

import email.feedparser
import re
import types
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
#: What follows the separator on a boundary line: CPython 3.13's ``boundaryendRE``.
_BOUNDARY_END = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_CHUNK = 8192  # email.parser.Parser.parse feeds the text in pieces of this many characters


class _BoundaryMatcher:
    """The compiled boundary pattern's ``match``, as 3.13 does it: a line starting with
    the separator, then ``_BOUNDARY_END`` from there (the same groups, but ``sep``,
    which the parser never reads)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _BOUNDARY_END.match(line, len(self.separator))


class _BoundaryRe:
    """``re`` for ``_parsegen``: its per-multipart boundary pattern becomes a
    ``_BoundaryMatcher``; every other name is ``re``'s own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: Any, flags: int = 0) -> Any:
        if (flags == 0 and isinstance(pattern, str) and pattern.startswith(_HEAD)
                and pattern.endswith(_TAIL)):
            escaped = pattern[len(_HEAD):-len(_TAIL)]
            separator = _ESCAPED.sub(r"\1", escaped)
            if re.escape(separator) == escaped:  # exactly the boundary pattern: 3.13's match
                return _BoundaryMatcher(separator)
        return re.compile(pattern, flags)


_NEED_MORE_DATA = email.feedparser.NeedMoreData


class _SubFile(email.feedparser.BufferedSubFile):
    """The stdlib's line buffer, with the false-EOF test skipped for a line that cannot
    be one: while every predicate on the stack is a boundary's ``_BoundaryMatcher.match``
    (a separator is "--" + boundary), a line that starts otherwise matches none of them.
    Any other predicate (``_parsegen``'s blank-line match inside message/delivery-status,
    a compiled fallback pattern) tests every line, as the stdlib does. Every line of a
    base64 attachment was three Python calls (``__next__``, ``readline``, the match),
    now one."""

    def __init__(self) -> None:
        super().__init__()
        self._boundaries_only = True  # every predicate on ``_eofstack`` a boundary's

    def push_eof_matcher(self, pred: Any) -> None:
        super().push_eof_matcher(pred)
        self._boundaries_only = self._boundaries_only and _is_boundary(pred)

    def pop_eof_matcher(self) -> Any:
        pred = super().pop_eof_matcher()
        self._boundaries_only = all(_is_boundary(p) for p in self._eofstack)
        return pred

    def readline(self) -> Any:
        if not self._lines:
            return "" if self._closed else _NEED_MORE_DATA
        line = self._lines.popleft()
        if line.startswith("--") or not self._boundaries_only:
            for ateof in reversed(self._eofstack):
                if ateof(line):
                    self._lines.appendleft(line)  # the false EOF: push the line back
                    return ""
        return line

    def __next__(self) -> Any:  # readline, inline: the parser iterates over every line
        if not self._lines:
            if self._closed:
                raise StopIteration
            return _NEED_MORE_DATA
        line = self._lines.popleft()
        if line.startswith("--") or not self._boundaries_only:
            for ateof in reversed(self._eofstack):
                if ateof(line):
                    self._lines.appendleft(line)
                    raise StopIteration
        if line == "":
            raise StopIteration
        return line


def _is_boundary(pred: Any) -> bool:
    return isinstance(getattr(pred, "__self__", None), _BoundaryMatcher)


class _FeedParser(email.feedparser.FeedParser):
    """The stdlib's feed parser; ``_parsegen`` is its own code run with ``_BoundaryRe``,
    reading lines from a ``_SubFile``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._input = _SubFile()


if not hasattr(email.feedparser, "boundaryendRE"):  # Python before 3.13
    _parsegen = email.feedparser.FeedParser._parsegen
    _FeedParser._parsegen = types.FunctionType(  # type: ignore[method-assign]
        _parsegen.__code__, {**vars(email.feedparser), "re": _BoundaryRe()},
        _parsegen.__name__, _parsegen.__defaults__, _parsegen.__closure__)


def parse_bytes(data: bytes) -> Message:
    """``BytesParser(policy=compat32).parsebytes(data)``: the same Message, faster on
    Python up to 3.12. Raises what the stdlib parser raises (RecursionError)."""
    if _FeedParser._parsegen is email.feedparser.FeedParser._parsegen:
        return BytesParser(policy=policy.compat32).parsebytes(data)
    # email.parser.BytesParser.parsebytes and Parser.parse, step by step
    text = data.decode("ASCII", errors="surrogateescape")
    parser = _FeedParser(policy=policy.compat32)
    for start in range(0, len(text), _CHUNK):
        parser.feed(text[start:start + _CHUNK])
    return parser.close()

"""The labels units write on the form, and matching a cell against them.

Units retype, reorder and decorate labels (``*单位名称：``, ``单 位 名 称``,
``纳税人识别号（统一社会信用代码）``), so every comparison goes through
``label_key`` and, failing that, ``label_key`` with bracketed hints removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from worker.fields import COLUMNS, FIELDS
from worker.text import label_key, normalize

#: Canonical header key -> labels accepted for it (first one is what the blank form prints);
#: from the field registry (``worker.fields``).
HEADER_FIELDS: dict[str, tuple[str, ...]] = {f.header_key: f.labels for f in FIELDS}

#: Canonical trainee-table column -> header texts accepted for it.
LINE_COLUMNS: dict[str, tuple[str, ...]] = {c.key: c.labels for c in COLUMNS}

#: Columns a trainee header row must have (序号 is optional).
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.key for c in COLUMNS if c.required)

#: What a column is called in messages to units.
COLUMN_TITLES: dict[str, str] = {c.key: c.title for c in COLUMNS}

# A bracketed hint: no other opening bracket inside, so each match attempt stops at the
# next "(" and a long cell such as "(a(a(a…" is read in linear time, not quadratic.
_BRACKETED = re.compile(r"[(（\[【][^(（\[【)）\]】]*[)）\]】]")
# No label is longer than this (with its hints); longer text is a value, never matched.
_MAX_LABEL = 80
_TOTAL_WORDS = ("合计", "总计")
_NOTE = re.compile(r"^[*※]?\s*(?:填表说明|说明|注意事项|注意|备注|注)\s*(?:[:、.]|\d|$)")

def _orders(label: str) -> tuple[str, ...]:
    """A label and, when it joins two names with a slash (纳税人识别号/统一社会信用代码),
    the same names in the other order: units write them either way."""
    parts = label.split("/")
    return (label, "/".join(reversed(parts))) if len(parts) == 2 else (label,)


_HEADER_INDEX: dict[str, str] = {
    label_key(written): key for key, labels in HEADER_FIELDS.items() for label in labels
    for written in _orders(label)
}
_COLUMN_INDEX: dict[str, str] = {
    label_key(written): key for key, labels in LINE_COLUMNS.items() for label in labels
    for written in _orders(label)
}


_T = TypeVar("_T")
#: Texts up to this long are remembered (the same labels, numbers and names come back
#: on every form): at most a thousand short strings per function, whatever the mails hold.
_CACHED_LENGTH = 2 * _MAX_LABEL


def remembered(function: Callable[[str], _T]) -> Callable[[str], _T]:
    """``function`` with its answers for short texts kept (it must be pure: the same
    text always gives the same, immutable, answer)."""
    cached = lru_cache(maxsize=1024)(function)

    def lookup(text: str) -> _T:
        return cached(text) if len(text) <= _CACHED_LENGTH else function(text)

    lookup.__doc__ = function.__doc__
    return lookup


def _lookup(text: str, index: dict[str, str]) -> str | None:
    """Exact match first, then the same text with bracketed hints dropped."""
    if len(text) > _MAX_LABEL:
        return None
    text = normalize(text)
    key = label_key(text)
    if not key:
        return None
    if key in index:
        return index[key]
    bare = _BRACKETED.sub("", text)
    if bare == text:
        return None  # no hint to drop: the same key again
    stripped = label_key(bare)
    return index.get(stripped) if stripped else None


@remembered
def header_key(text: str) -> str | None:
    """The header field a whole cell names (``'*单位名称：'`` -> ``'unit'``), if any."""
    return _lookup(text, _HEADER_INDEX)


@remembered
def column_key(text: str) -> str | None:
    """The trainee column a header cell names (``'金额(元)'`` -> ``'amount'``), if any."""
    return _lookup(text, _COLUMN_INDEX)


#: The characters every accepted label of a column keeps after ``label_key``.
_COLUMN_CHARS: dict[str, frozenset[str]] = {
    key: frozenset.intersection(*(frozenset(label_key(label)) for label in labels))
    for key, labels in LINE_COLUMNS.items()
}


def is_column(text: str, key: str) -> bool:
    """``column_key(text) == key`` for a normalised text (as ``cell_text`` gives it),
    without the lookup when the text lacks a character all of the column's labels have
    (a trainee's name is checked on every row: is it the header repeated?)."""
    return _COLUMN_CHARS[key].issubset(text) and column_key(text) == key


@remembered
def split_label(text: str) -> tuple[str, str | None] | None:
    """Read a cell as a header label, with the value it carries inline if any.

    Returns ``(key, None)`` for a bare label (value is to the right), ``(key, value)``
    for ``单位名称：某某公司`` (value may be '' for ``单位名称：``), None otherwise.
    Exact matching keeps ``经办人电话`` from being read as ``经办人``.
    """
    text = normalize(text)
    if not text:
        return None
    key = header_key(text)
    if key is not None:
        return key, None
    if ":" in text:  # NFKC turned '：' into ':'
        left, right = text.split(":", 1)
        key = header_key(left)
        if key is not None:
            return key, right.strip()
    parts = text.split(None, 1)
    if len(parts) == 2:
        key = header_key(parts[0])
        if key is not None:
            return key, parts[1].strip()
    return None


@remembered
def is_total_text(text: str) -> bool:
    """Whether a cell opens the 合计 row (``合计``, ``合 计：``, ``总计``)."""
    key = label_key(text)
    return key.startswith(_TOTAL_WORDS)


@remembered
def is_note_text(text: str) -> bool:
    """Whether a cell starts a note under the table (``注：``, ``说明``)."""
    return bool(_NOTE.match(normalize(text)))

"""Every value a request brings, checked before it reaches a query: out-of-range input
answers 400 (a reason in Chinese) or 404, never a 500.

- Ids in URLs (``<int:...>``) are database ids: PostgreSQL's INTEGER holds at most
  2**31 - 1, so a larger one cannot name a row (404), and more than 10 digits is not
  even parsed (Python refuses to turn very long digit strings into ints).
- Page numbers, dates and ids typed into forms go through the helpers below.
- No parameter may carry NUL: PostgreSQL refuses it in text ("A string literal cannot
  contain NUL"), so it would fail deep in a query instead of here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from worker.text import FIRST_DAY, LAST_DAY

DB_INT_MAX = 2**31 - 1          # PostgreSQL INTEGER, the type of every id column
MAX_PAGE = 100_000              # 5 million rows at 50 a page: far beyond any season


class BadParameter(BadRequest):
    """A request parameter out of range or malformed; ``description`` is shown to staff."""


class DbIdConverter(IntegerConverter):
    """``<int:...>`` for this app: 0 ≤ value ≤ 2**31 - 1, at most 10 digits."""

    regex = r"\d{1,10}"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, 0 if min is None else min,
                         DB_INT_MAX if max is None else max, signed)


def parse_id(text: str | None) -> int | None:
    """A database id typed by staff (``"42"``, ``" 42 "``), or None when it cannot name
    a row (empty, not digits, zero, or over ``DB_INT_MAX``)."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= DB_INT_MAX else None


def page_arg(name: str = "page") -> int:
    """A 1-based page number from the query string (missing = 1)."""
    text = request.args.get(name, "").strip()
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 6 or not 1 <= int(text) <= MAX_PAGE:
        raise BadParameter(f"页码须为 1–{MAX_PAGE} 之间的整数")
    return int(text)


def date_arg(name: str) -> date | None:
    """A date ``YYYY-MM-DD`` from the query string (missing or empty = None)."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadParameter(f"日期“{text[:20]}”无效，应为 年-月-日（如 2018-09-03）") from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadParameter(f"日期须在 {FIRST_DAY} 至 {LAST_DAY} 之间")
    return value


def _has_nul(values: Any) -> bool:
    return any("\x00" in v for _, v in values.items(multi=True) if isinstance(v, str))


def _refuse_nul() -> None:
    if "\x00" in request.path or _has_nul(request.args) or (
            request.method == "POST" and _has_nul(request.form)):
        raise BadParameter("请求中含有空字符（NUL），无法处理")


def install(app: Flask) -> None:
    """Before any blueprint is registered: the converter applies to rules as they are added."""
    app.url_map.converters["int"] = DbIdConverter
    app.before_request(_refuse_nul)

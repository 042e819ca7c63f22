"""Cells of every spreadsheet the product writes: text from outside stays text.

Formula injection ("CSV injection", OWASP; ASVS 5.0 requirement 1.2.10): a spreadsheet
program reads a cell whose text starts with ``=``, ``+``, ``-``, ``@``, TAB, CR (ASVS
adds NUL) as a formula, so a recipient typed as ``=HYPERLINK("http://…")`` would be a
live link, or worse, in the courier's manifest. Sources:
https://owasp.org/www-community/attacks/CSV_Injection and the ASVS text above.

Every writer goes through this module, never ``cell.value = text`` or ``ws.append``:

* xlsx (openpyxl): ``put(ws, row, col, value)`` / ``put_row``. Text is stored as a
  string cell, never a formula (openpyxl turns any ``str`` starting with ``=`` into one),
  and text that starts like a formula also gets the ``quotePrefix`` style, which is what
  Excel itself records when someone types ``'=1``: shown as typed, and editing the cell
  does not turn it into a formula. The text itself is not changed (the courier reads the
  address as the unit wrote it), except for the control characters XML cannot hold.
* CSV: ``csv_row(values)``. CSV has no cell types, so OWASP's escape is the only one:
  a leading ``'`` on such text (the reader sees ``'=1+1``, never a formula result).

Numbers (``int``, ``float``, ``Decimal``), dates and ``None`` are written as they are:
numbers stay numbers, and a negative amount is a number, not text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0",
                 # full-width forms Chinese input methods produce; treated the same as a
                 # precaution (a quote prefix on text costs nothing)
                 "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""OWASP's list (= + - @ TAB CR), ASVS's NUL, LF, and their full-width forms."""

CellValue = str | int | float | Decimal | date | datetime | time | None


def formula_like(text: str) -> bool:
    """True when a spreadsheet program could read ``text`` as a formula."""
    return text.startswith(FORMULA_START)


def clean_text(text: str) -> str:
    """``text`` without the control characters an xlsx (XML 1.0) cannot hold; TAB, LF
    and CR stay (openpyxl's own list, which it would otherwise raise on)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def put(ws: Any, row: int, column: int, value: Any) -> Cell:
    """Write one cell of an openpyxl worksheet safely; returns the cell for styling.

    ``value``: ``str`` (stored as text, see above), a number, date, ``bool`` or None.
    Anything else is written as its ``str()``. Raises nothing for any text."""
    cell: Cell = ws.cell(row=row, column=column)
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime | time):
        cell.value = value
        return cell
    text = clean_text(value if isinstance(value, str) else str(value))
    cell.value = text
    cell.data_type = "s"  # never "f": openpyxl guesses a formula from a leading "="
    if formula_like(text):
        cell.quotePrefix = True
    return cell


def put_row(ws: Any, row: int, values: Iterable[Any], *, first_column: int = 1) -> list[Cell]:
    """``put`` for each value of a row, left to right from ``first_column``."""
    return [put(ws, row, col, value) for col, value in enumerate(values, start=first_column)]


def csv_field(value: Any) -> Any:
    """One CSV field: text that starts like a formula gets OWASP's leading ``'``;
    numbers, dates and None are returned as they are (``csv`` writes them)."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime | time):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if formula_like(text) else text


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer.writerow``, every field through ``csv_field``."""
    return [csv_field(v) for v in values]

"""Cell values as text, and finding header fields by their labels anywhere on a sheet."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from worker.form.labels import split_label
from worker.form.xlsxpackage import WINDOWS_EPOCH
from worker.text import CENT, normalize, number_text, parse_amount, parse_int

Row = tuple[object, ...]


@dataclass
class Sheet:
    """One worksheet's values as read (bounded by FormLimits), whatever the file format."""

    title: str
    rows: list[Row]  # rows[0] is spreadsheet row 1; trailing empty cells trimmed
    truncated: bool = False  # there were rows beyond max_rows that were not read
    hidden: bool = False
    # 0-based indexes of rows hidden in the sheet (an AutoFilter's, a row hidden by hand,
    # a collapsed group): the unit does not see them, so they are never read as its lines
    hidden_rows: frozenset[int] = frozenset()


def trim(row: Sequence[object]) -> Row:
    """Drop trailing empty cells so blank rows compare as ``()`` cheaply."""
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return tuple(row[:end])


#: What a non-finite number reads as (``cell_text``): Excel's error for a number it
#: cannot hold, which ``shows_error`` knows.
NUMBER_ERROR = "#NUM!"


def cell_text(value: object) -> str:
    """A cell as the text a person sees: numbers without '.0', dates as ISO dates."""
    kind = type(value)  # most cells are text or whole numbers: the checks below are for others
    if kind is str:
        return unicodedata.normalize("NFKC", value).strip()  # normalize's own str case
    if kind is int:
        return str(value)  # as normalize gives it
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            # Excel's #NUM!, for a number no cell can hold (a script's 1e400 or NaN):
            # never "", which told the unit its amount was not filled in.
            return NUMBER_ERROR
        if value.is_integer():
            return str(int(value))  # 1.2010119900307e17 keeps the digits it still has
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return normalize(value)


_nfkc = unicodedata.normalize


def row_texts(row: Row) -> list[str]:
    """``cell_text`` of each cell of ``row``, with its two common kinds (text, a whole
    number) inline: once per row of the trainee table, six calls fewer per line."""
    return [_nfkc("NFKC", value).strip() if type(value) is str
            else str(value) if type(value) is int else cell_text(value) for value in row]


#: Characters a General-format cell shows at Excel's and WPS's default column width.
GENERAL_WIDTH = 11


def excel_general(value: float, width: int = GENERAL_WIDTH) -> str:
    """A number as Excel and WPS show it in a General cell of the default width.

    Up to ``width`` characters it is the number itself; beyond that, scientific with as
    many mantissa digits as fit: 120114198503031008.0 -> ``'1.20114E+17'``.  This is
    what a unit sees in its sheet when it typed an ID number as a number.
    """
    text = cell_text(value)
    if len(text) <= width or not math.isfinite(value) or value == 0:
        return text
    sign = "-" if value < 0 else ""
    exponent = math.floor(math.log10(abs(value)))
    for _ in range(2):  # rounding 9.999996 up to 10 moves the exponent once
        exp_text = f"E+{exponent:02d}" if exponent >= 0 else f"E-{-exponent:02d}"
        room = max(0, width - len(sign) - len(exp_text) - 2)  # "d." before the decimals
        mantissa = f"{abs(value) / 10 ** exponent:.{room}f}"
        if not mantissa.startswith("10"):
            break
        exponent += 1
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{sign}{mantissa}{exp_text}"


class ShownWhole(float):
    """A number in a cell formatted to show it whole (``0``, ``0_ ``: 数值 with 0
    decimals), as the xlsx reader gives it: what the unit sees is its digits, Excel's 15
    significant ones and zeros after them, not General's ``1.20114E+17``."""

    __slots__ = ()

    @property
    def shown(self) -> str:
        if not math.isfinite(self):
            return cell_text(float(self))
        digits = Decimal(f"{self:.15g}").to_integral_value(rounding=ROUND_HALF_UP)
        return format(digits, "f")


def id_text(value: object, text: str | None = None) -> str:
    """An ID number cell as text: a number cell as the unit sees it (``1.20114E+17`` in
    General, ``120114198503031000`` in a whole-number format: the digits past the 15th
    are gone anyway); an exact integer keeps every digit.
    ``text``: ``cell_text(value)`` when the caller has it."""
    if isinstance(value, ShownWhole):
        return value.shown
    if isinstance(value, float) and not isinstance(value, bool):
        return excel_general(value)
    return number_text(cell_text(value) if text is None else text).upper()


def order_text(value: object, text: str) -> str:
    """An 订单号 cell as text (``text``: its ``cell_text``). A number of 16 digits or
    more typed into a number cell kept only 15 (Excel, WPS): it is quoted as the unit
    sees it (``id_text``), not as the float's binary digits, which nobody typed; a
    shorter number is exact and keeps every digit."""
    if (isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value) >= 1e15):
        return id_text(value, text)
    return number_text(text)


def number_or_none(value: object) -> object:
    """Booleans, times, non-finite floats and dates are never amounts, years or counts,
    but a number typed into a date-formatted cell is: see ``_typed_number``."""
    if isinstance(value, dt.date):
        return _typed_number(value)
    if isinstance(value, (bool, dt.time, dt.timedelta)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: The error values a formula shows instead of a result (ECMA-376 Part 1 §18.18.31
#: ST_CellErrorType, and Excel's later #SPILL!-style ones): a VLOOKUP that found nothing
#: (#N/A), a deleted reference (#REF!). Every reader gives such a cell as this text, as
#: does a CSV saved from the sheet; LibreOffice writes its own as ``Err:502``.
EXCEL_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
    "#EXTERNAL!", "#PYTHON!",
})
_LIBREOFFICE_ERROR = re.compile(r"ERR:\d{3}")  # matched upper-cased, as EXCEL_ERRORS


def shows_error(text: str) -> bool:
    """Whether a cell's text is a formula's error value (``EXCEL_ERRORS``), not data."""
    value = text.strip().upper()
    return value in EXCEL_ERRORS or _LIBREOFFICE_ERROR.fullmatch(value) is not None


#: A date in this range in a year, amount or count column is a number in a date format.
NUMBERS_SHOWN_AS_DATES = (dt.datetime(1900, 1, 1), dt.datetime(1910, 1, 1))


def _typed_number(value: dt.date) -> float | None:
    """The number a date cell holds, when it is one before 1910: a unit that types 2018
    into a cell formatted as a date (a template's column, the format painter) sees
    1905/7/10, and a spreadsheet reader gives that date, yet 2018 is what the file holds
    (Excel's serial day in the 1900 date system, as ``openpyxl.utils.datetime.to_excel``
    counts it, the inverse of ``xlsxpackage.from_excel``). Every year from 1900 to 2100
    and every fee up to 3,653 yuan falls before 1910; no date an application could mean
    does. Other dates: None (unreadable, quoted as written)."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    first, end = NUMBERS_SHOWN_AS_DATES
    if moment.tzinfo is not None or not first <= moment < end:
        return None  # a tz (ODS), or before Excel's day 1: no number shows as it
    delta = moment - WINDOWS_EPOCH
    days = delta.days
    if 0 < days <= 60:
        days -= 1  # Excel's 1900-02-29, a day that never was
    # the time of day as read, to the microsecond: 240.35 comes back as 240.35
    return round(days + (delta.seconds + delta.microseconds / 1e6) / 86400, 6)


def cell_amount(value: object) -> Decimal | None:
    """``parse_amount`` that tolerates whatever a spreadsheet library hands back."""
    if type(value) is int:
        # most amounts: never a date, bool or non-finite float (parse_amount's int case)
        return Decimal(value).quantize(CENT)
    return parse_amount(number_or_none(value))



def cell_int(value: object) -> int | None:
    """``parse_int`` that tolerates whatever a spreadsheet library hands back."""
    if type(value) is int:
        return value  # as parse_int gives it
    return parse_int(number_or_none(value))


def cell_year(value: object) -> int | None:
    """A 培训年度 cell as a year: ``cell_int``, and a date cell's year (a date format on
    the column: ``yyyy`` shows 2018 for 2018-01-01, and 2018-1 typed becomes that date);
    a number in a date format is the number (``_typed_number``)."""
    if type(value) is int:
        return value  # most years: as cell_int gives them
    if isinstance(value, dt.date) and _typed_number(value) is None:
        return value.year if value.year >= NUMBERS_SHOWN_AS_DATES[1].year else None
    year = cell_int(value)
    if year is None and isinstance(value, str):
        return _year_with_note(value)
    return year


# One 4-digit year, and around it only a note: no other digit (2017-2018, 2017年3月 are
# not one year), at most a few characters (a sentence is not a year cell).
_NOTED_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_NOTE_LENGTH = 12


def _year_with_note(text: str) -> int | None:
    """The year of a 培训年度 written with the note units add to tell 补训 lines apart:
    ``2017（补训）``, ``2017年补训``, ``补训2017`` -> 2017 (the note is kept in the line's
    ``year_raw``); None when the text is not one year and a short note."""
    text = normalize(text)
    found = _NOTED_YEAR.findall(text)
    if len(found) != 1 or len(text) > _NOTE_LENGTH:
        return None
    rest = text.replace(found[0], "", 1)
    return int(found[0]) if not any(c.isdigit() for c in rest) else None


def header_value(text: str) -> str:
    """A header value with line breaks and runs of spaces collapsed to one space."""
    return " ".join(text.split())


def _label_at(value: object) -> tuple[str, str | None] | None:
    """Only text cells can be labels (a number is never ``单位名称``)."""
    return split_label(value) if isinstance(value, str) else None


def find_header(rows: Iterable[tuple[int, Row]]) -> dict[str, str]:
    """Header fields by label: inline text after the label, else the next cell to the right.

    The value search stops at a cell that is itself a label, so an empty value next to
    ``所属区`` is '' rather than the text ``所属区``.  The first non-empty value of a
    label wins; a label seen only with empty values maps to ''.
    """
    header: dict[str, str] = {}
    for _, row in rows:
        for col, value in enumerate(row):
            found = _label_at(value)
            if found is None:
                continue
            key, inline = found
            text = inline or _value_right_of(row, col)
            if key not in header or (not header[key] and text):
                header[key] = header_value(text)
    return header


def _value_right_of(row: Row, col: int) -> str:
    for value in row[col + 1 :]:
        text = cell_text(value)
        if not text:
            continue
        if _label_at(value) is not None:
            return ""
        return text
    return ""

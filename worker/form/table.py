"""The trainee table: its header row, its lines and its 合计 row."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from worker.errors import FormUnreadable
from worker.form.cells import (
    Row,
    Sheet,
    cell_amount,
    cell_int,
    cell_text,
    cell_year,
    id_text,
    number_or_none,
    order_text,
    row_texts,
)
from worker.form.labels import (
    COLUMN_TITLES,
    REQUIRED_COLUMNS,
    column_key,
    is_column,
    is_note_text,
    is_total_text,
    remembered,
    split_label,
)
from worker.form.limits import FormLimits
from worker.form.model import Line
from worker.text import CENT, label_key, number_text, parse_amount, squash, unspaced

_TOTAL_PREFIX = re.compile(r"^(?:合计|总计)[:]?")
_COUNT_IN_TEXT = re.compile(r"(?:共|人数[:]?)?(\d+)(?:人|名)|人数[:]?(\d+)")
_AMOUNT_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)元|金额[:]?[¥￥]?(\d+(?:\.\d+)?)")
_BARE_COUNT = re.compile(r"共?(\d+)")


@dataclass
class TableHeader:
    """Where the trainee table's header row is and which column holds what."""

    index: int  # 0-based row index in Sheet.rows
    columns: dict[str, int]

    @property
    def missing(self) -> list[str]:
        return [key for key in REQUIRED_COLUMNS if key not in self.columns]


@dataclass
class Table:
    """The parsed table plus the row indexes it used (header search skips them)."""

    lines: list[Line] = field(default_factory=list)
    total_count: int | None = None
    total_amount: Decimal | None = None
    has_total_row: bool = False
    used: range = range(0)
    # 1-based rows holding a trainee below the empty row that ended the lines: not read
    # (SPEC 2.2: lines end at an empty row), never silently (LINES_BELOW_BLANK_ROW).
    below_blank: list[int] = field(default_factory=list)
    # 1-based rows holding a trainee that the sheet hides (an AutoFilter, rows hidden by
    # hand): the unit neither sees nor prints them, so they are not its lines, and never
    # dropped silently either (HIDDEN_ROWS).
    hidden: list[int] = field(default_factory=list)


def _columns(row: Row) -> dict[str, int]:
    columns: dict[str, int] = {}
    for col, value in enumerate(row):
        if isinstance(value, str):
            key = column_key(value)
            if key is not None and key not in columns:
                columns[key] = col
    return columns


def find_table_header(sheet: Sheet) -> tuple[TableHeader | None, TableHeader | None]:
    """``(complete, best_partial)``: the first full header row, else the closest miss.

    A partial header (姓名 plus at least two other columns) lets the error say which
    columns are missing instead of "no form found".
    """
    partial: TableHeader | None = None
    for index, row in enumerate(sheet.rows):
        if len(row) < 3:
            continue
        columns = _columns(row)
        if "name" not in columns:
            continue
        header = TableHeader(index, columns)
        if not header.missing:
            _merged_from(sheet, index - 1, header)  # 序号 merged down from the row above
            return header, None
        below = TableHeader(index + 1, dict(columns))
        _merged_from(sheet, index + 1, below)
        if not below.missing:  # titles over two rows, some cells merged down
            return below, None
        found = len(REQUIRED_COLUMNS) - len(header.missing)
        if found >= 3 and (partial is None or len(partial.missing) > len(header.missing)):
            partial = header
    return None, partial


def _merged_from(sheet: Sheet, index: int, header: TableHeader) -> None:
    """Add the titles the other row of a two-row header holds in columns this one has
    empty: a title merged over both rows (序号, 姓名) keeps its text in the upper
    cell only, the titles under a group title (缴费信息: 订单号 培训年度 金额) stand
    in the lower row."""
    if not 0 <= index < len(sheet.rows):
        return
    taken = set(header.columns.values())
    for key, col in _columns(sheet.rows[index]).items():
        if key not in header.columns and col not in taken:
            header.columns[key] = col


@dataclass(frozen=True)
class _Columns:
    """The table's column indexes, and how wide a row's texts are padded to reach them."""

    seq: int | None
    name: int
    id_number: int
    order_no: int
    year: int
    amount: int
    data: tuple[int, ...]  # the required columns
    width: int
    # The required columns' texts of a row's texts, as a tuple (one C call a row, where
    # a comprehension was a frame): ``filled`` counts them.
    data_texts: Callable[[list[str]], tuple[str, ...]]

    @classmethod
    def of(cls, columns: dict[str, int]) -> _Columns:
        data = tuple(columns[key] for key in REQUIRED_COLUMNS)
        # (itemgetter of one index gives the text, not a tuple: the registry requires five)
        return cls(columns.get("seq"), columns["name"], columns["id_number"], columns["order_no"],
                   columns["year"], columns["amount"], data, max(columns.values()) + 1,
                   itemgetter(*data) if len(data) > 1 else lambda texts: (texts[data[0]],))


def _line(row: Row, texts: list[str], index: int, cols: _Columns, position: int) -> Line:
    """The ``position``-th trainee line; ``texts``: the row's ``cell_text``s padded to
    ``cols.width`` (already normalised, so squashing one only drops its whitespace).

    A cell's common kinds are read inline, as the general function reads them (every
    call saved is saved on every line): an int 序号, 年度 or 金额 is ``cell_int``'s,
    ``cell_year``'s and ``cell_amount``'s int case, a text or int ID or 订单号 cell is
    its text as ``id_text`` and ``order_text`` give it, a one-word name is itself."""
    if len(row) < cols.width:
        row = (*row, *[None] * (cols.width - len(row)))
    seq = None if cols.seq is None else row[cols.seq]
    name = texts[cols.name]
    id_number, id_raw = row[cols.id_number], texts[cols.id_number]
    order_no, order_raw = row[cols.order_no], texts[cols.order_no]
    year, amount = row[cols.year], row[cols.amount]
    return Line(
        position,
        seq if type(seq) is int else cell_int(seq),
        name if name.isalnum() else unspaced(name),
        (id_raw if id_raw.isalnum() else number_text(id_raw)).upper()
        if type(id_number) is str or type(id_number) is int else id_text(id_number, id_raw),
        (order_raw if order_raw.isalnum() else number_text(order_raw))
        if type(order_no) is str or type(order_no) is int else order_text(order_no, order_raw),
        year if type(year) is int else cell_year(year),
        Decimal(amount).quantize(CENT) if type(amount) is int else cell_amount(amount),
        texts[cols.year],
        texts[cols.amount],
        index + 1,
    )


def _total(row: Row, amount_col: int, year_col: int
           ) -> tuple[int | None, Decimal | None]:
    """Count and amount from a 合计 row in any of the ways people write them.

    A bare number in the 培训年度 column is the year filled down one row too far (or a
    template repeating it), never the count: only a count or sum written as one
    (``2人``, ``300元``) is taken from there."""
    count: int | None = None
    amount: Decimal | None = None
    for col, value in enumerate(row):
        if isinstance(value, dt.date):  # a count or sum in a date format: its number
            value = number_or_none(value)
        text = squash(cell_text(value))
        if not text:
            continue
        if col == amount_col and amount is None:
            amount = cell_amount(value)
            if amount is not None:
                continue
        labelled = is_total_text(text)
        rest = _TOTAL_PREFIX.sub("", text) if labelled else text
        count_match = _COUNT_IN_TEXT.search(rest)
        amount_match = _AMOUNT_IN_TEXT.search(rest)
        if count is None and count_match:
            count = int(count_match.group(1) or count_match.group(2))
        if amount is None and amount_match:
            amount = parse_amount(amount_match.group(1) or amount_match.group(2))
        if count_match or amount_match or labelled or not rest or col == year_col:
            continue
        bare = _BARE_COUNT.fullmatch(rest)
        if bare and count is None:
            count = int(bare.group(1))
        elif not bare and amount is None:
            amount = cell_amount(value)
    return count, amount


_TOTAL = "total"
_SUBTOTAL = "subtotal"
_BELOW = "below"
_EXAMPLE = "example"
#: What a template's example line opens with (例 | 张三 | 1201…): never the unit's trainee.
_EXAMPLE_WORDS = frozenset({"例", "示例", "样例", "范例", "例如", "填写示例", "示例行"})
#: Empty rows in a row after which no 合计 row is looked for any more.
_EMPTY_RUN = 20


@remembered
def _ends_table(first: str) -> str | None:
    """What a row whose first text is ``first`` is to the table: its 合计 row
    (``_TOTAL``), something below it (``_BELOW``: a note, a header label), a row that is
    no trainee (``_SUBTOTAL``, ``_EXAMPLE``: the template's 示例 line), or None."""
    if is_total_text(first):
        return _TOTAL
    key = label_key(first)
    if key.startswith("小计"):
        return _SUBTOTAL
    if key in _EXAMPLE_WORDS:
        return _EXAMPLE
    if is_note_text(first) or split_label(first):
        return _BELOW
    return None


def parse_table(sheet: Sheet, header: TableHeader, limits: FormLimits) -> Table:
    """Lines until an empty row, a 合计/总计 row, a note, or a header label below the table.

    Rows with only 序号 (or 备注, 培训年度, 金额) filled, no trainee named on them, and
    小计 rows are gaps, not lines: the template has blank numbered rows, units fill
    年度/金额 down ahead and sum groups of trainees.  After a gap only a row with at
    least two filled trainee cells counts as a line, so stray text under the table is
    not taken for a trainee.  Past the empty row that ends the lines, trainee rows are
    not read but noted (``Table.below_blank``: LINES_BELOW_BLANK_ROW tells the unit),
    and looked over for the 合计 row (its count and sum are checked too).
    """
    cols = _Columns.of(header.columns)
    table = Table()
    in_gap = False
    ended = False
    past_end = False  # an empty row ended the lines; only the 合计 row is still wanted
    empty_run = 0
    last = header.index
    hidden = sheet.hidden_rows
    for index in range(header.index + 1, len(sheet.rows)):
        row = sheet.rows[index]
        texts = row_texts(row)  # each cell's text once per row
        if len(texts) < cols.width:
            texts.extend([""] * (cols.width - len(texts)))
        if hidden and index in hidden:
            # Not what the unit sees: neither a line, nor an empty row or a 合计 that ends
            # them; a trainee on it is named to the unit instead of being invoiced.
            if texts[cols.name] and (texts[cols.id_number] or texts[cols.order_no]) \
                    and not is_column(texts[cols.name], "name"):
                table.hidden.append(index + 1)
            continue
        first = next(filter(None, texts), "")
        if not first:
            ended = past_end = True
            empty_run += 1
            if empty_run >= _EMPTY_RUN:
                break
            continue
        empty_run = 0
        ends = _ends_table(first)
        if ends is _SUBTOTAL or ends is _EXAMPLE:
            in_gap = True  # a group's sum, the template's example line: not a trainee
            continue
        if ends is _TOTAL:
            last = index
            table.total_count, table.total_amount = _total(row, cols.amount, cols.year)
            table.has_total_row = True
            ended = True
            break
        if ends is _BELOW:
            ended = True
            break
        filled = len(cols.data) - cols.data_texts(texts).count("")
        if past_end:
            if is_column(texts[cols.name], "name") or not filled:
                continue  # the header again, a group title (补训): not a line
            if texts[cols.name] and (texts[cols.id_number] or texts[cols.order_no]):
                table.below_blank.append(index + 1)  # a trainee: left unread, but said
                continue
            break
        if not filled or not (texts[cols.name] or texts[cols.id_number] or texts[cols.order_no]):
            in_gap = True  # no one on it: a template row with 年度/金额 filled in ahead
            continue
        if is_column(texts[cols.name], "name"):
            continue  # the header repeated (e.g. on a second printed page)
        if in_gap and filled < 2:
            ended = True
            break
        in_gap = False
        last = index
        table.lines.append(_line(row, texts, index, cols, len(table.lines) + 1))
        if len(table.lines) > limits.max_lines:
            raise FormUnreadable(f"申请表人数过多（超过 {limits.max_lines} 人），请分成几份申请表分别发送")
    if not ended and sheet.truncated:
        raise FormUnreadable(f"附件中的表格过大（超过 {limits.max_rows} 行）")
    table.used = range(header.index, last + 1)  # rows below it may hold header labels
    return table


def missing_columns_detail(header: TableHeader) -> str:
    """The user-facing detail for a trainee table that lacks columns."""
    names = "".join(f"“{COLUMN_TITLES[key]}”" for key in header.missing)
    return f"申请表的学员表格缺少{names}列，请使用标准申请表"

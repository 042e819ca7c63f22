"""A form pasted into the mail body: an HTML table (webmail and Outlook paste Excel cells
as ``<table>``) or tab-separated lines (the same cells pasted into a plain-text mail).

The cells become one ``Sheet`` that ``build_form`` reads like an attached workbook:
labels and the trainee table are found by their titles, wherever they are.
"""

from __future__ import annotations

from html.parser import HTMLParser

from worker.form.cells import Row, Sheet, trim
from worker.form.limits import FormLimits

BODY_SHEET = "邮件正文"


class _TableCells(HTMLParser):
    """Rows of ``<td>``/``<th>`` text, tables flattened in document order, bounded."""

    def __init__(self, limits: FormLimits) -> None:
        super().__init__(convert_charrefs=True)
        self.limits = limits
        self.rows: list[Row] = []
        self._row: list[object] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._rowspan = 1
        self._skip = 0  # inside <script>/<style>
        # A cell merged down (rowspan) is absent from the rows below it in HTML, where a
        # workbook keeps its place empty: column -> rows below it still covers.
        self._down: dict[int, int] = {}
        self._covered: set[int] = set()

    def _start_row(self) -> list[object]:
        self._row = []
        self._covered = set(self._down)
        self._down = {col: rows - 1 for col, rows in self._down.items() if rows > 1}
        return self._row

    def _end_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            if len(self._row) < self.limits.max_cols:
                start = len(self._row)
                self._row.append(text or None)
                self._row.extend([None] * min(self._span - 1, self.limits.max_cols))
                if self._rowspan > 1:
                    for col in range(start, min(len(self._row), self.limits.max_cols)):
                        self._down[col] = self._rowspan - 1
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._row is not None and len(self.rows) < self.limits.max_rows:
            self.rows.append(trim(self._row[: self.limits.max_cols]))
        self._row = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._end_row()  # a table inside a cell: its rows stand on their own
            self._down = {}
            if self.rows and self.rows[-1]:
                self.rows.append(())
        elif tag == "tr":
            self._end_row()
            self._start_row()
        elif tag in ("td", "th"):
            self._end_cell()
            row = self._row if self._row is not None else self._start_row()
            while len(row) in self._covered and len(row) < self.limits.max_cols:
                row.append(None)
            values = dict(attrs)
            self._span = _span(values.get("colspan"))
            self._rowspan = _span(values.get("rowspan"))
            self._cell = []
        elif tag in ("br", "p", "div") and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def _span(value: str | None) -> int:
    """A colspan/rowspan: 1 to 50, 1 when absent or not a number."""
    span = value or "1"
    return max(1, min(int(span), 50)) if span.isascii() and span.isdigit() else 1


def html_table_sheet(markup: str, limits: FormLimits) -> Sheet | None:
    """The cells of every table in ``markup`` as one sheet; None when it has no table."""
    if "<t" not in markup.lower():
        return None
    parser = _TableCells(limits)
    parser.feed(markup)
    parser.close()
    parser._end_row()
    rows = parser.rows
    if not any(rows):
        return None
    return Sheet(BODY_SHEET, rows, truncated=len(rows) >= limits.max_rows)


def tab_text_sheet(text: str, limits: FormLimits) -> Sheet | None:
    """Tab-separated lines (cells pasted into a plain-text mail) as a sheet, or None."""
    lines = text.splitlines()[: limits.max_rows]
    if sum(1 for line in lines if line.count("\t") >= 2) < 2:
        return None
    rows: list[Row] = [
        trim([cell.strip() or None for cell in line.split("\t")][: limits.max_cols])
        for line in lines
    ]
    return Sheet(BODY_SHEET, rows)

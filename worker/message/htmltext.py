"""HTML bodies to plain text (recipient lines, the console's view of the body)."""

from __future__ import annotations

import html as htmllib
import re

_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|title)\b[^<>]*>.*?(?:</\1\s*>|\Z)|<[^<>]*>",
    re.DOTALL | re.IGNORECASE,
)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)")
_BLOCK_TAGS = frozenset({
    "br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "pre", "section", "article", "header", "footer", "center", "dd", "dt", "dl",
})
_CELL_TAGS = frozenset({"td", "th"})
_TABLE_TAGS = frozenset({"tr", "table"})
_CELL_FRESH, _CELL_TEXT, _CELL_BREAK = "fresh", "text", "break"


_BLANKS = re.compile(r"[ \t\r\n\f\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(markup: str) -> str:
    """HTML body -> plain text: blocks become lines, blockquote lines get ``> ``.

    Regex tokenising (each ``<`` looked at once) keeps it linear on huge or broken HTML.
    """
    out: list[str] = []
    depth = 0
    line_start = True
    # Inside a table cell a block breaks the line only between texts of that cell:
    # Word, WPS and Outlook wrap each cell's text in <p>, and a row 收件人 | 张三 stays
    # one line as the table shows it.  None: not in a cell.
    cell: str | None = None

    def emit(text: str) -> None:
        nonlocal line_start, cell
        text = _BLANKS.sub(" ", htmllib.unescape(text))
        if cell is not None and text.strip():
            if cell == _CELL_BREAK:
                newline()
            cell = _CELL_TEXT
        if line_start:
            text = text.lstrip()
            if not text:
                return
            if depth:
                out.append("> ")
        out.append(text)
        line_start = False

    def newline() -> None:
        nonlocal line_start
        out.append("\n")
        line_start = True

    pos = 0
    for match in _HTML_TOKEN.finditer(markup):
        if match.start() > pos:
            emit(markup[pos:match.start()])
        pos = match.end()
        tag = _TAG_NAME.match(match.group(0))
        if tag is None:
            continue
        closing, name = tag.group(1), tag.group(2).lower()
        if name == "blockquote":
            cell = None
            newline()
            depth = max(0, depth + (-1 if closing else 1))
        elif name in _CELL_TAGS:
            cell = None if closing else _CELL_FRESH
            if closing:
                out.append(" ")
        elif cell is not None and name not in _TABLE_TAGS:
            if cell == _CELL_TEXT:
                cell = _CELL_BREAK
        elif name in _BLOCK_TAGS:
            cell = None
            newline()
    if pos < len(markup):
        emit(markup[pos:])
    lines = (line.rstrip() for line in "".join(out).split("\n"))
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()

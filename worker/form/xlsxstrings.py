"""Text cells whose XML calamine and openpyxl turn into different strings.

Both read ``<t>`` elements (a run's text, phonetic runs skipped), but calamine trims
spaces and line breaks around a ``<t>`` without ``xml:space="preserve"`` and decodes
``_x000D_``-style escapes, while openpyxl keeps both as written (removing only
``x005F_`` from shared strings: ``openpyxl.reader.strings.read_string_table``), and an
empty string is "" to openpyxl but cannot be told from an empty cell in calamine's
output.  Excel writes such XML when a cell holds a carriage return; most forms have
none, so ``needs_exact`` (one C-speed regex search) decides whether a sheet's text
cells are read again here, with defusedxml and openpyxl's rules
(``openpyxl.cell.text.Text.content``, ``WorkSheetParser.parse_cell``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from worker.form.xmlscan import pair, prefixed

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
_ESCAPE = re.compile(rb"_x[0-9A-Fa-f]{4}_")
# An empty <t>, one whose text starts or ends with a space or line break, an <si>/<is>
# without any <t>.
_SPACED = pair(rb"<(?:{P}t(?:\s[^>]*)?(?:/>|>(?:[ \t\r\n]|</))"
               rb"|/(?<=[ \t\r\n]</){P}t\s*>"
               rb"|{P}(?:si|is)\s*(?:/>|>\s*</))")
# The same for unprefixed parts (nearly all), one branch at a time, each only where a
# C-speed ``in`` (a memchr for one byte) or count says it can match: a regex search
# costs some 5 to 15 instructions per byte of the part, a memchr a fraction of one, and
# a form's sheet has neither '_' nor '&' nor '!' (escapes, character references, CDATA),
# never an <si>, and each <is> followed by its <t>.
_T_SPACED = re.compile(rb"<t(?:\s[^>]*)?(?:/>|>(?:[ \t\r\n]|</))")
_T_END_SPACED = re.compile(rb"</t(?<=[ \t\r\n]</t)\s*>")
_SI_EMPTY = re.compile(rb"<si\s*(?:/>|>\s*</)")
_IS_EMPTY = re.compile(rb"<is\s*(?:/>|>\s*</)")
_SST_TAG = re.compile(rb"<" + _P + rb"sst(?=[\s/>])[^>]*>")
_COUNT = re.compile(rb"\s(?:uniqueCount|count)\s*=\s*[\"'](\d+)[\"']")
_STRING_CELL = pair(rb"<{P}c\s[^>]*?(?<=\s)t\s*=\s*[\"'](?:s|str|inlineStr)[\"']")
_REF = re.compile(r"([A-Z]+)(\d+)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def differs(xml: bytes, named: bool | None = None) -> bool:
    """Whether this part's strings may read differently in calamine than in openpyxl.
    ``named``: whether elements may carry namespace prefixes (None: look)."""
    if not (prefixed(xml) if named is None else named):
        return _plain_differs(xml)
    if b"x005F_" in xml or b"&#" in xml or b"<![CDATA[" in xml:
        return True
    if b"_x" in xml and _ESCAPE.search(xml) is not None:
        return True
    return _SPACED[1].search(xml) is not None


def _plain_differs(xml: bytes) -> bool:
    """``differs`` for a part whose elements carry no prefix."""
    if b"_" in xml and (b"x005F_" in xml or _ESCAPE.search(xml) is not None):
        return True
    if (b"&" in xml and b"&#" in xml) or (b"!" in xml and b"<![CDATA[" in xml):
        return True
    if b"<si" in xml and _SI_EMPTY.search(xml) is not None:
        return True
    # an <is> followed by <t> cannot start a match: only count them when another is there
    if xml.count(b"<is") != xml.count(b"<is><t") and _IS_EMPTY.search(xml) is not None:
        return True
    return _T_SPACED.search(xml) is not None or _T_END_SPACED.search(xml) is not None


def sheet_differs(xml: bytes, named: bool) -> bool:
    """``differs`` for a sheet's own text cells: inline strings (formula results are
    ``<v>`` texts, read alike but for CDATA, which ``differs`` looks for)."""
    return (b"inlineStr" in xml or b"<![CDATA[" in xml) and differs(xml, named)


def bound_strings(xml: bytes, limit: int) -> bytes:
    """The shared-string part without a ``uniqueCount``/``count`` above ``limit``.

    calamine reserves room for ``uniqueCount`` strings before reading one: a 7 KB file
    saying ``uniqueCount="100000000000"`` makes the allocation fail, which aborts the
    whole process.  ``xmlscan`` has already bounded the real number of strings.
    """
    tag = _SST_TAG.search(xml)
    if tag is None:
        return xml
    fixed = _COUNT.sub(lambda m: m.group(0) if int(m.group(1)) <= limit else b"", tag.group(0))
    return xml if fixed == tag.group(0) else xml[: tag.start()] + fixed + xml[tag.end():]


def has_string_cells(xml: bytes, named: bool = True) -> bool:
    """Whether a sheet has shared-string, inline-string or formula-string cells.
    ``named``: whether elements may carry namespace prefixes."""
    return _STRING_CELL[named].search(xml) is not None


def text_content(node: object) -> str:
    """openpyxl's ``Text.content`` of an ``<si>`` or ``<is>``: its ``<t>``, then its
    runs' ``<t>`` (phonetic runs and properties ignored)."""
    plain: str | None = None
    runs: list[str] = []
    for child in node:  # type: ignore[attr-defined]
        tag = _local(child.tag)
        if tag == "t":
            plain = child.text
        elif tag == "r":
            text = None
            for part in child:
                if _local(part.tag) == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return (plain or "") + "".join(runs)


def shared_strings(xml: bytes) -> list[str]:
    """The shared-string table as openpyxl's ``read_string_table`` gave it."""
    from defusedxml.ElementTree import iterparse

    strings = []
    for _, node in iterparse(io.BytesIO(xml)):
        if _local(node.tag) == "si":
            strings.append(text_content(node).replace("x005F_", ""))
            node.clear()
    return strings


def string_values(xml: bytes, strings: list[str] | None) -> Iterator[tuple[int, int, object]]:
    """(row, column, value), 0-based, of the sheet's text cells as openpyxl read them;
    shared-string cells only when ``strings`` (openpyxl's table) is given.

    Needs every cell to carry its reference.  Raises ValueError/IndexError where openpyxl
    raised (a bad string index), and whatever defusedxml raises.
    """
    from defusedxml.ElementTree import iterparse

    for _, node in iterparse(io.BytesIO(xml)):
        if _local(node.tag) != "c":
            continue
        kind = node.get("t", "n")
        ref = _REF.fullmatch(node.get("r") or "")
        if kind in ("s", "str", "inlineStr") and ref and (kind != "s" or strings is not None):
            value: object = None
            if kind == "inlineStr":
                inline = next((child for child in node if _local(child.tag) == "is"), None)
                value = text_content(inline) if inline is not None else None
            else:
                found = next((child for child in node if _local(child.tag) == "v"), None)
                value = (found.text if found is not None else None) or None
                if kind == "s" and value is not None and strings is not None:
                    value = strings[int(value)]
            column = 0
            for byte in ref.group(1):
                column = column * 26 + ord(byte) - 64
            yield int(ref.group(2)) - 1, column - 1, value
        node.clear()

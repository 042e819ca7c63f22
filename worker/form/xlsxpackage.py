"""What an .xlsx says about its sheets and numbers outside the cells themselves.

python-calamine gives cell values, but not the facts the form's cell values have always
been derived from (openpyxl's rules, which the parser and its tests were written
against): which part holds which sheet, whether the workbook counts dates from 1904,
and which cell styles make a number a date.  These small parts (``_rels/.rels``, the
workbook, its relationships, ``xl/styles.xml``) are read here with defusedxml after
``check_zip`` has vetted the archive.

The number-format rules are openpyxl 3.1.5's (``openpyxl.styles.numbers``,
``openpyxl.styles.stylesheet.Stylesheet._normalise_numbers``,
``openpyxl.utils.datetime.from_excel``), ported so that reading a form does not import
openpyxl (174 ms and 16 MB the first time); tests/form/test_xlsx_values.py checks them
against openpyxl itself.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from worker.form.zipmember import read_member

OFFICE_DOCUMENT = "officeDocument"
#: openpyxl reads the stylesheet from this fixed path (``openpyxl.xml.constants.ARC_STYLE``).
STYLES_PART = "xl/styles.xml"

WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
MAC_EPOCH = dt.datetime(1904, 1, 1)

#: Built-in number formats (ECMA-376 part 1, 18.8.30) that openpyxl's ``is_date_format``
#: calls dates, and those of them its ``is_timedelta_format`` calls durations.
BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
BUILTIN_TIMEDELTA_FORMATS = frozenset({46})

# openpyxl.styles.numbers: quoted text and [...] groups other than [h] [mm] [ss] are not
# date parts; a d/m/h/y/s not escaped by \ or _ is.
_STRIP = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_PART = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_TIMEDELTA = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def is_date_format(fmt: str | None) -> bool:
    """openpyxl's ``is_date_format``: the first section has a date or time part."""
    if fmt is None:
        return False
    return _DATE_PART.search(_STRIP.sub("", fmt.split(";")[0])) is not None


def is_timedelta_format(fmt: str | None) -> bool:
    """openpyxl's ``is_timedelta_format``: the first section has [h], [mm] or [ss]."""
    return fmt is not None and _TIMEDELTA.search(fmt.split(";")[0]) is not None


def from_excel(value: float, epoch: dt.datetime, timedelta: bool = False) -> object:
    """openpyxl's ``from_excel``: a serial as datetime, time (below 1) or timedelta.

    Milliseconds are rounded; serials below 60 get the 1900 leap-year bug's extra day.
    Raises OverflowError/ValueError for serials outside Python's dates.
    """
    if timedelta:
        td = dt.timedelta(days=value)
        if td.microseconds:
            td = dt.timedelta(seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3))
        return td
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * 86400 * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return dt.time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == WINDOWS_EPOCH:
        day += 1
    return epoch + dt.timedelta(days=day) + diff


@dataclass(frozen=True)
class SheetPart:
    """One ``<sheet>`` of the workbook: its name, zip member and visibility."""

    name: str
    part: str
    hidden: bool
    chart: bool  # a chartsheet: counted as a sheet, holds no cells


@dataclass
class Package:
    """The workbook-level facts cell values depend on."""

    sheets: list[SheetPart] = field(default_factory=list)
    epoch: dt.datetime = WINDOWS_EPOCH
    date_styles: frozenset[int] = frozenset()  # cell style (xf) indexes that hold dates
    timedelta_styles: frozenset[int] = frozenset()
    whole_styles: frozenset[int] = frozenset()  # a number shown whole: ``0``, ``0_ `` (数值, 0 位小数)
    shared_strings: str | None = None  # the member calamine reads them from
    strict: bool = False  # written in ISO/IEC 29500 Strict namespaces


_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
_START = re.compile(rb"<" + _P + rb"([A-Za-z_][\w.\-]*)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"([\w:.\-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REFERENCE = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#(\d+)|(lt|gt|amp|quot|apos));")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
STRICT_MAIN = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
# The elements (and attributes) each part is read for.
_RELATIONSHIP = {"Relationship": ("Id", "Type", "Target")}
_WORKBOOK = {"workbookPr": ("date1904",), "sheet": ("name", "state", "id")}


def _unescape(raw: bytes) -> str:
    """An attribute value as an XML parser gives it (XML 1.0, 3.3.3: literal tabs and
    line breaks become spaces; character and the five predefined entity references)."""
    text = raw.decode().replace("\r\n", " ").translate({9: 32, 10: 32, 13: 32})
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else
                          chr(int(m.group(2))) if m.group(2) else _ENTITIES[m.group(3)], text)


@cache
def _tags(names: tuple[str, ...]) -> re.Pattern[bytes]:
    return re.compile(rb"<" + _P + rb"(" + "|".join(names).encode() + rb")(?=[\s/>])([^>]*)>")


def _elements(xml: bytes, wanted: dict[str, tuple[str, ...]]) -> list[tuple[str, dict[str, str]]]:
    """(local name, wanted attributes by local name) of the start tags named in
    ``wanted``, in document order.

    A regex pass: these parts are small, flat and machine-written; one holding a comment
    or CDATA, where a tag-like text could hide, goes through the C XML parser instead
    (xmlscan has refused DTDs, and this refuses them again in case it did not run).
    """
    if _DTD.search(xml):
        from defusedxml import DTDForbidden

        raise DTDForbidden(None, None, None)
    if b"<!--" in xml or b"<![CDATA[" in xml:
        from xml.etree.ElementTree import fromstring  # noqa: S405 (no DTD: refused above)

        found = ((_local(e.tag), {_local(k): v for k, v in e.attrib.items()})
                 for e in fromstring(xml).iter())  # noqa: S314
        return [(tag, {k: v for k, v in attrs.items() if k in wanted[tag]})
                for tag, attrs in found if tag in wanted]
    out = []
    for tag in _tags(tuple(wanted)).finditer(xml):
        name = tag.group(1).decode()
        attrs = {}
        for key, double, single in _ATTR.findall(tag.group(2)) if wanted[name] else ():
            local = key.rsplit(b":", 1)[-1].decode()
            if local in wanted[name]:
                attrs[local] = _unescape(double if double or not single else single)
        out.append((name, attrs))
    return out


# A program writes the same workbook, relationship and style parts into every file it
# saves from one template: parts up to this size are read once, keyed by their bytes.
_REMEMBERED_SIZE = 64 * 1024


@lru_cache(maxsize=32)
def _remembered(xml: bytes, wanted: str) -> tuple[tuple[str, dict[str, str]], ...]:
    return tuple(_elements(xml, _WANTED[wanted]))


def _elements_of(xml: bytes, wanted: str) -> Sequence[tuple[str, dict[str, str]]]:
    """``_elements`` by the name of what is wanted, the same answer for the same bytes
    (shared between calls: callers only read it)."""
    if len(xml) <= _REMEMBERED_SIZE:
        return _remembered(xml, wanted)
    return _elements(xml, _WANTED[wanted])


_Styles = tuple[frozenset[int], frozenset[int], frozenset[int]]


@lru_cache(maxsize=32)
def _remembered_styles(xml: bytes) -> _Styles:
    return _date_styles(_elements(xml, _STYLES))


def _styles_of(xml: bytes) -> _Styles:
    """``_date_styles`` of a stylesheet part, remembered for small parts."""
    if len(xml) <= _REMEMBERED_SIZE:
        return _remembered_styles(xml)
    return _date_styles(_elements(xml, _STYLES))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _member(names: dict[str, str], path: str) -> str | None:
    """The archive's own spelling of ``path`` (Windows tools write \\ and odd cases)."""
    return names.get(path.replace("\\", "/").lstrip("/").lower())


class _Parts:
    """Members by name, inflated once (the scan's copies when it kept them)."""

    def __init__(self, archive: zipfile.ZipFile, parts: dict[str, bytes]) -> None:
        self.archive, self.parts = archive, parts
        self.names = {i.filename.replace("\\", "/").lower(): i.filename for i in archive.infolist()}

    def read(self, member: str) -> bytes:
        found = self.parts.get(member)
        return found if found is not None else read_member(self.archive, self.archive.getinfo(member))

    def relationships(self, part: str) -> Mapping[str, tuple[str, str]]:
        """Id -> (type, member path) from the part's ``_rels`` (ECMA-376 part 2, 9.3);
        shared between calls for a small part: read it, do not change it."""
        folder, base = posixpath.split(part)
        rels = _member(self.names, posixpath.join(folder, "_rels", base + ".rels"))
        if not rels:
            return {}
        xml = self.read(rels)
        if len(xml) <= _REMEMBERED_SIZE:
            return _remembered_targets(folder, xml)
        return _targets(folder, xml)


def _targets(folder: str, xml: bytes) -> dict[str, tuple[str, str]]:
    """Id -> (type, member path) of a ``_rels`` part of a part in ``folder``."""
    found: dict[str, tuple[str, str]] = {}
    for tag, attrs in _elements_of(xml, "relationship"):
        target, rel_id = attrs.get("Target"), attrs.get("Id")
        if tag == "Relationship" and target and rel_id:
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found[rel_id] = (attrs.get("Type") or "", posixpath.normpath(path))
    return found


# The same relationships part, in the same folder, in every form from one program: its
# targets are worked out once (paths joined and normalised), shared between calls, which
# only read them.
_remembered_targets = lru_cache(maxsize=32)(_targets)


def read_package(archive: zipfile.ZipFile, parts: dict[str, bytes] | None = None) -> Package:
    """Sheets, date system and date styles, as openpyxl found them.

    openpyxl's ``ExcelReader`` rules: the workbook part is the package's officeDocument;
    a ``<sheet>`` without a relationship or whose part is missing is skipped; ``state``
    other than visible hides a sheet; ``date1904`` is a boolean where ``false``, ``f``
    and ``0`` are false.  ``parts``: members already inflated, by name.  Raises
    KeyError for a missing workbook, ValueError (or defusedxml's DTDForbidden) for a
    malformed part.
    """
    files = _Parts(archive, parts or {})
    workbook = "xl/workbook.xml"
    for rel_type, path in files.relationships("").values():
        if rel_type.endswith("/" + OFFICE_DOCUMENT):
            workbook = path
    member = _member(files.names, workbook)
    if member is None:
        raise KeyError(workbook)
    xml = files.read(member)
    rels = files.relationships(workbook)
    package = Package(strict=STRICT_MAIN in xml)
    for tag, attrs in _elements_of(xml, "workbook"):
        if tag == "workbookPr":
            flag = attrs.get("date1904")
            if flag and flag not in ("false", "f", "0"):
                package.epoch = MAC_EPOCH
        elif tag == "sheet":
            rel = rels.get(attrs.get("id") or "")
            part = _member(files.names, rel[1]) if rel else None
            if rel is None or part is None:
                continue
            hidden = (attrs.get("state") or "visible") != "visible"
            package.sheets.append(SheetPart(attrs.get("name") or "", part, hidden, "chartsheet" in rel[0]))
    # calamine's rule: sharedStrings.xml next to the workbook part
    package.shared_strings = _member(files.names, posixpath.join(posixpath.dirname(workbook),
                                                                 "sharedStrings.xml"))
    styles = _member(files.names, STYLES_PART)
    if styles is not None:
        package.date_styles, package.timedelta_styles, package.whole_styles = _styles_of(
            files.read(styles))
    return package


#: The children of ``<styleSheet>`` (ECMA-376 part 1, 18.8.39): an ``xf`` counts only
#: inside ``cellXfs``, a ``numFmt`` only inside ``numFmts`` (``dxfs`` have their own).
_STYLESHEET_PARTS = frozenset({"numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs",
                               "cellStyles", "dxfs", "tableStyles", "colors", "extLst"})
_STYLES = {name: () for name in _STYLESHEET_PARTS} | {"numFmt": ("numFmtId", "formatCode"),
                                                      "xf": ("numFmtId",)}
_WANTED = {"relationship": _RELATIONSHIP, "workbook": _WORKBOOK}


def _date_styles(elements: list[tuple[str, dict[str, str]]]) -> _Styles:
    """Indexes of ``cellXfs`` entries whose number format is a date, a duration, or a
    whole number without exponent (built-in 1, ``0``; a code ``0`` or ``0_ ``, what
    Excel's and WPS's 数值 with 0 decimals writes): what the sheet shows for such a cell.

    openpyxl's ``Stylesheet._normalise_numbers``: a ``numFmtId`` defined in ``numFmts``
    uses that format code, any other the built-in one.
    """
    custom: dict[int, str | None] = {}
    styles: list[int] = []
    section = ""
    for tag, attrs in elements:
        if tag in _STYLESHEET_PARTS:
            section = tag
            if tag == "cellXfs":
                styles = []
        elif tag == "numFmt" and section == "numFmts":
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode")
        elif tag == "xf" and section == "cellXfs":
            styles.append(int(attrs.get("numFmtId") or 0))
    dates, durations, wholes = set(), set(), set()
    for index, fmt_id in enumerate(styles):
        if fmt_id in custom:
            code = custom[fmt_id]
            date, duration = is_date_format(code), is_timedelta_format(code)
            whole = code is not None and _WHOLE.fullmatch(code.split(";", 1)[0]) is not None
        else:
            date, duration = fmt_id in BUILTIN_DATE_FORMATS, fmt_id in BUILTIN_TIMEDELTA_FORMATS
            whole = fmt_id == 1
        if date:
            dates.add(index)
        if duration:
            durations.add(index)
        if whole:
            wholes.add(index)
    return frozenset(dates), frozenset(durations), frozenset(wholes)


#: A number format's first section that shows a number whole, all its digits: ``0``, and
#: ``0_ `` / ``0_)`` (a space the width of a character after it, for alignment).
_WHOLE = re.compile(r"0(?:_.)?")

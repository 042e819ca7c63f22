"""Reading a form saved as ``.csv`` (Excel/WPS "CSV (逗号分隔)": GBK on Chinese Windows,
UTF-8 with a BOM from newer Excel; commas, or tabs and semicolons from other tools)."""

from __future__ import annotations

import csv
import io

from worker.errors import FormUnreadable
from worker.form.cells import Row, Sheet, trim
from worker.form.limits import FormLimits

_DELIMITERS = ",\t;"


# Byte-order marks and the encodings they announce: Excel's "Unicode text" is UTF-16,
# and a GB18030 file may open with GB18030's own mark.
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
         (b"\x84\x31\x95\x33", "gb18030"))


def decode_text(data: bytes) -> str:
    """Text of a CSV or tab-separated file, without its byte-order mark: the encoding
    its mark names, else UTF-8, else GB18030 (which every GBK file is)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def read_csv(data: bytes, limits: FormLimits) -> list[Sheet]:
    """The file's rows as one sheet, bounded to max_rows x max_cols."""
    text = decode_text(data)
    if "\x00" in text:
        raise FormUnreadable("附件不是文本格式的 CSV 文件，无法读取")
    sample = text[:4096]
    delimiter = max(_DELIMITERS, key=sample.count) if any(d in sample for d in _DELIMITERS) else ","
    rows: list[Row] = []
    truncated = False
    try:
        for record in csv.reader(io.StringIO(text), delimiter=delimiter):
            if len(rows) >= limits.max_rows:
                truncated = True
                break
            rows.append(trim([cell.strip() or None for cell in record[: limits.max_cols]]))
    except csv.Error as e:
        raise FormUnreadable("附件 CSV 文件格式有误，无法读取") from e
    return [Sheet("CSV", rows, truncated)]

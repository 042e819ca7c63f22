"""Cheap pre-checks in the reading path answer exactly as the patterns they skip."""

from __future__ import annotations

import pytest

from worker.form.xmlscan import prefixed
from worker.text import SPACES, normalize, squash, unspaced


@pytest.mark.parametrize("text", [
    "", "张三", "TJ201804020000055", "12010419951023726X", "张 三", "张\u3000三", "张\u00a0三",
    " 张三 ", "a\tb\nc", "x\u2003y", "x\u1680y", "x\x1cy", "x\x85y", "1,500", "李-四", "Ⅻ", "²",
])
def test_unspaced_drops_what_the_whitespace_pattern_drops(text: str) -> None:
    """The isalnum shortcut never keeps a character SPACES would drop."""
    assert unspaced(text) == SPACES.sub("", text)
    assert squash(text) == SPACES.sub("", normalize(text))


@pytest.mark.parametrize(("xml", "start", "stop", "expected"), [
    (b'<worksheet xmlns="http://x"><sheetData><row r="1"/></sheetData></worksheet>', 0, None, False),
    (b'<x:worksheet xmlns:x="http://x"><x:sheetData/></x:worksheet>', 0, None, True),
    (b'<worksheet xmlns:x="http://x"><sheetData><row r="1"/></sheetData></worksheet>', 40, 60, False),
    (b"<sheetData><c><t>10:30</t></c></sheetData>", 0, None, False),
    (b"<sheetData><c><x:t>a</x:t></c></sheetData>", 0, None, True),
    (b"<sheetData><c><x:t>a</x:t></c></sheetData>", 0, 15, False),
])
def test_prefixed_answers_as_its_pattern(xml: bytes, start: int, stop: int | None, expected: bool) -> None:
    """A colon is looked for first; the pattern still decides when there is one."""
    assert prefixed(xml, start, stop) is expected

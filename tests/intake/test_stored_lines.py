"""Intake's lines as stored: ``stored_lines`` given their texts (cut by
``worker.intake.record``) stores what ``as_stored_all`` makes of them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from worker.db.types import as_stored_all
from worker.intake.write import _TEXT, LINES, stored_lines


def _lines(names: list[Any]) -> list[dict[str, Any]]:
    return [dict(position=i, row=i + 5, seq=i + 1, year=2018, amount=Decimal("150.00"),
                 name=name, id_number="11010119900307777x", order_no=f"O{i}",
                 year_raw="2018", amount_raw="150") for i, name in enumerate(names)]


@pytest.mark.parametrize("names", [
    ["张三", "李四"],                      # kept as they are
    ["张三", "a\x00b"],                     # one text needs cleaning
    ["ends\ud83d", "\ude00starts"],         # lone halves of a pair, in two lines
    ["长" * 100, "王五"],                   # at its column's length
])
def test_lines_given_their_texts_are_stored_as_as_stored_all_stores_them(
        names: list[Any]) -> None:
    keys = [key for key, _ in _TEXT[LINES]]
    lines = _lines(names)
    texts = [line[key] for line in lines for key in keys]
    expected = [dict(line, dropped=False) for line in as_stored_all(_lines(names), _TEXT[LINES])]
    stored = stored_lines(lines, texts)
    assert stored == expected == stored_lines(_lines(names))
    assert all(type(s[k]) is type(e[k]) for s, e in zip(stored, expected, strict=True) for k in s)

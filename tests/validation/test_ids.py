"""``is_valid_id_number`` reads the birth date without stdnum's ``compact``: it must
answer exactly as ``ric.get_birth_date`` plus the check digit did, odd input included."""

from __future__ import annotations

import pytest
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from worker.samples import id_number
from worker.validation.ids import is_valid_id_number


def _with_stdnum(value: str) -> bool:
    """The check as it was written with ``ric.get_birth_date``."""
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return number[-1] == ric.calc_check_digit(number)


GOOD = id_number("120222", "19800229", 7)
CASES = [
    GOOD, GOOD.lower(), f"  {GOOD}\t", GOOD[:-1], GOOD + "1", "",
    id_number("120101", "19000101", 1), id_number("120101", "20991231", 2),
    GOOD[:6] + "19810229" + GOOD[14:],   # no 29 February in 1981
    GOOD[:6] + "19801301" + GOOD[14:],   # month 13
    GOOD[:6] + "19800100" + GOOD[14:],   # day 0
    GOOD[:6] + "00000101" + GOOD[14:],   # year 0
    GOOD.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width
    GOOD.translate(str.maketrans("0123456789", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")),
    GOOD.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
    GOOD[:-1] + "\u2003", GOOD[:-1] + "－", GOOD[:-1] + "x", GOOD[:-1] + "Y",
    GOOD[:17] + "-" + GOOD[17:],
]


@pytest.mark.parametrize("value", CASES)
def test_same_answer_as_stdnum(value: str) -> None:
    assert is_valid_id_number(value) is _with_stdnum(value)


def test_accepts_a_valid_number() -> None:
    assert is_valid_id_number(GOOD)


def test_a_digit_int_cannot_read_is_invalid_not_a_crash() -> None:
    """'²' and U+10A40 are digits to str.isdigit but not to int() (the stdnum path
    raised ValueError, which stopped the whole intake pass): now simply invalid."""
    for odd in (GOOD[:8] + "²" + GOOD[9:], GOOD[:15] + "\U00010A40" + GOOD[16:]):
        with pytest.raises(ValueError):
            _with_stdnum(odd)
        assert is_valid_id_number(odd) is False

"""Identity numbers as GB 11643 defines them, tax IDs as GB 32100 does.

stdnum's ``ric.validate`` also checks the region code against its own table of
historical codes; real IDs carry codes issued where people registered, which that
table misses (e.g. 120222, the old 武清县). So: length, digits, birth date and the
check digit, as the standard says, and nothing stricter.
"""

from __future__ import annotations

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError


def is_valid_id_number(value: str) -> bool:
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return number[-1] == ric.calc_check_digit(number)


def is_valid_tax_id(value: str) -> bool:
    return uscc.is_valid(value.strip().upper())

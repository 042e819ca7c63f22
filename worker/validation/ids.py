"""Identity numbers as GB 11643 defines them, tax IDs as GB 32100 does.

stdnum's ``ric.validate`` also checks the region code against its own table of
historical codes; real IDs carry codes issued where people registered, which that
table misses (e.g. 120222, the old 武清县). So: length, digits, birth date and the
check digit, as the standard says, and nothing stricter.
"""

from __future__ import annotations

from datetime import date

from stdnum.cn import uscc


def is_valid_id_number(value: str) -> bool:
    number = value.strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    # The birth date as stdnum's ``ric.get_birth_date`` reads it (digits 7-14), without
    # its ``compact``: a per-character Unicode clean, most of this check's time (every
    # line of every form), which changes no digit's value here (17 digits are known).
    # Read as one number: ``isdigit`` leaves no sign, space nor underscore for ``int``
    # to take, so it is the three fields' digits, parsed once instead of three times.
    try:
        year, month_day = divmod(int(number[6:14]), 10000)
        date(year, *divmod(month_day, 100))
        # ``ric.calc_check_digit``, inline (one call fewer per line): ValueError as there.
        checksum = (1 - 2 * int(number[:-1], 13)) % 11
    except ValueError:
        # No such date; or a digit that ``isdigit`` admits and ``int`` refuses (U+10A40
        # KHAROSHTHI DIGIT ONE survives the reader's NFKC): not a valid ID, never a crash.
        return False
    return number[-1] == ("X" if checksum == 10 else str(checksum))


def is_valid_tax_id(value: str) -> bool:
    return uscc.is_valid(value.strip().upper())

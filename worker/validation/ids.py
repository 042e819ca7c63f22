"""Identity numbers as GB 11643 defines them, tax IDs as GB 32100 does.

stdnum's ``ric.validate`` also checks the region code against its own table of
historical codes; real IDs carry codes issued where people registered, which that
table misses (e.g. 120222, the old 武清县). So: length, digits, birth date and the
check digit, as the standard says, and nothing stricter.
"""

from __future__ import annotations

import re
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


#: GB 32100's characters (stdnum's ``uscc``) by their value, and its check weights.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PLAIN_USCC = re.compile(r"[0-9A-Z]{18}")


def is_valid_tax_id(value: str) -> bool:
    """``uscc.is_valid``. A code as units type it (18 ASCII letters and digits, nothing
    for stdnum's ``compact`` to clean: its per-character Unicode clean, run twice, was
    most of a form's header checks) is checked here as ``uscc.validate`` does; any
    other text by stdnum itself."""
    number = value.strip().upper()
    if not (number.isascii() and _PLAIN_USCC.fullmatch(number)):
        return uscc.is_valid(number)
    if not number[:8].isdigit():
        return False
    values = _USCC_VALUES
    if any(c not in values for c in number[8:]):
        return False
    total = sum(values[c] * w for c, w in zip(number[:17], _USCC_WEIGHTS, strict=True))
    return number[-1] == _USCC_CHARS[(31 - total) % 31]

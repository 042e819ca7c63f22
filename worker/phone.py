"""Phone numbers as units write them: mainland mobiles and landlines, to one canonical form."""

from __future__ import annotations

import re

from worker.text import squash

_PHONE_CHARS, _NON_DIGIT = re.compile(r"[\d\-+().]+"), re.compile(r"\D")
_COUNTRY, _PHONE_PUNCT = re.compile(r"^\(?(?:\+|00)86\)?-?"), re.compile(r"[-().]+")
_MOBILE_86, _MOBILE = re.compile(r"861[3-9]\d{9}"), re.compile(r"1[3-9]\d{9}")
_EXTENSION, _EXT_DIGITS = re.compile(r"转|ext\.?|分机|#|x"), re.compile(r"\d{1,6}")
_AREA, _LOCAL_NUMBER = re.compile(r"0[1-9]\d{1,2}"), re.compile(r"[2-9]\d{6,7}")


def normalize_phone(raw: str | None) -> str | None:
    """Canonical ``13800000000`` / ``022-23391756`` / ``022-23391756-123``, else None.

    Mainland mobiles (optional +86/0086/86) and landlines with an area code; a bare
    8-digit number is a Tianjin landline (022), which is what Tianjin units write.
    """
    if raw is None:
        return None
    text = squash(raw).lower().replace("—", "-").replace("–", "-")
    main, ext = _split_extension(text)
    if main is None or not _PHONE_CHARS.fullmatch(main):
        return None
    main, country = _COUNTRY.subn("", main)
    if "+" in main:
        return None
    digits = _NON_DIGIT.sub("", main)
    if not ext and not country and _MOBILE_86.fullmatch(digits):
        return digits[2:]
    if _MOBILE.fullmatch(digits):
        return digits if not ext else None
    tokens = [t for t in _PHONE_PUNCT.split(main) if t]
    if country and tokens and not tokens[0].startswith("0"):
        tokens[0] = "0" + tokens[0]
    return _landline(tokens, ext)


def _split_extension(text: str) -> tuple[str | None, str | None]:
    parts = _EXTENSION.split(text, maxsplit=1)
    if len(parts) == 1:
        return text.strip("-"), None
    main, ext = parts[0].strip("-"), parts[1].strip("-:.")
    return (main, ext) if _EXT_DIGITS.fullmatch(ext) else (None, None)


def _landline(tokens: list[str], ext: str | None) -> str | None:
    if not tokens or not all(t.isdigit() for t in tokens):
        return None
    if tokens[0].startswith("0"):
        if len(tokens) == 1:
            head = tokens[0]
            size = 3 if head[1:2] in ("1", "2") else 4
            area, rest = head[:size], [head[size:]]
        else:
            area, rest = tokens[0], tokens[1:]
    else:
        area, rest = "022", tokens
    number = ""
    while rest and len(number) < 7:
        number += rest.pop(0)
    if rest:
        if ext is not None or len(rest) > 1:
            return None
        ext = rest[0]
    if not _AREA.fullmatch(area) or not _LOCAL_NUMBER.fullmatch(number):
        return None
    if ext is not None and not _EXT_DIGITS.fullmatch(ext):
        return None
    if area == "022" and len(number) != 8:
        return None
    return f"{area}-{number}" + (f"-{ext}" if ext else "")


def is_valid_phone(raw: str | None) -> bool:
    """True when ``normalize_phone`` accepts it."""
    return normalize_phone(raw) is not None

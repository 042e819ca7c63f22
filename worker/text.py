"""Normalising what people type into forms, mails and payment exports."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

FIRST_DAY = date(2000, 1, 1)    # no mail, payment or invoice of this product is older
LAST_DAY = date(2099, 12, 31)   # ...or this far ahead; also keeps date + 1 day in range

#: Whitespace as ``squash`` drops it, with the invisible characters text copied from a
#: web page or a chat carries (zero-width space and joiners, word joiner, BOM).
SPACES = re.compile(r"[\s\u3000\u00a0\u200b-\u200d\u2060\ufeff]+")
_AMOUNT = re.compile(r"^[-+]?\d+(?:\.\d+)?")
#: A comma that is not a thousands separator (a digit before it, three after it): a
#: decimal comma (``150,00``) read as one would make 15000.00 of 150 euros' worth.
_NOT_GROUPING = re.compile(r"(?<!\d),|,(?!\d{3}(?!\d))")
_MAX_DIGITS = 18
CENT = Decimal("0.01")  # amounts are kept to the cent (fen)
_LABEL_JUNK = re.compile(r"[\s\u3000\u00a0*＊:：()（）\[\]【】]")


def normalize(value: object) -> str:
    """Full-width digits/letters/colons to ASCII (NFKC), trimmed; None -> ''."""
    if type(value) is str:
        return unicodedata.normalize("NFKC", value).strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return text.strip()


def squash(value: object) -> str:
    """``normalize`` and drop all whitespace (for ID numbers, order numbers, phones)."""
    return unspaced(normalize(value))


def unspaced(text: str) -> str:
    """``text`` without whitespace (``SPACES``).  Most texts are one word (a name, an ID,
    an order number): a letters-and-digits-only text has none (no character is both),
    which ``isalnum`` says faster than the regex."""
    return text if text.isalnum() else SPACES.sub("", text)


def number_text(text: str) -> str:
    """An order or ID number as typed, without what spreadsheets wrap long numbers in
    to keep them text (a leading ``'``, ``="…"``) and without spaces."""
    if text.isalnum():
        return text  # most numbers: no space, quote nor ``=`` in them (none is alnum)
    text = SPACES.sub("", text)
    if text.startswith('="') and text.endswith('"') and len(text) > 2:
        text = text[2:-1]
    return text.removeprefix("'")


#: Significant digits a spreadsheet's number keeps (Excel, WPS: a double shown to 15).
EXACT_DIGITS = 15


def cut_by_number_cell(text: str) -> bool:
    """Whether ``text`` is a long number as a spreadsheet's number cell leaves it: more
    than ``EXACT_DIGITS`` significant digits, only zeros after them (an 18-digit
    身份证号 typed into a 数值 cell ends in 000; ``201805100930001234`` becomes
    ``…1000``)."""
    digits = text.lstrip("0")
    return text.isdigit() and len(digits) > EXACT_DIGITS and not digits[EXACT_DIGITS:].strip("0")


#: What stands between the parts of a transliterated name (阿依古丽·买买提) as people and
#: platforms type it: middle dot, bullet, katakana dot, hyphenation point, full stops,
#: hyphens and dashes, white space (a unit that cannot find "·" types a space, which the
#: form's reader drops) - or nothing at all.
_NAME_SEPARATORS = re.compile(r"[\u00b7\u2022\u30fb\u2027\u2219\u22c5\u0387.。．\-－‐‑–—_\s]")


def same_name(record: str, written: str) -> bool:
    """Whether two written names are the same name: equal, or equal but for what stands
    between a transliterated name's parts (a Chinese name has none, so it compares as
    written); a payment record's name the platform masked (张*) by its visible part."""
    if record == written:
        return True
    record, written = _NAME_SEPARATORS.sub("", record), _NAME_SEPARATORS.sub("", written)
    return record == written or (masked(record) and agrees_unmasked(record, written))


#: What platforms put for the characters of personal data they do not export
#: (120222********0011, 张*); NFKC has made a full-width ＊ an asterisk.
MASKS = "*●"
_MASK_RUN = re.compile(f"[{re.escape(MASKS)}]+")


def masked(text: str) -> bool:
    return any(c in MASKS for c in text)


def agrees_unmasked(record: str, written: str) -> bool:
    """Whether ``written`` agrees with every character of a masked ``record`` that
    shows: position by position when the mask has one star per hidden character, else
    what shows before, between and after the masks, in order (1202****0011). A unit
    whose trainee's number is right is never told it differs from a record that hides
    it."""
    if len(record) == len(written):
        return all(r in MASKS or r == w for r, w in zip(record, written, strict=True))
    pattern = ".+".join(re.escape(part) for part in _MASK_RUN.split(record))
    return re.fullmatch(pattern, written, re.DOTALL) is not None


def label_key(value: object) -> str:
    """A cell reduced to compare against a label: no spaces, colons, stars, brackets."""
    return _LABEL_JUNK.sub("", normalize(value))


def parse_amount(value: object) -> Decimal | None:
    """``150``, ``150.0``, ``'150.00'``, ``'150元'``, ``'￥150'``, ``'1,500'``, ``'人民币150元'``,
    ``'150元/人'``, ``'壹佰伍拾元(整)'`` -> Decimal;
    None for what is not an amount, and for a comma that is not a thousands separator
    (``'150,00'``: a decimal comma or a typo, never guessed)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value).quantize(CENT)
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(CENT)
    # (整) as finance staff bracket it (NFKC made the brackets ASCII); other brackets stay:
    # (150) is a negative amount in accounting notation, never read as 150
    text = squash(value).replace("(整)", "整").removeprefix("人民币").lstrip("¥￥")
    text = text.removeprefix("RMB").removesuffix("/人").removesuffix("每人")
    if text and text[0] in _CHINESE_NUMERALS:
        return _chinese_amount(text)
    if "," in text:
        if _NOT_GROUPING.search(text):
            return None  # unreadable: the unit's reply quotes it as written
        text = text.replace(",", "")
    match = _AMOUNT.match(text)
    if not match:
        return None
    rest = text[match.end():]
    if rest not in ("", "元", "元整", "圆", "圆整", "CNY", "RMB"):
        return None
    try:
        return Decimal(match.group(0)).quantize(CENT)
    except InvalidOperation:
        return None


#: What an amount in Chinese numerals starts with (大写 壹佰… or 一百…).
_CHINESE_NUMERALS = frozenset("零壹贰叁肆伍陆柒捌玖拾佰仟万一二两三四五六七八九十百千")
_CHINESE_AMOUNT = re.compile(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万一二两三四五六七八九十百千]+"
                             r"(?:[元圆](?:[零壹贰叁肆伍陆柒捌玖一二三四五六七八九][角分])*[整正]?)?")


def _chinese_amount(text: str) -> Decimal | None:
    """An amount in Chinese numerals, as on receipts (壹佰伍拾元整, 一百五十元) -> Decimal,
    read by cn2an (the library the invoices print capitals with) in its strict mode, so
    the spoken 一百五 (150? 105?) stays unreadable, never guessed; None for anything else."""
    if len(text) > 24 or not _CHINESE_AMOUNT.fullmatch(text):
        return None
    import cn2an  # only for the rare amount in words

    if text.endswith(("元", "圆")):
        text += "整"  # strict mode reads 元 only with 整 or 角/分 after it
    try:
        return Decimal(str(cn2an.cn2an(text.replace("正", "整"), "strict"))).quantize(CENT)
    except (ValueError, InvalidOperation):
        return None


def parse_int(value: object) -> int | None:
    """``3``, ``3.0``, ``'3人'``, ``'2018年'``, ``'2018年度'`` -> int."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = squash(value)
    for suffix in ("年度", "人", "年", "名", "张", "个"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    if text.endswith(".0"):
        text = text[:-2]
    # More digits than any count or year has is unreadable, not a number (and Python
    # refuses to convert over 4300 digits with a ValueError).
    if not text.isdigit() or len(text) > _MAX_DIGITS:
        return None
    try:
        return int(text)
    except ValueError:  # a digit to isdigit, none to int (U+10A40): unreadable
        return None


def money(value: Decimal) -> str:
    """Decimal -> ``'150.00'`` (the export's and the replies' amount format)."""
    return f"{value.quantize(Decimal('0.01'))}"


#: Characters no one reads as part of a name or a line (C1 controls, Unicode line and
#: paragraph separators, bidi marks, embeddings, overrides and isolates, zero-width
#: characters, BOM), beside the C0 controls below U+0020: an RLO shows
#: 申请表\u202eslx.exe as 申请表exe.xls. The ranges, for character classes.
INVISIBLE = "\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"

#: ``INVISIBLE`` and the C0 controls, as one pattern.
UNSEEN = re.compile(f"[\x00-\x1f{INVISIBLE}]")


def visible(name: str) -> str:
    """``name`` (a file name from a mail or an archive) without the characters no one
    sees (``INVISIBLE``, C0 controls): what is shown and saved is what it is."""
    return UNSEEN.sub("", name)


def needs_cleaning(value: str) -> bool:
    """Whether ``storable`` changes more of ``value`` than its length: it holds a NUL
    (PostgreSQL: "text fields cannot contain NUL (0x00) bytes") or a surrogate code
    point, which no UTF-8 encoder accepts (the email package's surrogateescape decoding
    leaves one per undecodable byte; SQLite refuses them too). One character decides,
    so a text joined of several needs cleaning exactly when one of them does. NUL is a
    ``memchr``; an ASCII text (``isascii``: a flag of the string) holds no surrogate;
    any other is encoded, which refuses exactly the surrogates, at C speed (twice a
    regex's over a chunk's joined names)."""
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def storable(value: str, length: int | None = None) -> str:
    """``value`` as every database accepts it, at most ``length`` characters.

    NUL becomes U+FFFD (the replacement character: visibly something was there,
    and no two words are glued together); a surrogate pair becomes the character it
    encodes, a lone surrogate U+FFFD. Then the text is cut to ``length`` (characters,
    as ``VARCHAR(n)`` counts on PostgreSQL). The same input always gives the same
    output, so a cleaned key still finds its row."""
    if needs_cleaning(value):
        value = (value.replace("\x00", "\ufffd")
                 .encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace"))
    return value if length is None else value[:length]

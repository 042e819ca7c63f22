"""Find the parcel recipient (name, phone, address) a unit wrote in its mail body.

People write this freely: spaced-out labels, mixed colons, several fields on a line, or
an unlabelled ``张三，13800000000，天津市…`` under a heading.  The unit's new text wins
over quoted earlier mail (``parse_recipient_parts`` keeps them apart: the form's
recipient ranks between the two), explicit 收件… labels win over generic ones, anything
written about someone else (经办人, 发件人 …) is skipped, and an example (例如：“收件人：
张三 …”, our own reply's words when a unit quotes it) is not a recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from worker.phone import is_valid_phone, normalize_phone
from worker.recipient_labels import (
    ADDRESS,
    AFTER_NAME,
    CONTEXT,
    LABEL_INFO,
    LABEL_RE,
    MISSING_NAMES,
    NAME,
    OTHER,
    PHONE,
    STOP,
)

__all__ = ["BodyRecipient", "Recipient", "is_valid_phone", "merge", "normalize_phone",
           "parse_recipient", "parse_recipient_parts"]

_SPACE = re.compile(r"\s+")

# Length-preserving full-width -> ASCII, so match offsets index the original line.
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
_SEPARATORS = " \t,;、。.|/()[]<>\"'!?:【】《》“”‘’"
_TRIM = " \t,;、。.|/:-—"
_ADDRESS_HINT = re.compile(r"[省市区县镇乡村路街道巷号楼室弄栋座园]")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME_LIKE = re.compile(rf"[{_CJK}·•]{{2,8}}|[A-Za-z][A-Za-z .'-]{{1,29}}")
_NOT_NAMES = ("您好", "你好", "谢谢", "发票", "附件", "申请", "单位", "公司", "如下", "信息",
              "老师", "收件", "地址", "电话", "邮寄", "快递")
# Whether a piece holds any of them: one search, where a generator tested each in turn
# (every piece of every body line is asked whether it is a name).
_NOT_NAME = re.compile("|".join(map(re.escape, _NOT_NAMES)))
_PHONE_RUN = re.compile(
    r"[+(]?\d[\d\s\-()]{5,}\d(?:\s*(?:转|ext\.?|分机|-)\s*\d{1,6})?", re.IGNORECASE
)

_QUOTE_SEPARATOR = re.compile(
    r"^[-_=*\s]*(原始邮件|原邮件|回复的原邮件|转发的邮件|转发邮件|邮件原文|"
    r"original message|original|forwarded message)[-_=*\s]*$",
    re.IGNORECASE,
)
_WROTE = re.compile(r"^(在.{0,80}写道|on .{0,120} wrote)\s*[:：]?\s*$", re.IGNORECASE)
_MAIL_HEADER = re.compile(
    r"^(发件人|收件人|抄送|密送|发送时间|发送日期|日期|时间|主题|from|to|cc|sent|date|subject)"
    r"\s*[:：]",
    re.IGNORECASE,
)
# A label's "value" that is a sentence about the details, not a name (收件人在表里,
# 收件信息已改，见申请表): words no surname starts with.
_SENTENCE = re.compile(r"(在|见|已|详|请|同上|参见|附|表格|表中|表里|无)")
_EXAMPLE = re.compile(r"例如|比如|示例|范例|格式如下|for example|e\.g\.", re.IGNORECASE)
_MAX_CHARS = 100_000  # recipient details sit at the top; don't scan megabytes of quotes
# The patterns the functions below use, compiled once (not looked up per call).
_RULE, _UNDERLINE = re.compile(r"--|==|__"), re.compile(r"_{10,}")
_FROM_LINE = re.compile(r"^(发件人|from)\s*[:：]", re.IGNORECASE)
_COLON, _PHONE_AFTER, _SPACED_VALUE = re.compile(r"\s*[:：]"), re.compile(r"\s*[+(\d]"), re.compile(r"\s+\S")
_NAME_AFTER = re.compile(rf"[{_CJK}]{{2,4}}(?:$|[\s,;、]|\d)")
_PLACE_AFTER, _NAME_RUN = re.compile(r"\S{0,8}?[省市区县]"), re.compile(r"[^,;、|/\d+]+")
_CJK_NAME, _RECEIVES = re.compile(rf"[{_CJK}·]{{2,}}"), re.compile(r"[(（]?收[)）]?$")
_SHORT_NUMBER, _PHONE_TOKEN = re.compile(r"[\d\-()+]*\d[\d\-()]*"), re.compile(r"[^\s/]+")
_PIECE = re.compile(r"[^\s,;、|/]+")


@dataclass
class Recipient:
    """Who the parcel goes to; a field is None when nobody wrote it."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None

    def missing(self) -> list[str]:
        """Chinese names of the missing fields, for the MISSING_RECIPIENT detail."""
        return [label for key, label in MISSING_NAMES.items() if not getattr(self, key)]


def merge(body: Recipient, form: Recipient) -> Recipient:
    """Field by field: what the mail body says wins, the form fills the gaps."""
    return Recipient(
        name=body.name or form.name,
        phone=body.phone or form.phone,
        address=body.address or form.address,
    )


# ------------------------------------------------------------------------- sections


def _split_quoted(text: str) -> tuple[list[str], list[str]]:
    """(the unit's new lines, quoted lines); quoted mail-header blocks are dropped."""
    lines = text[:_MAX_CHARS].splitlines()
    new: list[str] = []
    quoted: list[str] = []
    in_quote = header_block = seen_header = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith((">", "＞")):
            stripped = stripped.lstrip(">＞ \t")
            target_is_quote = True
        else:
            target_is_quote = in_quote
        if _starts_quote(stripped, lines, index):
            in_quote = target_is_quote = header_block = True
            if not _MAIL_HEADER.match(stripped):
                continue
        if not target_is_quote:
            new.append(line)
            continue
        if header_block:
            if _MAIL_HEADER.match(stripped):
                seen_header = True
                continue
            if stripped or seen_header:
                header_block = seen_header = False
        quoted.append(stripped)
    return new, quoted


def _starts_quote(stripped: str, lines: list[str], index: int) -> bool:
    if _QUOTE_SEPARATOR.match(stripped) and _RULE.search(stripped):
        return True
    if _WROTE.match(stripped) or _UNDERLINE.fullmatch(stripped):
        return True
    if _FROM_LINE.match(stripped):
        following = lines[index + 1: index + 6]
        return any(_MAIL_HEADER.match(line.strip().lstrip(">＞ ")) for line in following)
    return False


# ---------------------------------------------------------------------------- lines


@dataclass
class _Found:
    value: str
    strength: float
    order: int


class _Scanner:
    """Walks lines keeping context: whose details are we reading right now?"""

    def __init__(self) -> None:
        self.found: dict[str, _Found] = {}
        self.context = "neutral"  # "recipient" | "other" | "neutral"
        self.heading = False  # just saw 收件信息 / an empty 收件人: unlabelled lines count
        self.order = 0
        # 电话： / 地址： with the value on the next line (an HTML body puts a blank line
        # between the two <div>s): the kind and strength that line gives.
        self.pending: tuple[str, int] | None = None
        # An address label's value just read: the very next line may go on with it
        # (天津市武清区杨村街<br>光明路17号).
        self.address: _Found | None = None
        self.blank = False  # the line before was blank

    def put(self, kind: str, value: str | None, strength: float) -> None:
        if not value:
            return
        self.order += 1
        best = self.found.get(kind)
        if best is None or strength > best.strength:
            self.found[kind] = _Found(value, strength, self.order)

    def line(self, original: str) -> None:
        example = _EXAMPLE.search(original)
        if example:  # what follows 例如 shows a format (our reply's words), it is no one's
            original = original[:example.start()]
        mapped = original.translate(_HALF)
        address, self.address = self.address, None
        if not mapped.strip():
            # A heading's own lines follow it, after one blank line at most.
            self.heading = self.heading and not self.blank and self.pending is not None
            self.blank = True
            return
        after_blank, self.blank = self.blank, False
        pending, self.pending = self.pending, None
        if mapped.strip() == "--":
            self.context, self.heading = "other", False
            return
        labels = _labels(mapped)
        if not labels:
            if pending and pending[0] != NAME and self.context != "other" and (
                    pending[0] == PHONE or _looks_like_address(mapped.strip(_TRIM))):
                self.put(pending[0], _value(pending[0], original, mapped), pending[1])
            elif address and not after_blank and _continues_address(mapped):
                address.value = _joined(address.value, original.strip())
            else:
                self.unlabelled(original, mapped)
            return
        first = labels[0][0]
        if first > 0 and mapped[:first].strip(_TRIM):
            self.unlabelled(original[:first], mapped[:first])
        self.heading = False
        for position, (_, end, label) in enumerate(labels):
            stop = labels[position + 1][0] if position + 1 < len(labels) else len(mapped)
            self.labelled(label, original[end:stop], mapped[end:stop])
        if len(labels) > 1:  # a table's header row (收件人 电话 地址): its values are below
            self.pending = self.address = None

    def labelled(self, label: str, value: str, mapped: str) -> None:
        kind, strength = LABEL_INFO[label]
        if kind == OTHER:
            self.context = "other"
            return
        if kind == STOP or (label == "姓名" and self.context != "recipient"):
            return
        if strength == 2 or kind == NAME:
            self.context = "recipient"
        elif self.context == "other":
            return
        if kind == CONTEXT:
            self.heading = True
            self.unlabelled(value, mapped)
        elif not value.strip(_TRIM + "：，；"):
            self.pending = (kind, strength)  # the value is on the next line
            self.heading = self.heading or kind == NAME
        elif kind == NAME:
            name, rest, rest_mapped = _name_value(value, mapped)
            self.put(NAME, name, strength)
            if rest.strip(_TRIM):  # 收件人：王五，某某公司: below any labelled value
                self.unlabelled(rest, rest_mapped, (PHONE, ADDRESS), AFTER_NAME)
        elif kind == PHONE:
            self.put(PHONE, phone_in(value), strength)
        else:
            guess = _guess(value, mapped)
            if guess.get(PHONE) and guess.get(ADDRESS):
                # 地址：天津市…1号 张三 13800000000 - the address stops at the phone.
                for key in (ADDRESS, NAME, PHONE):
                    self.put(key, guess.get(key), strength)
                return
            address = _value(ADDRESS, value, mapped)
            self.put(ADDRESS, address, strength)
            if address and self.found[ADDRESS].value == address:
                self.address = self.found[ADDRESS]

    def unlabelled(
        self,
        original: str,
        mapped: str,
        fields: tuple[str, ...] = (NAME, PHONE, ADDRESS),
        strength: float | None = None,
    ) -> None:
        """``张三，13800000000，天津市…``: under a heading, after a label, or complete."""
        if self.context == "other":
            return
        guess = _guess(original, mapped)
        if strength is None:
            if self.heading:
                strength = 2
            elif guess.get(PHONE) and guess.get(ADDRESS):
                strength = 1
            else:
                return
        for kind in fields:
            self.put(kind, guess.get(kind), strength)

    def result(self) -> Recipient:
        return Recipient(**{kind: found.value for kind, found in self.found.items()})


def _labels(mapped: str) -> list[tuple[int, int, str]]:
    """Label matches that really are labels: (start, value start, label)."""
    result = []
    for match in LABEL_RE.finditer(mapped):
        label = _SPACE.sub("", match.group(0))
        kind = LABEL_INFO[label][0]
        start, end = match.span()
        colon = _COLON.match(mapped[end:])
        if colon:
            result.append((start, end + colon.end(), label))
            continue
        before = mapped[start - 1] if start else " "
        if before not in _SEPARATORS and not before.isspace():
            continue
        after = mapped[end:]
        if (
            kind in (OTHER, STOP, CONTEXT)
            or (kind == PHONE and _PHONE_AFTER.match(after))
            or (kind in (NAME, ADDRESS) and _SPACED_VALUE.match(after))
            or (kind == NAME and _NAME_AFTER.match(after))
            or (kind == ADDRESS and _PLACE_AFTER.match(after))
        ):
            result.append((start, end, label))
    return result


def _name_value(value: str, mapped: str) -> tuple[str | None, str, str]:
    """(name, rest of the value, rest mapped): a name ends at a comma or before digits."""
    lead = len(mapped) - len(mapped.lstrip(_TRIM))
    match = _NAME_RUN.match(mapped[lead:])
    if match is None:
        return None, value[lead:], mapped[lead:]
    raw = match.group(0)
    opened = max(raw.rfind("（"), raw.rfind("("))
    if opened > 0 and raw.count("（") + raw.count("(") > raw.count("）") + raw.count(")"):
        raw = raw[:opened]  # 李主任（工作日9:00…）: the note's digits ended the run, not the name
    cut = lead + len(raw)
    parts = raw.split()
    if len(parts) > 1 and _CJK_NAME.fullmatch(parts[0]):
        cut = lead + raw.index(parts[0]) + len(parts[0])
    return _clean_name(value[lead:cut]), value[cut:], mapped[cut:]


def _clean_name(text: str) -> str | None:
    name = text.strip(_TRIM + "：，；").strip()
    name = _RECEIVES.sub("", name).strip()
    if not name or "@" in name or "<" in name or len(name) > 30 or _SENTENCE.match(name):
        return None
    return name


def phone_in(value: str) -> str | None:
    """The phone in a body line or form cell: the first phone-like run, or its first valid one."""
    mapped = value.translate(_HALF)
    match = _PHONE_RUN.search(mapped)
    if match is None:
        # Too short to be a phone, but written where the phone goes: keep it, so the
        # unit hears "not a valid number" (INVALID_PHONE) rather than "missing".
        short = _SHORT_NUMBER.search(mapped)
        return value[short.start():short.end()].strip() if short else None
    start, end = match.span()
    raw = value[start:end].strip()
    if normalize_phone(raw) is None:
        for token in _PHONE_TOKEN.finditer(mapped[start:end]):
            if normalize_phone(token.group(0)):
                return value[start + token.start(): start + token.end()].strip()
    return raw


def _guess(original: str, mapped: str) -> dict[str, str]:
    """Split ``张三 13800000000 天津市…`` (any order) into name / phone / address."""
    guess: dict[str, str] = {}
    phone_span = None
    for match in _PHONE_RUN.finditer(mapped):
        if normalize_phone(match.group(0)):
            phone_span = match.span()
            guess[PHONE] = original[match.start(): match.end()].strip()
            break
    if phone_span is None:
        chunks = [(original, mapped)]
    else:
        chunks = [(original[: phone_span[0]], mapped[: phone_span[0]]),
                  (original[phone_span[1]:], mapped[phone_span[1]:])]
    for chunk, chunk_mapped in chunks:
        _guess_chunk(chunk, chunk_mapped, guess)
    return guess


def _guess_chunk(original: str, mapped: str, guess: dict[str, str]) -> None:
    pieces = [(m.start(), m.end()) for m in _PIECE.finditer(mapped)]
    for position, (start, end) in enumerate(pieces):
        piece = mapped[start:end].strip(_TRIM)
        if ADDRESS not in guess and _looks_like_address(piece):
            # An address runs to the end of its chunk unless a name follows it.
            last = pieces[-1]
            stop = last[0] if (len(pieces) > position + 1 and
                               _looks_like_name(mapped[last[0]:last[1]])) else len(mapped)
            guess[ADDRESS] = original[start:stop].strip(_TRIM + "，；")
            if NAME not in guess and stop < len(mapped):
                guess[NAME] = original[last[0]:last[1]].strip(_TRIM)
            return
        if NAME not in guess and _looks_like_name(piece):
            guess[NAME] = original[start:end].strip(_TRIM)


def _value(kind: str, value: str, mapped: str) -> str | None:
    """A phone or an address written after its label (or on the line below it)."""
    if kind == PHONE:
        return phone_in(value)
    # An opening bracket left before a label that ends the address (…1号（邮编301700）)
    address = value.strip(_TRIM + "：，；").strip().rstrip("（([【 ")
    return address if address and "@" not in address else None


def _continues_address(mapped: str) -> bool:
    """Whether the line under an address goes on with it (光明路17号), rather than
    being a greeting, a phone or a name."""
    text = mapped.strip(_TRIM)
    return (0 < len(text) <= 60 and "@" not in text and bool(_ADDRESS_HINT.search(text))
            and not any(normalize_phone(m.group(0)) for m in _PHONE_RUN.finditer(text))
            and not _looks_like_name(text))


def _joined(head: str, tail: str) -> str:
    """Two pieces of one address: Chinese runs on without a space."""
    both_cjk = not head[-1:].isascii() and not tail[:1].isascii()
    return head + ("" if both_cjk else " ") + tail


def _looks_like_address(piece: str) -> bool:
    return len(piece) >= 5 and (len(_ADDRESS_HINT.findall(piece)) >= 2 or "天津" in piece)


def _looks_like_name(piece: str) -> bool:
    piece = piece.strip(_TRIM)
    return bool(_NAME_LIKE.fullmatch(piece)) and not _NOT_NAME.search(piece) \
        and not _SENTENCE.match(piece) and not _looks_like_address(piece)


class BodyRecipient(NamedTuple):
    """What a mail body says of the recipient: in the unit's new text, and in the mail it
    quotes or forwards."""

    new: Recipient
    quoted: Recipient


def parse_recipient_parts(text: str) -> BodyRecipient:
    """The recipient a mail body gives: (in the unit's new text, in the mail it quotes or
    forwards). Kept apart because a form's recipient ranks between them: a unit that
    answers our reply with a corrected form means the form, not the old details (or our
    own words) quoted below its answer."""
    new_lines, quoted_lines = _split_quoted(text or "")
    found = []
    for lines in (new_lines, quoted_lines):
        scanner = _Scanner()
        for line in lines:
            scanner.line(line)
        found.append(scanner.result())
    return BodyRecipient(*found)


def parse_recipient(text: str) -> Recipient:
    """The recipient from a mail body; the new text first, quoted mail fills gaps."""
    return merge(*parse_recipient_parts(text))

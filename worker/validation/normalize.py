"""Turning what units type into canonical values: districts, invoice type, issue mode."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache

from worker.status import InvoiceType, IssueMode
from worker.text import squash

TIANJIN_DISTRICTS = (
    "和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区", "津南区",
    "北辰区", "武清区", "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区",
)
# Former names still written by habit: counties became districts (2015-2016), and
# 塘沽/汉沽/大港 merged into 滨海新区 (2009).
_ALIASES = {
    "蓟县": "蓟州区", "静海县": "静海区", "宁河县": "宁河区", "滨海": "滨海新区", "滨海区": "滨海新区",
    "塘沽区": "滨海新区", "汉沽区": "滨海新区", "大港区": "滨海新区", "塘沽": "滨海新区",
    "汉沽": "滨海新区", "大港": "滨海新区", "开发区": "滨海新区", "保税区": "滨海新区",
}


#: Units type a handful of spellings of each of these, and every application reads each
#: several times (the form, the checks, the plan): each reader keeps its recent answers
#: (pure functions of the text, immutable results).
_remembered = lru_cache(maxsize=1024)


@_remembered
def district(value: str) -> str | None:
    """Canonical district name, or None when it is not a Tianjin district."""
    text = squash(value)
    for prefix in ("天津市", "天津"):
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
    if not text:
        return None
    found = _district_name(text)
    if found is None:
        # The district with where in it the unit is: 滨海新区（塘沽）, 武清区杨村街道.
        # Only one district named, so 西青区/北辰区 stays unknown.
        text = _QUALIFIER.sub("", text)
        found = _district_name(text) or next(
            (name for name in TIANJIN_DISTRICTS
             if text.startswith(name) and "区" not in text[len(name):]
             and "县" not in text[len(name):]), None)
    return found


_QUALIFIER = re.compile(r"[(（][^()（）]*[)）]$")


def _district_name(text: str) -> str | None:
    if text in TIANJIN_DISTRICTS:
        return text
    if text in _ALIASES:
        return _ALIASES[text]
    for name in TIANJIN_DISTRICTS:
        short = name.removesuffix("新区").removesuffix("区")
        if text in (short, short + "区", short + "县"):
            return name
    return None


# A word that says "not" before what it refuses: 不要专票, 非专用发票, 无需合并, 别合开.
_NOT = r"(?:不|非|无需|无须|毋需|别|免)(?:要|需要|需|用|必|开|想)?"
_NOT_SPECIAL = re.compile(_NOT + r"(?:增值税)?专")
_NOT_NORMAL = re.compile(_NOT + r"(?:增值税)?普")


@_remembered
def invoice_type(value: str) -> InvoiceType | None:
    """发票类型 as typed -> the type; "" is 普通发票 (SPEC). A type said with "not"
    (不要专票, 非专用发票) is not that type; a text that asks for both, or for what it
    also refuses, is None: the unit is asked, as a wrong 专票 must be reversed (红字)."""
    text = squash(value)
    if not text:
        return InvoiceType.NORMAL
    asks_special = "专" in _NOT_SPECIAL.sub("", text)
    asks_normal = "普" in _NOT_NORMAL.sub("", text)
    if asks_special != asks_normal:
        return InvoiceType.SPECIAL if asks_special else InvoiceType.NORMAL
    if not asks_special and _NOT_SPECIAL.search(text) and not _NOT_NORMAL.search(text):
        return InvoiceType.NORMAL  # 不要专票: the other kind
    return None


# One invoice per trainee: 每人一张, 每位学员一张, 各开一张, 分别开具, 按人开具, 不合并.
_PER_PERSON = re.compile(r"[每各]\w{0,4}?一张|每人|每位|每个|每名|个人|分开|分别|单独|逐人|按人"
                         r"|分人|各开|各自|一人一张|单张")
_NOT_COMBINED = re.compile(_NOT + r"(?:合并|合开|汇总|统一)")
# All trainees on one invoice: 合并开具, 汇总开一张, 统一开具, 全部开一张.
_COMBINED = re.compile(r"合并|合开|汇总|统一|全部|一起|一张")


@_remembered
def issue_mode(value: str) -> IssueMode | None:
    """开票方式 as typed -> the mode; "" is 合并开具 (the form's note). "Not combined"
    (不合并开具, 无需合并) is one per person; a text that asks for both is None, and the
    unit is asked: a combined invoice cut the wrong way must be reversed (红字)."""
    text = squash(value)
    if not text:
        return IssueMode.COMBINED
    per_person = _PER_PERSON.search(text) is not None or _NOT_COMBINED.search(text) is not None
    combined = _COMBINED.search(_NOT_COMBINED.sub("", _PER_PERSON.sub("", text))) is not None
    if per_person and not combined:
        return IssueMode.PER_PERSON
    if combined and not per_person:
        return IssueMode.COMBINED
    return None


#: How each choice field of the registry (``worker.fields``, ``Field.choices``) is read:
#: what units type -> the canonical value, or None when it cannot be read.
CHOICE_READERS: dict[str, Callable[[str], StrEnum | None]] = {
    "invoice_type": invoice_type,
    "issue_mode": issue_mode,
}

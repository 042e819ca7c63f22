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


@_remembered
def invoice_type(value: str) -> InvoiceType | None:
    text = squash(value)
    if not text:
        return InvoiceType.NORMAL
    if "专" in text:
        return InvoiceType.SPECIAL
    if "普" in text:
        return InvoiceType.NORMAL
    return None


@_remembered
def issue_mode(value: str) -> IssueMode | None:
    text = squash(value)
    if not text:
        return IssueMode.COMBINED
    if any(k in text for k in ("每人", "个人", "分开", "单独", "逐人", "一人一张")):
        return IssueMode.PER_PERSON
    if any(k in text for k in ("合并", "合开", "汇总", "统一", "一张")):
        return IssueMode.COMBINED
    return None


#: How each choice field of the registry (``worker.fields``, ``Field.choices``) is read:
#: what units type -> the canonical value, or None when it cannot be read.
CHOICE_READERS: dict[str, Callable[[str], StrEnum | None]] = {
    "invoice_type": invoice_type,
    "issue_mode": issue_mode,
}

"""Match issued invoices (from their XML) to planned ones: pure, no storage.

An issued invoice is attached to a planned one only when everything agrees:

1. it is found by the reference in its 备注 — ``流水号 <serial>`` (then ``申请编号``
   must agree too), or, when the remark holds only ``申请编号 <id>``, by the one planned
   invoice of that application with the same 价税合计 not yet claimed;
2. buyer tax ID, buyer name (NFKC, spaces ignored), 价税合计, 税额 and the number of
   lines equal the planned ones — and the seller tax ID ours, the 发票类型 the planned
   one, when the caller gives / the XML carries them.

Anything else is reported, never attached: ``UNMATCHED`` (no reference, unknown 流水号),
``MISMATCH`` (found, but differs — ``differences`` says what), ``DUPLICATE`` (a number
or a file already recorded, the same number twice in this import, or a 流水号 already
issued or claimed by another invoice). A red-letter invoice (``RED``) is linked to its
blue number when that number is recorded, otherwise it is ``UNMATCHED``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from worker.tax.model import IssuedInvoice, PlannedInvoice, PlatformInvoiceType, Reference, parse_reference


class Outcome(StrEnum):
    ISSUED = "issued"
    MISMATCH = "mismatch"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    RED = "red"


@dataclass(frozen=True)
class Difference:
    """One disagreement: Chinese field name, planned value, issued value."""

    field: str
    planned: str
    issued: str


@dataclass(frozen=True)
class MatchResult:
    issued: IssuedInvoice
    outcome: Outcome
    planned: PlannedInvoice | None = None
    differences: tuple[Difference, ...] = ()
    detail: str = ""  # one Chinese sentence for the report and the console
    blue_number: str = ""  # RED: the recorded blue invoice it reverses


def _name(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _tax_id(text: str) -> str:
    return _name(text).upper()


def differences(issued: IssuedInvoice, planned: PlannedInvoice, *, seller_tax_id: str = "",
                reference_application: int | None = None) -> tuple[Difference, ...]:
    """Every way ``issued`` differs from ``planned`` (empty = an exact match)."""
    found = []

    def check(field: str, want: object, got: object) -> None:
        if want != got:
            found.append(Difference(field, str(want), str(got)))

    if reference_application is not None:
        check("申请编号", planned.application_id, reference_application)
    check("购买方纳税人识别号", _tax_id(planned.buyer_tax_id), _tax_id(issued.buyer_tax_id))
    check("购买方名称", _name(planned.buyer_name), _name(issued.buyer_name))
    check("价税合计", planned.total, issued.total)
    check("税额", planned.total_tax, issued.total_tax)
    check("明细行数", len(planned.lines), len(issued.lines))
    if seller_tax_id:
        check("销售方纳税人识别号", _tax_id(seller_tax_id), _tax_id(issued.seller_tax_id))
    if issued.kind:
        special = "专用" in issued.kind
        check("发票类型", str(planned.invoice_type),
              str(PlatformInvoiceType.SPECIAL if special else PlatformInvoiceType.NORMAL))
    return tuple(found)


def match_invoices(
    issued: Sequence[IssuedInvoice],
    planned: Sequence[PlannedInvoice],
    *,
    recorded: Mapping[str, str] | None = None,
    recorded_digests: Collection[str] = (),
    seller_tax_id: str = "",
) -> list[MatchResult]:
    """One result per issued invoice, in order.

    ``planned``: the invoices waiting for issue (exported, not yet issued).
    ``recorded``: official number -> 流水号 of every invoice already issued (blue or red).
    ``recorded_digests``: sha256 of every XML file already imported.
    """
    recorded = recorded or {}
    by_serial = {p.serial.upper(): p for p in planned}
    issued_serials = {serial.upper() for serial in recorded.values()}
    seen_numbers: dict[str, IssuedInvoice] = {}
    claimed: dict[str, str] = {}  # serial -> number that took it in this import
    results = []
    for inv in issued:
        duplicate = _duplicate(inv, recorded, recorded_digests, seen_numbers)
        seen_numbers.setdefault(inv.number, inv)
        if duplicate:
            results.append(MatchResult(inv, Outcome.DUPLICATE, detail=duplicate))
            continue
        if inv.is_red:
            results.append(_red(inv, recorded))
            continue
        ref = parse_reference(inv.remark)
        candidate = by_serial.get(ref.serial) if ref.serial else None
        if candidate is None and ref.serial is None and ref.application_id is not None:
            same = [p for p in planned if p.application_id == ref.application_id
                    and p.total == inv.total and p.serial.upper() not in claimed]
            candidate = same[0] if len(same) == 1 else None
        if candidate is None:
            results.append(MatchResult(inv, Outcome.UNMATCHED, detail=_why_unmatched(inv, ref)))
            continue
        serial = candidate.serial.upper()
        if serial in issued_serials or serial in claimed:
            other = claimed.get(serial) or next(n for n, s in recorded.items() if s.upper() == serial)
            detail = f"发票 {inv.number}：流水号 {candidate.serial} 已开具发票 {other}"
            results.append(MatchResult(inv, Outcome.DUPLICATE, candidate, detail=detail))
            continue
        diffs = differences(inv, candidate, seller_tax_id=seller_tax_id,
                            reference_application=ref.application_id if ref.serial else None)
        if diffs:
            what = "；".join(f"{d.field}应为 {d.planned}，发票为 {d.issued}" for d in diffs)
            results.append(MatchResult(inv, Outcome.MISMATCH, candidate, diffs,
                                       f"发票 {inv.number} 与流水号 {candidate.serial} 不符：{what}"))
            continue
        claimed[serial] = inv.number
        results.append(MatchResult(inv, Outcome.ISSUED, candidate,
                                   detail=f"发票 {inv.number} 对应流水号 {candidate.serial}"))
    return results


def _duplicate(inv: IssuedInvoice, recorded: Mapping[str, str], digests: Collection[str],
               seen: Mapping[str, IssuedInvoice]) -> str:
    if inv.number in recorded:
        same = inv.digest and inv.digest in digests
        return f"发票 {inv.number} 已导入过" + ("" if same else "（本次文件内容与已导入的不同）")
    if inv.digest and inv.digest in digests:
        return f"发票 {inv.number} 的文件已导入过"
    if inv.number in seen:
        first = seen[inv.number]
        differs = "" if first.digest == inv.digest else "，且内容不同"
        return f"发票 {inv.number} 在本次导入中出现了不止一次{differs}"
    return ""


def _red(inv: IssuedInvoice, recorded: Mapping[str, str]) -> MatchResult:
    blue = inv.red.original_number if inv.red else ""
    if blue and blue in recorded:
        return MatchResult(inv, Outcome.RED, blue_number=blue,
                           detail=f"红字发票 {inv.number} 冲销蓝字发票 {blue}")
    why = f"对应的蓝字发票 {blue} 不是本系统开具的" if blue else "没有写明对应的蓝字发票"
    return MatchResult(inv, Outcome.UNMATCHED, detail=f"红字发票 {inv.number}：{why}")


def _why_unmatched(inv: IssuedInvoice, ref: Reference) -> str:
    serial, app = ref.serial, ref.application_id
    if serial:
        return f"发票 {inv.number}：备注中的流水号 {serial} 不是待开具的发票"
    if app is not None:
        return f"发票 {inv.number}：申请编号 {app} 没有金额相同的待开具发票"
    return f"发票 {inv.number}：备注中没有申请编号或流水号，无法对应"

"""Representative print documents built straight from their views (no database, no
mail): what the page-design tests render and compare with the reference pictures
under ``tests/documents/reference/``. Each sample stresses one thing a batch can
hold: 合并开具 with many lines, 每人一张, a special invoice with 100-character buyer
fields and rare CJK characters (𠀀 Ext-B, 䶮 Ext-A), a trainee list over two pages,
and labels with route codes, a long address, platform-mode invoice numbers and a
provider label's strip."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from worker.documents.barcode import code128_svg
from worker.documents.invoice import (
    LINE_ROWS,
    LIST_ROWS,
    InvoiceView,
    Line,
    ListPage,
    ListRow,
    capitals,
)
from worker.documents.label import BARCODE_HEIGHT_MM, BARCODE_WIDTH_MM, LabelView

CREATED = "2024-03-01T09:30:00+08:00"
SELLER = {"seller_name": "天津市政工师进修学院", "seller_tax_id": "121200004013594468",
          "seller_address_phone": "天津市河西区友谊路35号 022-23391756",
          "seller_bank_account": "中国银行天津河西支行 275556000000"}
ITEM = "*教育服务*培训费"


def _line(year: int, count: int, price: str) -> Line:
    net = (Decimal(price) / Decimal("1.03")).quantize(Decimal("0.01"))
    tax = Decimal(price) - net
    return Line(ITEM, f"{year}年度", "人", count, f"{net:.2f}", f"{net * count:.2f}", "3%",
                f"{tax * count:.2f}")


def _invoice(number: int, lines: list[Line], *, buyer: str, remarks: tuple[str, ...],
             special: bool = False, address_phone: str = "", bank: str = "",
             tax_id: str = "91120222MA05K3XX1Q", list_pages: tuple[ListPage, ...] = (),
             long_buyer: bool = False) -> InvoiceView:
    net = sum((Decimal(li.amount) for li in lines), Decimal("0.00"))
    tax = sum((Decimal(li.tax) for li in lines), Decimal("0.00"))
    return InvoiceView(
        title="天津增值税专用发票" if special else "天津增值税普通发票",
        code="012001800111", number=f"{number:08d}", date="2024年03月01日", special=special,
        buyer_name=buyer, buyer_tax_id=tax_id, buyer_address_phone=address_phone,
        buyer_bank_account=bank, **SELLER, lines=tuple(lines),
        blank_rows=LINE_ROWS - len(lines), net=f"{net:.2f}", tax=f"{tax:.2f}",
        amount=f"{net + tax:.2f}", capitals=capitals(net + tax), rate="3%", remarks=remarks,
        issuer="王静", payee="李娜", reviewer="张伟", reference=f"申请编号 {number + 100}",
        list_pages=list_pages, list_totals=(f"{net + tax:.2f}", f"{net:.2f}", f"{tax:.2f}"),
        pages=1 + len(list_pages), long_buyer=long_buyer)


def invoices() -> list[InvoiceView]:
    """Five invoices, seven pages."""
    combined = _invoice(
        1, [_line(2019, 3, "150.00"), _line(2018, 2, "150.00"), _line(2017, 1, "150.00"),
            _line(2016, 1, "160.00"), _line(2015, 4, "150.00"), _line(2014, 1, "160.00")],
        buyer="天津市武清区堃喆科技有限公司",
        remarks=("培训人员：褚堃、卫喆、朱镕、孙玥、王𠀀、李䶮、赵敏、钱镕（共 8 人）",))
    per_person = _invoice(2, [_line(2018, 1, "150.00")], buyer="天津市宝坻区玥镕物流有限公司",
                          remarks=("培训人员：李䶮", "身份证号：12022219900101123X",
                                   "订单号：2024030100000011、2024030100000012"))
    long_unit = ("天津市武清区" + "超长名称𠀀䶮" * 20)[:99] + "…"
    special = _invoice(
        3, [_line(2018, 1, "150.00"), _line(2017, 1, "150.00")], buyer=long_unit,
        special=True, long_buyer=True,
        address_phone=("天津市武清区" + "很长的地址" * 30)[:99] + "…",
        bank=("中国工商银行" + "0302090109300012345" * 10)[:99] + "…",
        remarks=("培训人员：王𠀀、李䶮（共 2 人）",))
    rows = [ListRow(n, name, f"1202221990010{n:04d}X"[:18], f"20240301{n:08d}", "2018",
                    "150.00", "145.63", "4.37")
            for n, name in enumerate(("褚堃", "卫喆", "朱镕", "孙玥", "王𠀀", "李䶮", "欧阳娜娜")
                                     * 3, start=1)]
    chunks = [rows[k:k + LIST_ROWS] for k in range(0, len(rows), LIST_ROWS)]
    pages = tuple(ListPage(tuple(c), page=n + 2, last=n == len(chunks) - 1)
                  for n, c in enumerate(chunks))
    listed = _invoice(4, [Line(ITEM, "（详见销货清单）", "人", len(rows), "", "3058.23", "3%",
                               "91.77")],
                      buyer="天津市北辰区某某人力资源服务有限公司",
                      remarks=(f"培训人员共 {len(rows)} 人，名单见所附销货清单（{len(pages)} 页）",),
                      list_pages=pages)
    plain = _invoice(5, [_line(2020, 1, "150.00")], buyer="天津市和平区某单位",
                     remarks=("培训人员：周芳（共 1 人）",))
    return [combined, per_person, special, listed, plain]


def _label(n: int, **changes: object) -> LabelView:
    waybill = f"SF14000000000{n:02d}"
    values: dict[str, object] = dict(
        courier="顺丰速运", waybill=waybill,
        barcode=code128_svg(waybill, width_mm=BARCODE_WIDTH_MM, height_mm=BARCODE_HEIGHT_MM),
        postage_due="13.00", sender_name="天津市政工师进修学院", sender_phone="022-23391756",
        sender_address="天津市河西区友谊路35号", recipient="赵玥", phone="13820000001",
        address="天津市武清区雍阳西道88号", unit="天津市武清区堃喆科技有限公司",
        district="武清区", invoices=1, pieces=1, weight_kg="0.20", date="2024-03-01",
        reference=f"申请编号 {n + 100}", recipient_size="l", address_size="l")
    values.update(changes)
    return LabelView(**values)  # type: ignore[arg-type]


def labels(provider_pdf: Path | None = None) -> list[LabelView]:
    """Four of our labels, and a provider's strip page when ``provider_pdf`` is given."""
    found = [
        _label(1),
        _label(2, recipient="欧阳䶮𠀀", phone="022-29341234", route="755W-021A",
               route_detail="集包地 天津转运中心　分拣 A12　时效 T4", invoices=3,
               fee_note="快递公司预估到付金额，以实际称重为准", district="宝坻区"),
        _label(3, recipient="某某某某某某有限公司收发室张三", phone="13800000000",
               recipient_size="m",
               address="天津市武清区" + "某某路某某号" * 12, address_size="s",
               unit="天津市武清区" + "超长名称" * 20 + "有限公司", invoices=12, pieces=2,
               weight_kg="1.40"),
        _label(4, numbers="12022400000000000001 等", invoices=5, recipient_size="m",
               address_size="m", address="天津市宝坻区南关大街1号院3号楼2单元501室"),
    ]
    if provider_pdf is not None:
        found.append(_label(5, provider_pdf=provider_pdf, provider_pages=1))
    return found

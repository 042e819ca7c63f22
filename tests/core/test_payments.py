from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from tests.builders.payments import Pay, payments_csv, payments_xls, payments_xlsx
from worker.db import session_factory
from worker.db.models import Payment
from worker.errors import PaymentFileError
from worker.payments import import_payment_file, read_payment_file

TZ = ZoneInfo("Asia/Shanghai")
ROWS = [
    Pay("201803010001", "张堃", "120101198001010011"),
    Pay("201803010002", "李喆", "12010119850202002X", year="2015年", amount="160元",
        paid_at="2018/4/1 8:00"),
    Pay("201803010003", "王镕", "120101199003030037", method="学习卡"),
]


@pytest.mark.parametrize("variant", ["utf8", "bom", "gb18030", "tab", "xlsx", "xls"])
def test_reads_every_export_variant(variant: str) -> None:
    data = {
        "utf8": lambda: payments_csv(ROWS),
        "bom": lambda: payments_csv(ROWS, bom=True),
        "gb18030": lambda: payments_csv(ROWS, encoding="gb18030"),
        "tab": lambda: payments_csv(ROWS, delimiter="\t"),
        "xlsx": lambda: payments_xlsx(ROWS),
        "xls": lambda: payments_xls([Pay(**{**vars(r), "paid_at": "2018-04-01 08:00:00"})
                                     if r.order_no.endswith("2") else r for r in ROWS]),
    }[variant]()
    rows, errors = read_payment_file("export", data, TZ)
    assert errors == []
    assert [r.name for r in rows] == ["张堃", "李喆", "王镕"]
    second = rows[1]
    assert second.year == 2015
    assert second.amount == Decimal("160.00")
    assert second.id_number == "12010119850202002X"
    assert second.paid_at is not None and second.paid_at.isoformat() == "2018-04-01T08:00:00+08:00"
    assert rows[2].method == "学习卡"


def test_bad_rows_are_reported_with_line_and_good_rows_load() -> None:
    data = payments_csv([
        ROWS[0],
        Pay("201803010009", "赵玥", "120101199003030037", amount="一百五"),
        Pay("", "无单号", "120101199003030037"),
        Pay("201803010010", "钱", "120101199003030037", status="处理中"),
        ROWS[1],
    ])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert [r.order_no for r in rows] == ["201803010001", "201803010002"]
    assert [(e.source, e.line) for e in errors] == [("p.csv", 3), ("p.csv", 4), ("p.csv", 5)]
    assert "金额" in errors[0].detail and "订单号" in errors[1].detail and "状态" in errors[2].detail


def test_a_file_without_the_columns_is_refused() -> None:
    with pytest.raises(PaymentFileError, match="订单号"):
        read_payment_file("x.csv", b"a,b\n1,2\n", TZ)
    with pytest.raises(PaymentFileError, match="missing columns"):
        read_payment_file("x.csv", "订单号,姓名\n1,2\n".encode(), TZ)
    with pytest.raises(PaymentFileError):
        read_payment_file("x.xlsx", b"PK\x03\x04 broken", TZ)


def test_import_is_idempotent_and_a_later_export_records_a_refund(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    first = tmp_path / "export-1.csv"
    first.write_bytes(payments_csv(ROWS, bom=True))
    with sessions.begin() as s:
        r1 = import_payment_file(s, first, TZ)
    with sessions.begin() as s:
        r2 = import_payment_file(s, first, TZ)
    assert (r1.inserted, r1.updated) == (3, 0)
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 0, 3)

    later = tmp_path / "export-2.xlsx"
    refunded = [Pay("201803010001", "张堃", "120101198001010011", status="已退款")]
    later.write_bytes(payments_xlsx(refunded))
    with sessions.begin() as s:
        r3 = import_payment_file(s, later, TZ)
    assert r3.updated == 1
    # An older export imported again does not undo the refund.
    with sessions.begin() as s:
        import_payment_file(s, first, TZ)
    with sessions() as s:
        p = s.scalars(select(Payment).where(Payment.order_no == "201803010001")).one()
        assert p.status == "已退款"
        assert s.query(Payment).count() == 3


@pytest.mark.parametrize(("method", "status", "expected"), [
    ("微信支付", "支付成功", ("在线支付", "已支付")),
    ("支付宝", "交易成功", ("在线支付", "已支付")),
    ("学习卡", "已支付", ("学习卡", "已支付")),
    ("在线支付", "退款成功", ("在线支付", "已退款")),
])
def test_platform_wording_variants(method: str, status: str, expected: tuple[str, str]) -> None:
    rows, errors = read_payment_file("x.csv", payments_csv([
        Pay("1", "张三", "120101198001010018", method=method, status=status)]), TZ)
    assert errors == [] and (rows[0].method, rows[0].status) == expected

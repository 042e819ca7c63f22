from __future__ import annotations

import io
from dataclasses import astuple
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from tests.builders.payments import HEADER, Pay, payments_csv, payments_xls, payments_xlsx
from worker.db import session_factory
from worker.db.models import Payment, PaymentImport
from worker.errors import PaymentFileError
from worker.payments import import_payment_file, read_payment_file, store_payments
from worker.validation.model import PaymentRow

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
    with pytest.raises(PaymentFileError, match="缺少列"):
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


def _export(header: list[str], *rows: list[object]) -> bytes:
    buf = io.StringIO()
    for row in (header, *rows):
        buf.write(",".join(str(c) for c in row) + "\r\n")
    return buf.getvalue().encode("gb18030")


@pytest.mark.parametrize("header", [
    "交易单号,姓名,身份证号,培训年度,金额,支付时间,支付方式,状态",
    "订单号,姓名,身份证号,培训年度,实付金额,支付时间,支付方式,订单状态",
    "订单号,姓名,身份证号,培训年度,订单金额,支付时间,支付方式,状态",
    "商户订单号,学员姓名,证件号,年份,交易金额,交易时间,支付渠道,交易状态",
])
def test_every_title_exports_give_a_column_is_read(header: str) -> None:
    """交易单号, 实付金额, 订单金额 refused the whole file: every application citing its
    orders was held PAYMENT_NOT_FOUND."""
    rows, errors = read_payment_file("p.csv", _export(header.split(","), [
        "201809010001", "张三", "120101198001010018", 2018, "150.00", "2018-05-10 09:30:00",
        "在线支付", "已支付"]), TZ)
    assert errors == [] and [(r.order_no, r.amount) for r in rows] == [
        ("201809010001", Decimal("150.00"))]


def test_of_two_columns_for_one_field_the_preferred_is_read_wherever_it_stands() -> None:
    """实付金额 is what was paid (订单金额 before a discount); the platform's 订单号 is what
    units write (交易单号 is the payment provider's)."""
    header = ["交易单号", "订单号", "姓名", "身份证号", "培训年度", "实付金额", "订单金额", "支付时间",
              "支付方式", "状态"]
    rows, errors = read_payment_file("p.csv", _export(header, [
        "4200000123", "201809010001", "张三", "120101198001010018", 2018, "135.00", "150.00",
        "2018-05-10 09:30:00", "在线支付", "已支付"]), TZ)
    assert errors == [] and [(r.order_no, r.amount) for r in rows] == [
        ("201809010001", Decimal("135.00"))]


@pytest.mark.parametrize(("refund", "stored"), [("", "已支付"), ("未退款", "已支付"),
                                                ("已退款", "已退款"), ("部分退款", "部分退款")])
def test_a_refund_status_column_beside_the_payment_status_is_read(refund: str, stored: str) -> None:
    """A 退款状态 column was not read: its order stayed 已支付 and could be invoiced."""
    header = [*HEADER, "退款状态"]
    rows, errors = read_payment_file("p.csv", _export(header, [
        "201809010001", "张三", "120101198001010018", 2018, "150.00", "2018-05-10 09:30:00",
        "在线支付", "已支付", refund]), TZ)
    assert errors == [] and rows[0].status == stored


@pytest.mark.parametrize("footer", [
    ["合计", "", "", "", "150.00", "", "", ""], ["", "总计：", "", "", "150.00"], ["共 1 条记录"],
    ["导出时间：2018-09-01 10:00:00"], ["小计（元）", "", "", "", "150"],
])
def test_a_total_or_note_under_the_records_is_skipped_quietly(footer: list[object]) -> None:
    """A trailing 合计 row was a bad row on every import: staff learned to ignore the
    list of bad rows."""
    rows, errors = read_payment_file("p.csv", _export(list(HEADER), list(astuple(ROWS[0])), footer),
                                     TZ)
    assert errors == [] and [r.order_no for r in rows] == ["201803010001"]


def test_a_bad_order_row_that_says_total_somewhere_is_still_reported() -> None:
    rows, errors = read_payment_file("p.csv", _export(list(HEADER), ["201803010001", "合计"]), TZ)
    assert rows == [] and [e.line for e in errors] == [2]


@pytest.mark.parametrize("order", ["refund-first", "refund-last"])
def test_an_export_listing_an_order_twice_keeps_its_refund(engine: Engine, order: str) -> None:
    """Newest-first exports put the refund's row above the payment's: the last row
    won, the order was stored 已支付 and invoiced."""
    paid = Pay("201803010001", "张堃", "120101198001010011")
    refund = Pay(**{**vars(paid), "status": "已退款"})
    listed = [refund, paid] if order == "refund-first" else [paid, refund]
    rows, errors = read_payment_file("p.csv", payments_csv(listed), TZ)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        result = store_payments(s, "p.csv", rows, errors)
    with sessions() as s:
        assert s.scalars(select(Payment.status)).all() == ["已退款"]
    assert (result.inserted, result.errors) == (1, [])


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


@pytest.mark.parametrize(("written", "stored"), [
    # The money was not returned: paid, as the platform kept it.
    ("退款失败", "已支付"), ("退款关闭", "已支付"), ("拒绝退款", "已支付"), ("退款已驳回", "已支付"),
    ("未退款", "已支付"), ("无退款", "已支付"), ("退款（失败）", "已支付"),
    # Neither refunded nor simply paid.
    ("部分退款", "部分退款"), ("已部分退款", "部分退款"), ("退款中", "退款中"), ("申请退款", "退款中"),
    ("退款成功", "已退款"), ("已退费", "已退款"),
])
def test_a_status_is_read_as_a_whole_word(written: str, stored: str) -> None:
    """Any status containing 退款 was read as 已退款: a refund that failed or was
    refused held the application and told the unit the order was refunded."""
    rows, errors = read_payment_file("x.csv", payments_csv([
        Pay("1", "张三", "120101198001010018", status=written)]), TZ)
    assert errors == [] and rows[0].status == stored


def test_an_unknown_status_with_a_refund_word_in_it_is_a_bad_row() -> None:
    rows, errors = read_payment_file("x.csv", payments_csv([
        Pay("1", "张三", "120101198001010018", status="退款状态未知")]), TZ)
    assert rows == [] and "状态" in errors[0].detail and "部分退款" in errors[0].detail


@pytest.mark.parametrize(("first", "then", "kept"), [
    ("部分退款", "已支付", "部分退款"), ("退款中", "已支付", "退款中"), ("退款中", "已退款", "已退款"),
    ("部分退款", "已退款", "已退款"), ("已退款", "部分退款", "已退款"),
])
def test_a_refund_begun_is_not_undone_by_an_older_export(
    engine: Engine, first: str, then: str, kept: str,
) -> None:
    sessions = session_factory(engine)
    for status in (first, then):
        rows, errors = read_payment_file("x.csv", payments_csv([
            Pay("201803010001", "张三", "120101198001010018", status=status)]), TZ)
        with sessions.begin() as s:
            store_payments(s, f"{status}.csv", rows, errors)
    with sessions() as s:
        assert s.scalars(select(Payment.status)).all() == [kept]


GOOD_FIRST = Pay("201803020001", "孙\x00涛", "120101198001010011")
GOOD_LAST = Pay("201803020099", "周𠀀", "120101198001010029")


def hostile_rows(variant: str) -> list[Pay]:
    """Each row after the first is refused, in its own way; the last one is good.
    xlsx (XML) cannot hold a NUL, so its NUL rows carry the longest values instead."""
    nul = "\x00" if variant != "xlsx" else "9" * 60
    return [
        GOOD_FIRST if variant != "xlsx" else Pay("201803020001", "孙涛", "120101198001010011"),
        Pay(f"2018{nul}0002", "赵玥", "120101198001010011"),
        Pay("9" * 100, "赵玥", "120101198001010011"),
        Pay("201803020004", "赵玥", f"1201011980{nul}0100" + "X" * 40),
        Pay("201803020005", "名" * 500, "120101198001010011"),
        Pay("201803020006", "赵玥", "120101198001010011", year="9" * 5000),
        Pay("201803020007", "赵玥", "120101198001010011", year="99999"),
        Pay("201803020008", "赵玥", "120101198001010011", amount="9" * 30),
        Pay("201803020009", "赵玥", "120101198001010011",
            paid_at="0001-01-01 00:00:00" if variant != "xls" else "1899-12-31 23:00:00"),
        GOOD_LAST,
    ]


@pytest.mark.parametrize("variant", ["csv", "xls", "xlsx"])
def test_hostile_cells_are_bad_rows_with_file_and_line_and_the_rest_loads(
    engine: Engine, tmp_path: Path, variant: str,
) -> None:
    """NUL, over-long keys, 5000-digit years, huge amounts and year-1 dates (which no
    database column takes): each is a bad row named by file and line, on SQLite and
    PostgreSQL; the import finishes and the good rows are stored."""
    rows = hostile_rows(variant)
    build = {"csv": payments_csv, "xls": payments_xls,
             "xlsx": lambda r: payments_xlsx(r, title_row=None)}[variant]
    path = tmp_path / f"export.{variant}"
    path.write_bytes(build(rows))
    sessions = session_factory(engine)
    with sessions.begin() as s:
        result = import_payment_file(s, path, TZ)
    assert [(e.source, e.line) for e in result.errors] == [
        (path.name, line) for line in range(3, len(rows) + 1)]
    assert all(len(e.detail) < 200 for e in result.errors)  # a 5000-digit cell is not echoed
    with sessions() as s:
        stored = {p.order_no: p.name for p in s.scalars(select(Payment))}
        imports = s.scalars(select(PaymentImport)).all()
    assert stored == {"201803020001": "孙\ufffd涛" if variant != "xlsx" else "孙涛",
                      "201803020099": "周𠀀"}
    assert len(imports) == 1 and "\x00" not in imports[0].errors


def test_stored_payments_are_cleaned_at_the_column(engine: Engine) -> None:
    """A row built in code (a reader's future bug, a console upload) is still stored:
    NUL and lone surrogates replaced, the file name cut to its column."""
    row = PaymentRow(order_no="201803030001", name="钱\ud800多\x00", id_number="120101198001010011",
                     year=2018, amount=Decimal("150.00"), paid_at=None, method="在线支付",
                     status="已支付")
    sessions = session_factory(engine)
    with sessions.begin() as s:
        store_payments(s, "导出\x00" + "长" * 400 + ".csv", [row], [])
    with sessions() as s:
        p = s.scalars(select(Payment)).one()
        assert p.name == "钱\ufffd多\ufffd"
        assert p.source.startswith("导出\ufffd长") and len(p.source) == 255


# --- exports as spreadsheet programs re-save them ------------------------------------


def _csv_text(rows: list[Pay], delimiter: str = ",") -> str:
    return payments_csv(rows, delimiter=delimiter).decode("utf-8")


@pytest.mark.parametrize("variant", ["gb18030-bom", "utf16-unicode-text", "sep-line",
                                     "sep-line-semicolon"])
def test_csv_as_excel_and_wps_save_it_is_read(variant: str) -> None:
    """A GB18030 file that opens with its byte-order mark, Excel's "Unicode text"
    (UTF-16, tabs) and Excel's ``sep=`` first line: each was refused as having no
    订单号 header, or stopped the import with a csv traceback."""
    data = {
        "gb18030-bom": lambda: ("\ufeff" + _csv_text(ROWS)).encode("gb18030"),
        "utf16-unicode-text": lambda: _csv_text(ROWS, "\t").encode("utf-16"),
        "sep-line": lambda: ("sep=,\r\n" + _csv_text(ROWS)).encode("utf-8-sig"),
        "sep-line-semicolon": lambda: ("sep=;\r\n" + _csv_text(ROWS, ";")).encode("gb18030"),
    }[variant]()
    rows, errors = read_payment_file("export.csv", data, TZ)
    assert errors == []
    assert [(r.order_no, r.name, r.amount) for r in rows] == [
        ("201803010001", "张堃", Decimal("150.00")), ("201803010002", "李喆", Decimal("160.00")),
        ("201803010003", "王镕", Decimal("150.00"))]
    assert rows[1].id_number == "12010119850202002X"


@pytest.mark.parametrize("written", ["2018年4月1日 8:00", "2018年4月1日 08:00:00", "2018.4.1 8:00",
                                     "2018/4/1 上午 08:00:00", "2018/4/1 下午 8:00:00"])
def test_payment_times_as_chinese_systems_show_them(written: str) -> None:
    rows, errors = read_payment_file("p.csv", payments_csv([Pay(*astuple(ROWS[1])[:5],
                                                                paid_at=written)]), TZ)
    assert errors == []
    hour = 20 if "下午" in written else 8
    assert rows[0].paid_at is not None
    assert rows[0].paid_at.isoformat() == f"2018-04-01T{hour:02d}:00:00+08:00"


@pytest.mark.parametrize("written", ["2018/11/30 23:59:59.500", "2018年11月30日 23:59:59.5",
                                     "2018.11.30 23:59:59.500", "2018-11-30 23:59:59.500"])
def test_payment_times_with_milliseconds_are_read_in_every_form(written: str) -> None:
    """Only ISO times kept their milliseconds; with slashes they were bad rows."""
    rows, errors = read_payment_file("p.csv", payments_csv([Pay(*astuple(ROWS[1])[:5],
                                                                paid_at=written)]), TZ)
    assert errors == [] and rows[0].paid_at is not None
    assert rows[0].paid_at.isoformat() == "2018-11-30T23:59:59.500000+08:00"


def test_excel_text_tricks_around_long_numbers_are_not_part_of_them() -> None:
    """Exports keep long numbers text with ``="..."`` or a leading ``'``."""
    data = payments_csv([Pay('="201803010001"', "张堃", "'12010119850202002x")])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert errors == []
    assert (rows[0].order_no, rows[0].id_number) == ("201803010001", "12010119850202002X")


def test_numbers_that_lost_their_digits_are_bad_rows_not_stored_keys() -> None:
    """An export opened and saved in Excel: long numbers in scientific notation, or
    written out from a float.  Stored, they matched no form (or the wrong trainee)."""
    data = payments_csv([
        Pay("2.01803E+14", "张堃", "120101198001010011"),
        Pay("201803010002", "李喆", "1.20101E+17"),
        Pay("201803010003", "王镕", "120101199003030037.0"),
        ROWS[0],
    ])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert [r.order_no for r in rows] == ["201803010001"]
    assert [(e.line, e.detail.split()[0]) for e in errors] == [
        (2, "订单号"), (3, "身份证号"), (4, "身份证号")]
    assert "丢失" in errors[0].detail and "丢失" in errors[2].detail


def test_numbers_excel_wrote_out_with_zeros_for_lost_digits_are_bad_rows() -> None:
    """Staff format the long columns as 数值 and save again: 120222198001010028 becomes
    …010000 and 201805100930001234 …001000. Stored as they were, units were told their
    correct numbers matched no record."""
    data = payments_csv([
        Pay("201805100930001000", "张三", "120222198001010000"),
        Pay("X0002", "李四", "120222198001010000"),
        Pay("201805100930002000", "王五", "120101198001010011"),
        ROWS[1],
    ])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert [r.order_no for r in rows] == ["201803010002"]
    assert [(e.line, e.detail.split()[0]) for e in errors] == [
        (2, "身份证号"), (3, "身份证号"), (4, "订单号")]
    assert all("末尾数字已丢失" in e.detail for e in errors)


def test_a_long_order_number_ending_in_zeros_is_kept_where_the_column_kept_its_digits() -> None:
    """Excel zeros the whole column: one long number with other digits past the 15th
    shows this file's numbers are as the platform wrote them. An ID ending 000 with
    its check digit right is a real one."""
    valid = "120101198001016000"  # its check digit is 0
    data = payments_csv([Pay("201805100930001000", "张三", valid),
                         Pay("201805100930001234", "李四", "120101198001010011")])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert errors == []
    assert [r.order_no for r in rows] == ["201805100930001000", "201805100930001234"]


def test_an_export_with_masked_ids_loads_and_tells_staff_once(engine: Engine) -> None:
    """Masked 身份证号 imported with 0 bad rows and nothing said; staff could not know
    why every line then disagreed with the records."""
    data = payments_csv([Pay("201803010001", "张*", "120101********0011"), ROWS[1]])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert [r.id_number for r in rows] == ["120101********0011", "12010119850202002X"]
    (notice,) = errors
    assert (notice.line, notice.about_file) == (1, True)
    assert "1 行的身份证号、姓名被培训平台部分遮挡" in notice.detail and "0011" not in notice.detail
    with session_factory(engine).begin() as s:
        result = store_payments(s, "p.csv", rows, errors)
    assert (result.rows, result.inserted, result.bad) == (2, 2, 0)
    assert "0 bad" in result.summary()


def test_an_id_number_typed_as_a_number_in_an_xlsx_export_is_a_bad_row() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(list(HEADER))
    ws.append(["201803010001", "张堃", 1.20101198001010e17, 2018, 150, "2018-04-01 08:00:00",
               "在线支付", "已支付"])
    ws.append(list(astuple(ROWS[1])))
    buf = io.BytesIO()
    wb.save(buf)
    rows, errors = read_payment_file("p.xlsx", buf.getvalue(), TZ)
    assert [r.order_no for r in rows] == ["201803010002"]
    assert [(e.line, e.detail.split()[0]) for e in errors] == [(2, "身份证号")]


def test_the_records_are_read_from_the_first_visible_sheet() -> None:
    """WPS and Excel templates keep the lists behind drop-downs on a hidden first
    sheet: the export was refused as having no 订单号 header."""
    wb = Workbook()
    lists = wb.active
    lists.title = "字典"
    lists.append(["在线支付"])
    lists.sheet_state = "hidden"
    ws = wb.create_sheet("订单")
    ws.append(list(HEADER))
    for row in ROWS:
        ws.append(list(astuple(row)))
    buf = io.BytesIO()
    wb.save(buf)
    rows, errors = read_payment_file("p.xlsx", buf.getvalue(), TZ)
    assert errors == [] and len(rows) == 3


def test_a_csv_the_reader_cannot_split_is_a_file_error_not_a_traceback() -> None:
    """An unclosed quote swallows the rest of a big file into one field, past the csv
    module's field limit: csv.Error stopped the import with a traceback."""
    rows = [Pay(f"2018030{i:05d}", "张堃", "120101198001010011") for i in range(3000)]
    data = payments_csv(rows).replace(b"\n201803000001,", b'\n"201803000001,')
    with pytest.raises(PaymentFileError, match=r"p\.csv:\d+: 无法按 CSV 读取"):
        read_payment_file("p.csv", data, TZ)


def test_an_excel_export_that_is_a_web_page_is_read() -> None:
    """Web platforms' "导出Excel" is often an HTML table named .xls: it was refused as
    having no 订单号 header."""
    cells = [HEADER, *(astuple(row) for row in ROWS)]
    table = "".join("<tr>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>" for row in cells)
    page = ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="gbk">'
            f'</head><body><table border="1">{table}</table></body></html>')
    rows, errors = read_payment_file("订单导出.xls", page.encode("gb18030"), TZ)
    assert errors == []
    assert [(r.order_no, r.name, r.method) for r in rows] == [
        ("201803010001", "张堃", "在线支付"), ("201803010002", "李喆", "在线支付"),
        ("201803010003", "王镕", "学习卡")]
    with pytest.raises(PaymentFileError, match="没有表格"):
        read_payment_file("x.xls", b"<html><body>no data</body></html>", TZ)


def test_an_amount_with_a_comma_that_does_not_group_thousands_is_a_bad_row() -> None:
    """``1,500.00`` is 1500; ``150,00`` (a decimal comma) is never guessed as 15000."""
    data = payments_csv([Pay("201803010001", "张堃", "12010119850202002X", amount="1,500.00"),
                         Pay("201803010002", "李喆", "12010119850202002X", amount="150,00"),
                         Pay("201803010003", "王镕", "12010119850202002X", amount="1,5000")])
    rows, errors = read_payment_file("p.csv", data, TZ)
    assert [(r.order_no, r.amount) for r in rows] == [("201803010001", Decimal("1500.00"))]
    assert [(e.line, "金额" in e.detail) for e in errors] == [(3, True), (4, True)]


def _inflated(data: bytes, member: str, padding: int) -> bytes:
    """``data`` with ``padding`` bytes of white space inside ``member``'s root element:
    a few KB compressed, ``padding`` bytes once opened."""
    from tests.builders.formats import rewrite_xlsx

    def pad(xml: bytes) -> bytes:
        end = xml.rindex(b"</")
        return xml[:end] + b" " * padding + xml[end:]
    return rewrite_xlsx(data, {member: pad})


@pytest.mark.parametrize(("padding", "said"), [
    (64 * 1024 * 1024, "压缩比异常"),        # a zip bomb: refused before openpyxl opens it
])
def test_a_workbook_that_inflates_too_far_is_refused_unopened(padding: int, said: str) -> None:
    """A 1.5 MB upload that inflated to 1.5 GB took 3 GB of memory in the console, then
    failed as 'no header row'; exports pass the form reader's zip vetting first."""
    data = _inflated(payments_xlsx(ROWS), "xl/worksheets/sheet1.xml", padding)
    assert len(data) < 1024 * 1024
    with pytest.raises(PaymentFileError, match=said):
        read_payment_file("p.xlsx", data, TZ)


def test_an_export_that_passes_the_vetting_is_read_as_before() -> None:
    padded = _inflated(payments_xlsx(ROWS), "xl/worksheets/sheet1.xml", 200 * 1024)
    rows, errors = read_payment_file("p.xlsx", padded, TZ)
    assert len(rows) == len(ROWS) and not errors


@pytest.mark.parametrize("broken", [
    b'<row r="9"><c r="A9"></row>',                      # a tag not closed
    b'<row r="9"><c r="A9" t="inlineStr"><is><t>&x;</t></is></c></row>',  # an undefined entity
])
def test_an_xlsx_export_with_a_broken_sheet_is_refused_with_a_reason(broken: bytes) -> None:
    """Read as iterated, a malformed sheet failed mid-import with a traceback (the CLI)
    and a 500 (the console's upload): it is one PaymentFileError naming the file."""
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["订单号", "姓名", "身份证号", "培训年度", "金额", "支付时间", "支付方式", "状态"])
    wb.active.append(["TJX1", "王", "12011419670303074X", 2018, 150, "2018-06-14 10:21:00", "在线支付",
                      "已支付"])
    good, out = io.BytesIO(), io.BytesIO()
    wb.save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", broken + b"</sheetData>")
            dst.writestr(name, data)
    with pytest.raises(PaymentFileError, match=r"bad\.xlsx: 不是可读取的 \.xlsx 文件"):
        read_payment_file("bad.xlsx", out.getvalue(), TZ)

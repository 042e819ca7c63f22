"""Label matching: decorations are ignored, but near-misses are not confused."""

from __future__ import annotations

import pytest

from worker.form import HEADER_FIELDS
from worker.form.labels import column_key, header_key, is_note_text, is_total_text, split_label


@pytest.mark.parametrize(
    "text",
    [
        "单位名称",
        "*单位名称",
        "单位名称*",
        "单位名称：",
        "单位名称:",
        " 单 位 名 称 ",
        "＊单位名称：",
        "单位名称\u3000",
    ],
)
def test_decorated_labels_match(text: str) -> None:
    assert header_key(text) == "unit"


def test_every_declared_label_matches_its_key() -> None:
    for key, labels in HEADER_FIELDS.items():
        for label in labels:
            assert header_key(label) == key, label


def test_contact_phone_is_not_contact() -> None:
    assert header_key("经办人电话") == "contact_phone"
    assert header_key("经办人联系电话：") == "contact_phone"
    assert header_key("经办人") == "contact"
    assert split_label("经办人电话：13800000000") == ("contact_phone", "13800000000")
    assert split_label("经办人：张三") == ("contact", "张三")


def test_recipient_phone_is_not_recipient() -> None:
    assert header_key("收件人电话") == "recipient_phone"
    assert header_key("收件人地址") == "recipient_address"
    assert header_key("收件人") == "recipient"


def test_bracketed_hint_is_ignored() -> None:
    assert header_key("纳税人识别号（统一社会信用代码）") == "tax_id"
    assert header_key("开票方式(合并开具/每人一张)") == "issue_mode"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("单位名称：某某公司", ("unit", "某某公司")),
        ("单位名称:某某公司", ("unit", "某某公司")),
        ("*所属区： 武清区 ", ("district", "武清区")),
        ("所属区：", ("district", None)),  # value is to the right
        ("所属区", ("district", None)),
        ("所属区 武清区", ("district", "武清区")),
        (
            "地址电话：天津市武清区1号 022-12345678",
            ("address_phone", "天津市武清区1号 022-12345678"),
        ),
    ],
)
def test_split_label(text: str, expected: tuple[str, str | None]) -> None:
    assert split_label(text) == expected


@pytest.mark.parametrize(
    "text", ["天津市武清区某某有限公司", "2. 发票类型：可选", "单位名称某某", "", "经办人员"]
)
def test_non_labels(text: str) -> None:
    assert split_label(text) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("金额（元）", "amount"),
        ("金额(元)", "amount"),
        ("金额", "amount"),
        ("缴费金额", "amount"),
        ("身份证号码", "id_number"),
        ("订单编号", "order_no"),
        (" 姓 名 ", "name"),
        ("序号", "seq"),
        ("培训年度", "year"),
        ("备注", None),
    ],
)
def test_column_keys(text: str, key: str | None) -> None:
    assert column_key(text) == key


def test_total_and_note_words() -> None:
    assert is_total_text("合计")
    assert is_total_text("合 计：")
    assert is_total_text("总计3人")
    assert not is_total_text("合同")
    assert is_note_text("注：请用 Excel 填写")
    assert is_note_text("填表说明：")
    assert is_note_text("说明")
    assert not is_note_text("注销")


@pytest.mark.parametrize(("text", "key"), [
    ("经办人手机", "contact_phone"), ("经办人姓名", "contact"), ("收件人姓名", "recipient"),
    ("快递收件地址", "recipient_address"), ("所在区县", "district"), ("收件人手机", "recipient_phone"),
    ("开户行及银行账号", "bank_account"),
])
def test_wordings_units_use(text: str, key: str) -> None:
    assert header_key(text) == key


def test_long_cells_are_values_and_read_in_linear_time() -> None:
    """A hostile 32,000-character cell of unclosed brackets (quadratic for a naive hint
    pattern) is simply not a label; a long value after a label still is read."""
    assert header_key("(a" * 16_000) is None
    assert split_label("(a" * 16_000) is None
    assert split_label("单位名称：" + "某" * 5_000) == ("unit", "某" * 5_000)
    assert header_key("纳税人识别号（统一社会信用代码）") == "tax_id"


def test_is_column_answers_as_column_key_does() -> None:
    from worker.fields import COLUMNS
    from worker.form.labels import is_column
    from worker.text import normalize

    texts = [normalize(f"{pre}{label}{post}") for c in COLUMNS for label in c.labels
             for pre in ("", "*", " ") for post in ("", "：", "（必填）", " (元)")]
    texts += ["彭平", "名姓", "王名", "1", "", "合计", "金额元整"]
    for text in texts:
        for column in COLUMNS:
            assert is_column(text, column.key) == (column_key(text) == column.key), (text, column.key)


@pytest.mark.parametrize(("text", "key"), [
    # a slash-joined label in either order
    ("统一社会信用代码/纳税人识别号", "tax_id"), ("纳税人识别号／统一社会信用代码", "tax_id"),
    ("纳税识别号", "tax_id"), ("购方税号", "tax_id"),
    # the pair units write for 经办人 / 经办人电话 on their own copy of the form
    ("联系人", "contact"), ("联系电话", "contact_phone"), ("联系人电话：", "contact_phone"),
    ("单位全称", "unit"), ("申请单位", "unit"),
    # the recipient's phone keeps its own labels
    ("收件人电话", "recipient_phone"),
])
def test_label_wordings_units_type(text: str, key: str) -> None:
    assert header_key(text) == key


@pytest.mark.parametrize(("text", "key"), [
    ("公民身份证号码", "id_number"), ("身份证件号码", "id_number"),
    ("培训费（元）", "amount"), ("应缴金额", "amount"), ("缴费订单号", "order_no"),
])
def test_column_wordings_units_type(text: str, key: str) -> None:
    assert column_key(text) == key


def test_a_form_with_those_wordings_is_complete(fmt: str) -> None:
    from tests.builders.form import DEFAULT_VALUES, GridSheet, grid_to_xls, grid_to_xlsx, make_id_number
    from worker.form import read_form

    rows = [["单位全称", DEFAULT_VALUES["unit"], "所属区", "武清区"],
            ["统一社会信用代码/纳税人识别号", DEFAULT_VALUES["tax_id"]],
            ["联系人", "张丽", "联系电话", "13820001234"],
            [],
            ["序号", "姓名", "公民身份证号码", "缴费订单号", "培训年度", "培训费（元）"],
            [1, "王伟", make_id_number(seq=1), "201800000000001", 2018, 150]]
    write = grid_to_xlsx if fmt == "xlsx" else grid_to_xls
    form = read_form(f"a.{fmt}", write([GridSheet("申请表", rows)]))
    assert {k: form.header[k] for k in ("unit", "tax_id", "contact", "contact_phone")} == {
        "unit": DEFAULT_VALUES["unit"], "tax_id": DEFAULT_VALUES["tax_id"], "contact": "张丽",
        "contact_phone": "13820001234"}
    assert [(line.name, line.amount) for line in form.lines] == [("王伟", 150)]

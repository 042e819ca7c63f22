"""The one field registry: every fact about an application's header fields and the
trainee table's columns, stated once.

Everything else derives from here: the labels the form reader accepts
(``worker.form.labels``), the blank form's rows (``worker.form.template``), the
checks' ``Draft`` (``worker.validation.model``), the required-field checks
(``worker.validation.checks``), how long a stored value may be (``worker.intake.record``,
``worker.staff.actions``), which fields staff may edit and where the console shows
them, and the column lengths in ``worker.db.models`` (``String(field.length)``).

Adding a header field: one ``Field`` below, its column in ``worker/db/models/mail.py``
(``String(FIELD["key"].length)``) and a migration; ``tests/core/test_fields.py``
fails until the model column exists with the registry's length. The form's
reading, the blank form, the checks' draft, storage truncation, staff edits and the
console follow by themselves. Where a value needs normalising (district names,
invoice type), that rule lives in ``worker.validation.normalize`` and is applied
in ``worker.intake.analyse``.

This module imports nothing from the rest of the worker (only ``worker.status``), so
every stage, the ORM included, can read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from worker.status import InvoiceType, IssueMode


class Required(StrEnum):
    """When a field must be filled (SPEC §3)."""

    ALWAYS = "always"
    SPECIAL = "special"    # only for 增值税专用发票 (SPECIAL_INVOICE_INCOMPLETE)
    NEVER = "never"


class Group(StrEnum):
    """Where a field belongs: the form's header, or where the parcel goes (which may
    come from the mail body instead; missing ones are MISSING_RECIPIENT, not
    FORM_INCOMPLETE)."""

    HEADER = "header"
    RECIPIENT = "recipient"


@dataclass(frozen=True)
class Field:
    """One header field of the application form.

    ``key`` is the attribute on ``Draft`` and the ``applications`` column; ``form_key``
    (when it differs) is the key the form reader files the value under and the
    stored ``header_json`` keeps. ``title`` is what staff and units read and what the
    blank form prints; ``aliases`` are the other labels units write. ``length`` is the
    column length in characters: longer values are cut when stored and refused when
    staff type them. ``form_row`` places the label on the blank form (fields sharing
    a row sit side by side, in registry order; one alone spans the row), ``as_text``
    makes that cell text-formatted (Excel keeps all digits), ``choices`` are the
    canonical values a drop-down offers and the checks name when it is unreadable.
    """

    key: str
    title: str
    aliases: tuple[str, ...]
    length: int
    required: Required
    group: Group = Group.HEADER
    editable: bool = True
    form_key: str = ""
    form_row: int | None = None
    as_text: bool = False
    choices: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label accepted for the field; the first is what the blank form prints."""
        return (self.title, *self.aliases)

    @property
    def header_key(self) -> str:
        """The key of the value in the form reader's header dict."""
        return self.form_key or self.key


FIELDS: tuple[Field, ...] = (
    Field("unit", "单位名称", ("单位", "工作单位", "单位全称", "申请单位", "申请单位名称"), 255,
          Required.ALWAYS, form_row=1),
    Field("district", "所属区",
          ("所属区县", "区县", "所在区", "所在区县", "所属区域", "区域"), 32, Required.ALWAYS,
          form_row=1),
    Field("invoice_type", "发票类型", ("发票种类",), 32, Required.NEVER, form_row=2,
          choices=tuple(InvoiceType)),
    Field("buyer_name", "发票抬头", ("抬头", "购买方名称", "发票抬头名称", "开票名称"), 255,
          Required.NEVER, form_row=3),
    # A slash-joined label is read in either order (worker.form.labels).
    Field("tax_id", "纳税人识别号", ("统一社会信用代码", "税号", "纳税人识别号/统一社会信用代码",
                                "纳税识别号", "购方税号", "购买方税号", "购买方纳税人识别号"),
          64, Required.ALWAYS, form_row=3, as_text=True),
    Field("address_phone", "地址电话",
          ("地址、电话", "地址及电话", "单位地址电话", "注册地址及电话"), 500, Required.SPECIAL,
          form_row=4),
    Field("bank_account", "开户行及账号",
          ("开户行及帐号", "开户银行及账号", "开户行及银行账号", "开户银行及帐号"), 500,
          Required.SPECIAL, form_row=4),
    Field("issue_mode", "开票方式", (), 16, Required.NEVER, form_row=2, choices=tuple(IssueMode)),
    # 联系人 / 联系电话: on a form they are the pair units write for 经办人 / 经办人电话
    # (the header block names who applies; where the parcel goes is 收件人 / 收件电话).
    # In a mail body the same words speak for the recipient (worker.recipient_labels).
    Field("contact", "经办人", ("经办人姓名", "联系人", "联系人姓名"), 100, Required.ALWAYS,
          form_row=5),
    Field("contact_phone", "经办人电话",
          ("经办人联系电话", "经办人手机", "经办人联系方式", "经办人手机号", "联系电话", "联系人电话",
           "联系人手机", "联系方式"), 64, Required.ALWAYS, form_row=5, as_text=True),
    Field("recipient_name", "收件人", ("收件人姓名",), 100, Required.ALWAYS, Group.RECIPIENT,
          form_key="recipient", form_row=6),
    Field("recipient_phone", "收件电话",
          ("收件人电话", "收件人手机", "收件人联系电话", "收件人联系方式"), 64, Required.ALWAYS,
          Group.RECIPIENT, form_row=6, as_text=True),
    Field("recipient_address", "收件地址",
          ("收件人地址", "邮寄地址", "快递收件地址", "快递地址", "寄送地址"), 500, Required.ALWAYS,
          Group.RECIPIENT, form_row=7),
    # Where the 电子发票服务平台 mails the issued 数电票 (batch workbook column AE) and,
    # with [invoicing] delivery = "email", where our reply with its files goes; empty:
    # the mail's sender (worker.taxflow.export).
    Field("buyer_email", "购买方邮箱", ("电子邮箱", "接收邮箱", "收票邮箱", "邮箱", "电子邮件"), 320,
          Required.NEVER, form_row=8, as_text=True),
)

#: The registry by ``key``.
FIELD: dict[str, Field] = {f.key: f for f in FIELDS}


def in_group(group: Group) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.group is group)


def required(when: Required, group: Group = Group.HEADER) -> tuple[Field, ...]:
    return tuple(f for f in in_group(group) if f.required is when)


def titles(fields: Iterable[Field]) -> dict[str, str]:
    """``key -> title`` for the given fields, in their order."""
    return {f.key: f.title for f in fields}


def clip(values: dict[str, str]) -> dict[str, str]:
    """Each registry field's value cut to its column length (the stored form keeps
    what fits; the full text stays in the attachment)."""
    return {f.key: values[f.key][:f.length] for f in FIELDS}


@dataclass(frozen=True)
class Column:
    """One column of the trainee table.

    ``title`` is the header the blank form prints and messages name; ``aliases`` the
    other headers units write. ``length`` is the stored text's column length: of the
    value itself, or for ``parsed`` columns (a number read from text) of the text as
    written (``<key>_raw``). ``number_format`` is the blank form's cell format.
    """

    key: str
    title: str
    aliases: tuple[str, ...]
    required: bool
    length: int | None = None
    parsed: bool = False
    number_format: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.title, *self.aliases)

    @property
    def text_key(self) -> str | None:
        """The stored text attribute whose length is ``length`` (None: no text kept)."""
        if self.length is None:
            return None
        return f"{self.key}_raw" if self.parsed else self.key


COLUMNS: tuple[Column, ...] = (
    Column("seq", "序号", ("序",), required=False),
    Column("name", "姓名", ("学员姓名",), required=True, length=100),
    Column("id_number", "身份证号", ("身份证号码", "身份证", "公民身份号码", "证件号码",
                                   "公民身份证号码", "身份证件号码", "公民身份证号"),
           required=True, length=64, number_format="@"),
    Column("order_no", "订单号", ("订单编号", "订单号码", "缴费订单号", "支付订单号"), required=True,
           length=64,
           number_format="@"),
    Column("year", "培训年度", ("年度", "培训年份"), required=True, length=64, parsed=True,
           number_format="0"),
    Column("amount", "金额（元）", ("金额", "金额(元)", "缴费金额", "缴费金额（元）", "金额元",
                                "培训费", "培训费用", "应缴金额", "实缴金额"),
           required=True, length=64, parsed=True, number_format="0.00"),
)

#: Stored text attribute of a trainee line -> its column length.
LINE_TEXT_LENGTHS: dict[str, int] = {
    c.text_key: c.length for c in COLUMNS if c.text_key is not None and c.length is not None
}

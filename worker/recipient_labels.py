"""The labels units put before a parcel recipient's details in a mail body (收件人：,
电话：, 收件地址：…), what each stands for and how strongly it speaks for the recipient
(``worker.recipient`` reads the body with them)."""

from __future__ import annotations

import re

NAME, PHONE, ADDRESS = "name", "phone", "address"
CONTEXT, OTHER, STOP = "context", "other", "stop"
MISSING_NAMES = {NAME: "收件人", PHONE: "收件电话", ADDRESS: "收件地址"}

# (label, kind, strength): strength 2 = explicitly about the recipient, 1 = generic.
LABELS: list[tuple[str, str, int]] = [
    *((label, NAME, 2) for label in (
        "收件人姓名", "收件人名字", "收货人姓名", "收件人", "收货人", "收件姓名")),
    *((label, PHONE, 2) for label in (
        "收件人联系电话", "收件人联系方式", "收件人手机号码", "收件人手机号", "收件人手机",
        "收件人电话", "收货人电话", "收货人手机", "收件电话", "收件手机", "收货电话")),
    *((label, ADDRESS, 2) for label in (
        "收件人地址", "收货人地址", "收件地址", "收货地址", "邮寄地址", "寄送地址", "快递地址",
        "邮寄至", "寄送至", "寄至")),
    *((label, CONTEXT, 2) for label in (
        "收件人信息", "收件信息", "收货信息", "邮寄信息", "寄送信息", "快递信息")),
    *((label, NAME, 1) for label in ("联系人姓名", "联系人", "姓名")),
    *((label, PHONE, 1) for label in (
        "联系人电话", "联系人手机", "联系电话", "联系手机", "手机号码", "手机号", "电话号码",
        "联系方式", "手机", "电话")),
    *((label, ADDRESS, 1) for label in ("通讯地址", "联系地址", "详细地址", "地址")),
    *((label, OTHER, 0) for label in (
        "经办人电话", "经办人姓名", "经办人", "发件人", "寄件人", "填表人", "负责人",
        "开票人", "审核人", "申请人")),
    *((label, STOP, 0) for label in (
        "地址电话", "地址及电话", "单位地址", "单位电话", "单位名称", "邮政编码", "邮编",
        "纳税人识别号", "税号", "开户行", "备注", "身份证号", "邮箱", "传真", "日期")),
]
LABEL_INFO = {label: (kind, strength) for label, kind, strength in LABELS}
AFTER_NAME = 0.5  # a phone or address after the name on its line, not labelled itself
LABEL_RE = re.compile(
    "|".join(
        r"\s*".join(map(re.escape, label))
        for label in sorted(LABEL_INFO, key=len, reverse=True)
    )
)

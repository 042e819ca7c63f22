"""Template helpers: local times, amounts, the reason table's words, status names."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask

from worker.config import Config
from worker.db.models import Invoice
from worker.staff.actions import EDITABLE, STATUS_TEXT
from worker.status import ApplicationStatus, AuditAction, InvoiceState
from worker.text import money
from worker.validation import Code, explain

ACTIONS: dict[str, str] = {
    AuditAction.CORRECT: "修改", AuditAction.DROP_LINE: "删除学员行",
    AuditAction.RESTORE_LINE: "恢复学员行", AuditAction.RECHECK: "重新检查",
    AuditAction.APPROVE: "批准开具", AuditAction.REJECT: "退回",
    AuditAction.IMPORT_PAYMENTS: "导入缴费记录", AuditAction.RENDER: "生成 PDF",
    AuditAction.REPRINT: "重印", AuditAction.END_SESSIONS: "结束会话",
    AuditAction.PASSWORD: "修改密码", AuditAction.RETRY_REPLY: "重发回复",
    AuditAction.DISABLE_STAFF: "停用账号", AuditAction.ENABLE_STAFF: "启用账号",
    AuditAction.RESHIP: "重新寄出", AuditAction.SEND_NOTICE: "发送退件通知",
    AuditAction.REVERSE: "红冲",
}
"""Each audit action in Chinese; a test keeps it complete."""


INVOICE_STATES: dict[str, str] = {
    InvoiceState.PLANNED: "待导出", InvoiceState.EXPORTED: "已导出，待开具",
    InvoiceState.ISSUED: "已开具", InvoiceState.FAILED: "开具失败",
    InvoiceState.REVERSED: "已红冲",
}
"""Each invoice state in Chinese (the dashboard, the 税务平台 page, the audit log)."""


def invoice_no(invoice: Invoice) -> str:
    """An invoice as staff name it (``Invoice.reference``): its number, else its 流水号."""
    return invoice.reference


KEYS = {
    **EDITABLE, "reasons": "原因", "status": "状态", "dropped": "删除", "waived": "确认忽略",
    "invoices": "发票", "waybill": "运单", "line": "学员行", "file": "文件", "rows": "行数",
    "inserted": "新增", "updated": "更新", "unchanged": "未变", "bad": "有问题的行",
    "files": "文件", "pending_invoices": "待生成发票", "pending_labels": "待生成面单",
    "sessions": "结束的会话数", "whose": "范围",
    "reply": "回复邮件", "outbox": "发送状态", "account": "账号", "active": "启用",
    "invoice": "发票", "state": "发票状态", "orders": "释放的订单", "confirmation_no": "红字确认单编号",
}
PAIRS = {*EDITABLE, "reasons", "status", "dropped", "pending_invoices", "pending_labels", "outbox",
         "active", "state"}


def change_lines(changes: dict[str, Any], programme: object) -> list[str]:
    """An audit entry's changes as staff read them: 收件人：（空）→ 孙老师."""
    def reason(code: str) -> str:
        base, _, line = code.partition("@")
        title = explain(base, programme).title if base in Code.__members__ else base
        return title + (f"（第 {line} 行）" if line else "")

    def show(key: str, value: Any) -> str:
        if key in ("reasons", "waived") and isinstance(value, list):
            return "、".join(reason(str(c)) for c in value) or "无"
        if key == "status" and isinstance(value, str):
            return status_text(value)
        if key == "state" and isinstance(value, str):
            return INVOICE_STATES.get(value, value)
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(str(v).rsplit("/", 1)[-1] for v in value) or "无"
        return "（空）" if value in ("", None) else str(value)

    out = []
    for key, value in changes.items():
        label = KEYS.get(key, key)
        if key in PAIRS and isinstance(value, list) and len(value) == 2:
            out.append(f"{label}：{show(key, value[0])} → {show(key, value[1])}")
        else:
            out.append(f"{label}：{show(key, value)}")
    return out


def status_text(value: str) -> str:
    try:
        return STATUS_TEXT[ApplicationStatus(value)]
    except ValueError:
        return value


def install(app: Flask, config: Config) -> None:
    tz = config.tz

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    def amount(value: Decimal | None) -> str:
        return money(value) if value is not None else ""

    def reason_title(code: str) -> str:
        return explain(code, config.programme).title

    def reason_advice(code: str) -> str:
        return explain(code, config.programme).advice

    def short_path(value: str) -> str:
        """Batch folder and file name: every batch's file is called invoices.pdf."""
        return "/".join(value.replace("\\", "/").rsplit("/", 2)[-2:])

    app.jinja_env.filters.update(local=local, amount=amount, status_text=status_text,
                                 reason_title=reason_title, reason_advice=reason_advice,
                                 short_path=short_path, invoice_no=invoice_no,
                                 invoice_state=lambda s: INVOICE_STATES.get(s, s),
                                 changes=lambda c: change_lines(c, config.programme),
                                 action_text=lambda a: ACTIONS.get(a, a))
    app.jinja_env.globals.update(
        STATUSES=[(s.value, STATUS_TEXT[s]) for s in ApplicationStatus],
        INVOICE_STATES=list(INVOICE_STATES.items()),
        ACTIONS=list(ACTIONS.items()),
        CODES=[(c.value, explain(c, config.programme).title) for c in Code],
    )

"""A payment export uploaded in the console: the CLI's reader and importer, audited."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.errors import PaymentFileError
from worker.payments import ImportResult, read_payment_file, store_payments
from worker.staff.accounts import Actor
from worker.staff.audit import record
from worker.staff.errors import ActionRefused
from worker.status import AuditAction

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def upload_name(filename: str | None) -> str:
    """The file's own name (browsers may send a whole Windows path), printable, short."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = _UNSAFE.sub("", name).strip()
    return (name or "upload")[:200]


def import_upload(sessions: sessionmaker[Session], config: Config, actor: Actor,
                  filename: str | None, data: bytes) -> ImportResult:
    """Read and store in one transaction with the audit entry; a file that cannot be
    read at all changes nothing and says why."""
    name = upload_name(filename)
    if not data:
        raise ActionRefused("请选择要上传的缴费记录文件（CSV 或 xlsx）")
    try:
        rows, errors = read_payment_file(name, data, config.tz)
    except PaymentFileError as e:
        raise ActionRefused(f"无法读取 {name}：{e}") from e
    with sessions.begin() as session:
        result = store_payments(session, name, rows, errors)
        record(session, actor, AuditAction.IMPORT_PAYMENTS, changes={
            "file": name, "rows": result.rows, "inserted": result.inserted,
            "updated": result.updated, "unchanged": result.unchanged, "bad": result.bad,
        })
    return result

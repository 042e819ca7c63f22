"""Logs a person can follow (issue 11 item 6).

* One line per mail: its application ids, sender, unit(s), outcome and reasons, never
  the Maildir key or IMAP UID alone (``log_mail``).
* Library noise off by default: fontTools logs every font subset at INFO (162 of the
  demo's 185 lines), weasyprint, PIL and APScheduler's "job executed" likewise. They
  stay at WARNING unless ``--log-level debug``.
* ``--log-format json``: one JSON object per line for a collector (journald, Loki,
  ELK): ``time`` (ISO 8601 UTC), ``level``, ``logger``, ``message``, and the record's
  structured fields (``mail`` for the per-mail line), ``exc`` with a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from worker.intake.record import Outcome

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
NOISY = ("fontTools", "weasyprint", "PIL", "alembic", "apscheduler", "urllib3", "flufl.lock",
         "mail.log")  # mail.log: aiosmtpd's, when the tests' server runs in-process
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STRUCTURED = ("mail",)   # extra= keys copied into the JSON line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in STRUCTURED:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger once per process (replaces earlier handlers)."""
    if level not in LEVELS or fmt not in FORMATS:
        raise ValueError(f"log level {level!r} / format {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def mail_fields(uid: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "uid": uid, "mail_id": outcome.mail_id, "sender": outcome.sender,
        "outcome": str(outcome.status), "duplicate": outcome.duplicate,
        "applications": [{"id": a.id, "unit": a.unit, "status": a.status, "reasons": list(a.reasons)}
                         for a in outcome.applications],
    }


def log_mail(log: logging.Logger, uid: str, outcome: Outcome) -> None:
    """``mail 42 from unit@163.com: held; application 7 天津市某某公司 held
    [MISSING_RECIPIENT, PAYMENT_NOT_FOUND@3]; application 8 … accepted``."""
    if outcome.duplicate:
        log.info("mail %d (uid %s): already processed as %s, moved again", outcome.mail_id, uid,
                 outcome.status, extra={"mail": mail_fields(uid, outcome)})
        return
    apps = "; ".join(
        f"application {a.id} {a.unit or '(no unit)'} {a.status}"
        + (f" [{', '.join(a.reasons)}]" if a.reasons else "") for a in outcome.applications)
    log.info("mail %d from %s: %s; %s", outcome.mail_id, outcome.sender or "(no sender)",
             outcome.status, apps or "no application", extra={"mail": mail_fields(uid, outcome)})

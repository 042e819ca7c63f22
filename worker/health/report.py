"""Is the worker healthy? What `invoice-worker status`, the dashboard and /healthz say.

Unhealthy (issue 11 item 3, SPEC §5 ``status``) when
* the worker looks stopped: no pass has succeeded within 3 × ``schedule.poll_minutes``
  (or none ever has), or
* replies are failing: a reply waits for an SMTP server that refused or could not be
  reached (an outbox row in ``retry`` whose last error is the server's), or a reply
  was given up and none has been sent since.
A number range (invoice numbers, waybills) with less than 10 % left is a warning: it
is shown, but does not make the worker unhealthy until it runs out (then passes fail).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import Counter, JobRun, OutboxMessage
from worker.db.types import utcnow
from worker.health.runs import Job
from worker.replies.outbox import SERVER
from worker.status import OutboxStatus

STALE_POLLS = 3          # issue 11: "older than 3 × poll interval"
LOW_RANGE = 0.10         # issue 11: "warn under 10 %"
RECENT = 10
GIVEN_UP_SHOWN = 50


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    counts: dict[str, Any]
    error_kind: str | None
    error: str | None

    @classmethod
    def of(cls, row: JobRun) -> Run:
        try:
            counts = json.loads(row.counts or "{}")
        except ValueError:
            counts = {}
        return cls(row.id, row.job, row.trigger, row.started_at, row.finished_at, row.ok,
                   counts if isinstance(counts, dict) else {}, row.error_kind, row.error)


@dataclass(frozen=True)
class Range:
    """A configured number range: how much of it is left."""

    name: str            # 发票号码, 运单号
    first: int
    last: int
    next: int

    @property
    def left(self) -> int:
        return max(0, self.last - max(self.next, self.first) + 1)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def percent_left(self) -> float:
        return 100.0 * self.left / self.size if self.size > 0 else 0.0

    @property
    def low(self) -> bool:
        return self.left < LOW_RANGE * self.size


@dataclass(frozen=True)
class GivenUp:
    id: int
    recipient: str
    subject: str
    error: str
    attempts: int
    created_at: datetime
    application_id: int | None


@dataclass(frozen=True)
class Problem:
    code: str            # stopped, replies_failing (exit non-zero); range_low (warning)
    text: str
    fatal: bool = True


@dataclass
class Health:
    now: datetime
    poll_minutes: float
    recent: list[Run]
    last_pass: Run | None
    last_ok_pass: Run | None
    last_errors: dict[str, Run]                # error kind -> the newest run with it
    ranges: list[Range]
    given_up: list[GivenUp]
    waiting_for_server: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)

    @property
    def exit_code(self) -> int:
        """0 healthy; 1 stopped or replies failing (a monitor alerts on it)."""
        return 0 if self.ok else 1


def check(session: Session, config: Config, now: datetime | None = None) -> Health:
    """Read the recorded runs, the outbox and the counters; ``now`` for tests."""
    now = now or utcnow()
    recent = [Run.of(r) for r in session.scalars(
        select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(RECENT))]
    last_pass = _newest(session, JobRun.job == Job.PASS)
    last_ok = _newest(session, JobRun.job == Job.PASS, JobRun.ok.is_(True),
                      JobRun.finished_at.is_not(None))
    last_errors: dict[str, Run] = {}
    for kind in session.scalars(select(JobRun.error_kind).where(JobRun.error_kind.is_not(None))
                                .distinct()):
        run = _newest(session, JobRun.error_kind == kind)
        if run is not None:
            last_errors[kind] = run
    health = Health(now, config.schedule.poll_minutes, recent, last_pass, last_ok, last_errors,
                    ranges(session, config), given_up(session), _waiting_for_server(session))
    health.problems = _problems(session, health)
    return health


def _newest(session: Session, *where: Any) -> Run | None:
    row = session.scalars(select(JobRun).where(*where)
                          .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
    return None if row is None else Run.of(row)


def ranges(session: Session, config: Config) -> list[Range]:
    """The paper invoice numbers and the courier's waybills (counter names as issuing uses)."""
    inv, cour = config.invoice, config.courier
    out = []
    for name, counter, first, last in (
            ("发票号码", f"invoice:{inv.code}", inv.first_number, inv.last_number),
            ("运单号", f"waybill:{cour.waybill_prefix}", cour.waybill_first, cour.waybill_last)):
        row = session.get(Counter, counter)
        out.append(Range(name, first, last, row.next_value if row else first))
    return out


def given_up(session: Session, limit: int = GIVEN_UP_SHOWN) -> list[GivenUp]:
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
                           .order_by(OutboxMessage.id.desc()).limit(limit))
    return [GivenUp(r.id, r.recipient, r.subject, r.last_error or "", r.attempts, r.created_at,
                    r.application_id) for r in rows]


def _waiting_for_server(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.RETRY, OutboxMessage.last_error.like(f"{SERVER}:%"))) or 0


def _problems(session: Session, h: Health) -> list[Problem]:
    out = []
    limit = timedelta(minutes=STALE_POLLS * h.poll_minutes)
    if h.last_ok_pass is None or h.last_ok_pass.finished_at is None:
        out.append(Problem("stopped", "还没有成功完成过一次收信处理（worker 是否已启动？）"))
    elif h.now - h.last_ok_pass.finished_at > limit:
        ago = int((h.now - h.last_ok_pass.finished_at).total_seconds() // 60)
        out.append(Problem("stopped", f"最近一次成功的收信处理在 {ago} 分钟前，超过 "
                                      f"{STALE_POLLS} 个轮询间隔（{limit.total_seconds() / 60:g} 分钟）："
                                      "worker 可能已停止或一直出错"))
    if h.waiting_for_server:
        out.append(Problem("replies_failing", f"{h.waiting_for_server} 封回复邮件因发信服务器"
                                              "拒绝或无法连接而在等待重试"))
    newest_given_up = session.scalar(select(func.max(OutboxMessage.created_at))
                                     .where(OutboxMessage.status == OutboxStatus.FAILED))
    newest_sent = session.scalar(select(func.max(OutboxMessage.sent_at))
                                 .where(OutboxMessage.status == OutboxStatus.SENT))
    if newest_given_up is not None and (newest_sent is None or newest_sent < newest_given_up):
        out.append(Problem("replies_failing", "有回复邮件已放弃发送，此后没有一封发送成功"))
    for r in h.ranges:
        if r.low:
            out.append(Problem("range_low", f"{r.name}只剩 {r.left} 个（{r.percent_left:.1f}%），"
                                            "请尽快在配置中续上新的号段", fatal=False))
    return out


def as_json(h: Health) -> dict[str, Any]:
    """The report for ``status --json`` (times ISO 8601 UTC)."""
    def run(r: Run | None) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"id": r.id, "job": r.job, "trigger": r.trigger,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "ok": r.ok, "counts": r.counts, "error_kind": r.error_kind, "error": r.error}
    return {
        "ok": h.ok,
        "problems": [{"code": p.code, "text": p.text, "fatal": p.fatal} for p in h.problems],
        "last_pass": run(h.last_pass), "last_ok_pass": run(h.last_ok_pass),
        "last_errors": {k: run(v) for k, v in sorted(h.last_errors.items())},
        "recent": [run(r) for r in h.recent],
        "ranges": [{"name": r.name, "first": r.first, "last": r.last, "left": r.left,
                    "percent_left": round(r.percent_left, 1), "low": r.low} for r in h.ranges],
        "replies_given_up": [{"id": g.id, "recipient": g.recipient, "error": g.error,
                              "attempts": g.attempts} for g in h.given_up],
        "replies_waiting_for_server": h.waiting_for_server,
    }

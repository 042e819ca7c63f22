"""``invoice-worker status``: the last passes, errors, number ranges and given-up replies.

Exit 0 healthy, 1 when the worker looks stopped or replies are failing (see
``worker.health.report``), 3 when the database cannot be read (like every command).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from worker.app import App
from worker.db import check_schema
from worker.health.report import Health, Run, as_json, check

JOBS = {"pass": "收信处理", "manifest": "取件清单", "replies": "发送回复"}


def run(app: App, *, as_json_output: bool = False, out: TextIO = sys.stdout) -> int:
    check_schema(app.engine)
    with app.sessions() as session:
        health = check(session, app.config)
    if as_json_output:
        json.dump(as_json(health), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(as_text(health, app.config.tz))
    return health.exit_code


def as_text(h: Health, tz: ZoneInfo) -> str:
    def at(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"

    def line(r: Run) -> str:
        state = "进行中/中断" if r.finished_at is None else ("成功" if r.ok else "失败")
        counts = ", ".join(f"{k}={v}" for k, v in r.counts.items() if not isinstance(v, dict | list))
        statuses = r.counts.get("by_status")
        if isinstance(statuses, dict) and statuses:
            counts += " (" + ", ".join(f"{k} {v}" for k, v in statuses.items()) + ")"
        err = f"  [{r.error_kind}] {r.error}" if r.error else ""
        return (f"  {at(r.started_at)} → {at(r.finished_at)}  {JOBS.get(r.job, r.job)}"
                f"（{r.trigger}）{state}  {counts}{err}")

    out = [f"状态：{'正常' if h.ok else '异常'}"]
    out += [f"  {'✗' if p.fatal else '!'} {p.text}" for p in h.problems]
    out.append(f"最近一次成功的收信处理：{at(h.last_ok_pass.finished_at) if h.last_ok_pass else '从未'}"
               f"（轮询间隔 {h.poll_minutes:g} 分钟）")
    out.append("最近的运行：")
    out += [line(r) for r in h.recent] or ["  （没有记录）"]
    if h.last_errors:
        out.append("各类最近一次错误：")
        out += [f"  {kind}: {at(r.started_at)} {r.error}" for kind, r in sorted(h.last_errors.items())]
    out.append("号段余量：")
    out += [f"  {r.name} 剩 {r.left} / {r.size}（{r.percent_left:.1f}%）{' ← 不足 10%' if r.low else ''}"
            for r in h.ranges]
    out.append(f"已放弃的回复：{len(h.given_up)}；等待发信服务器的回复：{h.waiting_for_server}")
    out += [f"  #{g.id} {g.recipient}（{g.attempts} 次）：{g.error}" for g in h.given_up[:10]]
    return "\n".join(out) + "\n"

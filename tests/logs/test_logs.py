"""Logs a person can follow: one line per mail, no library noise, JSON for a collector,
local batch names, progress bars on a terminal only (issue 11 item 6)."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pty
import select
import struct
import termios
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.console.conftest import form_mail, people, unit
from tests.core.test_cli import cli
from tests.intake.conftest import World
from worker import logs
from worker.documents.batch import _batch_dir
from worker.progress import bar, bar_for


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in logs.NOISY:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_one_line_per_mail_with_ids_sender_unit_outcome_reasons(world: World,
                                                               restore_logging: None) -> None:
    paid = people("L", 2)
    world.pay(paid)
    world.deliver(form_mail(unit(paid)),
                  form_mail(unit(people("U", 1), name="天津市西青区未缴费单位", district="西青区"),
                            sender="xiqing@qq.com", body="无收件信息"))
    out = io.StringIO()
    logs.setup("info", "text", stream=out)
    world.run()
    lines = [ln for ln in out.getvalue().splitlines() if " worker.intake: mail " in ln]
    assert len(lines) == 2
    accepted = next(ln for ln in lines if "zhaoyue@163.com" in ln)
    held = next(ln for ln in lines if "xiqing@qq.com" in ln)
    assert "accepted; application 1 天津市武清区雍阳科技有限公司 accepted" in accepted
    assert "held; application 2 天津市西青区未缴费单位 held [" in held
    assert "MISSING_RECIPIENT" in held and "PAYMENT_NOT_FOUND@1" in held


def test_json_lines_carry_the_mail_as_fields(world: World, restore_logging: None) -> None:
    world.deliver(form_mail(unit(people("J", 1)), sender="json@163.com"))
    out = io.StringIO()
    logs.setup("info", "json", stream=out)
    world.run()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    (mail,) = [r for r in records if "mail" in r]
    assert mail["level"] == "info" and mail["logger"] == "worker.intake"
    assert mail["mail"]["sender"] == "json@163.com" and mail["mail"]["outcome"] == "held"
    (app,) = mail["mail"]["applications"]
    assert app["unit"] == "天津市武清区雍阳科技有限公司" and "PAYMENT_NOT_FOUND@1" in app["reasons"]
    assert datetime.fromisoformat(mail["time"]).tzinfo is not None


def test_library_noise_is_off_unless_debug(restore_logging: None) -> None:
    out = io.StringIO()
    logs.setup("info", stream=out)
    logging.getLogger("fontTools.subset").info("maxp pruned")
    logging.getLogger("fontTools.subset").warning("glyph missing")
    logging.getLogger("worker.x").info("ours")
    assert "maxp pruned" not in out.getvalue() and "glyph missing" in out.getvalue()
    assert "ours" in out.getvalue()
    logs.setup("debug", stream=out)
    logging.getLogger("fontTools.subset").info("now shown")
    assert "now shown" in out.getvalue()
    with pytest.raises(ValueError):
        logs.setup("loud")


def test_the_command_logs_json_without_font_chatter(world: World) -> None:
    paid = people("C", 2)
    world.pay(paid)
    world.deliver(form_mail(unit(paid)))  # accepted: invoices and a label get rendered
    done = cli("--config", str(world.config_file()), "--log-format", "json", "run", "--once",
               cwd=world.root)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert not [r for r in records if r["logger"].startswith(("fontTools", "weasyprint"))]
    assert any(r.get("mail", {}).get("outcome") == "accepted" for r in records)
    assert "\r" not in done.stderr  # no progress bar when piped


def test_print_batch_folders_are_named_in_local_time(world: World) -> None:
    docs = [SimpleNamespace(invoices=[SimpleNamespace(number="00000007")], label=None)]
    folder = _batch_dir(world.app.config, docs, now=datetime(2018, 9, 3, 2, 0, tzinfo=UTC))  # type: ignore[arg-type]
    assert folder.name == "20180903-100000-00000007"   # 10:00 in Tianjin, not 02:00 UTC


def test_progress_bar_only_on_a_terminal() -> None:
    items = [1, 2, 3]
    piped = io.StringIO()
    assert bar(items, desc="邮件", unit="封", stream=piped) is items and piped.getvalue() == ""
    assert bar_for("x", "行", stream=piped) is None
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    drawn = b""
    with os.fdopen(slave, "w", encoding="utf-8") as tty:
        assert list(bar(items, desc="邮件", unit="封", stream=tty)) == items
        tty.flush()
        while select.select([master], [], [], 1)[0]:
            chunk = os.read(master, 4096)
            drawn += chunk
            if not chunk:
                break
    os.close(master)
    text = drawn.decode("utf-8", "replace")
    assert "邮件:   0%" in text and "0/3" in text and text.endswith("\r")  # drawn, then cleared

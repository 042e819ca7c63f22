"""Hostile mail through the real command: each ends held with a reason, in bounded
memory, and the good mail after it is still processed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.builders.form import (
    billion_laughs,
    build_form_xlsx,
    default_header,
    make_lines,
    with_shared_strings,
    zip_with_member,
)
from tests.builders.mail import build_mail
from tests.intake.conftest import World
from tests.intake.test_pass import form_mail, trainees, unit

pytestmark = pytest.mark.slow

# VmHWM, not ru_maxrss: the latter counts the forking test process's memory too.
MEASURE = (
    "import json, re, sys\n"
    "from worker.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "print(json.dumps({'maxrss_kb': int(hwm)}), file=sys.stderr)\n"
    "raise SystemExit(code)\n"
)


def hostile_mails() -> dict[str, bytes]:
    valid = build_form_xlsx(default_header(), make_lines(2))
    laughs = with_shared_strings(valid, billion_laughs("sst"))
    bomb = zip_with_member(valid, "xl/media/image1.bin", 200 * 1024 * 1024)
    huge = os.urandom(50 * 1024 * 1024)
    many_headers = [(f"X-Filler-{i}", f"value {i}") for i in range(10_000)]
    return {
        "corrupt": build_mail(subject="corrupt", attachments=[("申请表.xlsx", os.urandom(5000))]),
        "zip-bomb": build_mail(subject="bomb", attachments=[("申请表.xlsx", bomb)]),
        "billion-laughs": build_mail(subject="laughs", attachments=[("申请表.xlsx", laughs)]),
        "truncated": build_mail(subject="truncated", attachments=[("申请表.xlsx", valid[:700])]),
        "10000-headers": build_mail(subject="headers", attachments=[("申请表.xlsx", valid)],
                                    extra_headers=many_headers),
        "50MB-attachment": build_mail(subject="big", attachments=[("申请表.xlsx", huge)]),
    }


def test_hostile_mail_is_held_with_a_reason_and_the_next_mail_goes_through(
    world: World,
) -> None:
    hostile = hostile_mails()
    people = trainees("H", 2)
    world.pay(people)
    good = form_mail(unit(people))
    for raw in hostile.values():
        world.deliver(raw)
    world.deliver(good)  # the last one in: it must still be reached and accepted

    cmd = [sys.executable, "-c", MEASURE, "--config", str(world.config_file()), "run", "--once"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    rss_mb = json.loads(done.stderr.strip().splitlines()[-1])["maxrss_kb"] / 1024
    assert rss_mb < 300, f"peak RSS {rss_mb:.0f} MB"

    apps = world.export()
    accepted = [a for a in apps if a["status"] == "accepted"]
    held = [a for a in apps if a["status"] == "held"]
    assert len(accepted) == 1 and accepted[0]["invoices"]
    assert len(held) == len(hostile)
    for app in held:
        codes = {r["code"] for r in app["reasons"]}
        assert "FORM_UNREADABLE" in codes, app
        assert all(r["detail"] for r in app["reasons"])
    details = " ".join(r["detail"] for a in held for r in a["reasons"])
    for words in ("邮件过大", "邮件头", "不安全的 XML", "解压后过大"):
        assert words in details

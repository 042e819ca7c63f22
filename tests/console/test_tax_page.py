"""The 税务平台 page over HTTP (SQLite and PostgreSQL): every invoice state in its own
list, exports with their files (only the files an export recorded, inside the output
folder), import results with the platform's words, reversals; dashboard counts; a
not-yet-issued invoice named by its 流水号 wherever the console names invoices."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.console.conftest import Seeded
from tests.console.taxdata import accepted, record_export, record_import, set_state, workbook
from tests.intake.conftest import World
from worker.db.models import Invoice, TaxExport
from worker.staff import Actor
from worker.staff.reversal import reverse_invoice
from worker.status import InvoiceState

FAILURE = "购买方纳税人识别号校验不通过，请核实后重新提交"


@dataclass
class Platform:
    planned: int      # application ids
    exported: int
    issued: int
    failed: int
    reversed: int
    export_id: int
    export_file: Path


def build(world: World, staff: Actor, now: datetime | None = None) -> Platform:
    """One application in each state (the reversed one through the staff action), one
    export with its workbook, one import with every outcome. ``now``: the export and
    import happened the day before and the morning (default: fixed days in 2018)."""
    out = world.app.config.output_dir
    planned = accepted(world, "天津市武清区雍阳中学", "武清区", "12120222401234567",
                       [("王芳", "P10001"), ("李娜", "P10002")], sender="yyzx@163.com")
    exported = accepted(world, "天津市宝坻区人民医院", "宝坻区", "12120224401234568",
                        [("张伟", "P20001")], sender="bdyy@126.com")
    issued = accepted(world, "天津市蓟州区卫生健康委员会", "蓟州区", "11120225MB1234569",
                      [("刘洋", "P30001")], sender="jzwjw@163.com")
    failed = accepted(world, "天津市西青区杨柳青镇社区卫生服务中心", "西青区", "12120111MB1234560",
                      [("陈静", "P40001")], sender="ylq@163.com")
    reversed_ = accepted(world, "天津市北辰区实验小学", "北辰区", "12120113MB1234561",
                         [("杨磊", "P50001")], sender="bcsx@163.com")
    set_state(world, planned, InvoiceState.PLANNED, serial="TJPX00000011")
    path = workbook(out / "tax" / "20180904-0930" / "批量开票-1.xlsx", ["TJPX00000012"])
    export_id = record_export(world, [path], 1, at=now and now - timedelta(days=1, hours=2))
    set_state(world, exported, InvoiceState.EXPORTED, serial="TJPX00000012", export_id=export_id)
    set_state(world, issued, InvoiceState.ISSUED, serial="TJPX00000013",
              number="24122000000000001313")
    set_state(world, failed, InvoiceState.FAILED, serial="TJPX00000014", failure=FAILURE)
    (blue,) = set_state(world, reversed_, InvoiceState.ISSUED, serial="TJPX00000015",
                        number="24122000000000001515")
    reverse_invoice(world.app.sessions, staff, blue, "12010024121100001515", "购买方名称开错")
    record_import(world, ["开具结果.zip", "失败明细.xlsx", "别人的发票.xml"], [
        {"source": "开具结果.zip/24122000000000001313.xml", "outcome": "issued",
         "detail": "流水号 TJPX00000013 → 发票号码 24122000000000001313"},
        {"source": "失败明细.xlsx", "outcome": "failed", "detail": f"流水号 TJPX00000014：{FAILURE}"},
        {"source": "别人的发票.xml", "outcome": "unmatched",
         "detail": "备注中没有申请编号和流水号，未关联到任何申请"},
        {"source": "开具结果.zip/24122000000000001313 (1).xml", "outcome": "duplicate",
         "detail": "发票 24122000000000001313 已导入过"},
        {"source": "截断.xml", "outcome": "unreadable", "detail": "XML 文件不完整，无法读取"},
    ], at=now and now - timedelta(hours=5))
    return Platform(planned, exported, issued, failed, reversed_, export_id, path)


@pytest.fixture
def platform(world: World, staff: Actor) -> Platform:
    return build(world, staff)


def section(html: str, anchor: str) -> str:
    """The card with ``id=anchor`` (up to the next card)."""
    start = html.index(f'id="{anchor}"')
    end = html.find('<div class="card', start)
    return html[start:end if end != -1 else None]


def test_the_page_lists_each_state_in_its_place(logged_in: tuple[FlaskClient, str],
                                                 platform: Platform) -> None:
    client, _ = logged_in
    r = client.get("/tax")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<a href="/tax" class="on">税务平台</a>' in html   # in the nav, marked
    planned = section(html, "planned")
    assert "TJPX00000011" in planned and "天津市武清区雍阳中学" in planned
    assert f'href="/applications/{platform.planned}"' in planned and "300.00" in planned
    assert "12120222401234567" in planned  # the buyer's tax ID (prefix of the full one)
    exported = section(html, "exported")
    assert "TJPX00000012" in exported and f"第 {platform.export_id} 批" in exported
    assert "TJPX00000011" not in exported
    issued = section(html, "issued")
    assert "24122000000000001313" in issued and "TJPX00000013" in issued
    failed = section(html, "failed")
    assert "TJPX00000014" in failed and FAILURE in failed
    reversals = section(html, "reversed")
    assert "24122000000000001515" in reversals and "12010024121100001515" in reversals
    assert "购买方名称开错" in reversals and "待导入" in reversals
    exports = section(html, "exports")
    assert "批量开票-1.xlsx" in exports and "李老师" in exports
    imports = section(html, "imports")
    for words in ("已开具", "开具失败", "未匹配", "重复导入", "无法读取", FAILURE,
                  "备注中没有申请编号和流水号", "XML 文件不完整", "别人的发票.xml"):
        assert words in imports, words
    counts = re.findall(r'<div class="n">(\d+)</div><div class="label">([^<]+)</div>',
                        html[:html.index('id="planned"')])
    assert counts == [("1", "待导出"), ("1", "已导出，待开具"), ("1", "已开具"),
                      ("1", "开具失败"), ("1", "已红冲")]


def test_the_dashboard_counts_each_state(logged_in: tuple[FlaskClient, str], seeded: Seeded,
                                          platform: Platform) -> None:
    client, _ = logged_in
    html = client.get("/").get_data(as_text=True)
    card = section(html, "invoice-states")
    # The seeded print-mode invoice is issued too, hence 2 issued.
    counts = dict((label, int(n)) for n, label in re.findall(
        r'<div class="n">(\d+)</div><div class="label">([^<]+)</div>', card))
    assert counts == {"待导出": 1, "已导出，待开具": 1, "已开具": 2, "开具失败": 1, "已红冲": 1}
    assert 'href="/tax#failed"' in card


def test_an_export_downloads_its_recorded_files_only(
        logged_in: tuple[FlaskClient, str], platform: Platform, world: World,
        tmp_path: Path) -> None:
    client, _ = logged_in
    r = client.get(f"/files/tax-export/{platform.export_id}/0")
    assert r.status_code == 200
    assert r.data == platform.export_file.read_bytes() and r.data[:2] == b"PK"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E6%89%B9%E9%87%8F" in r.headers["Content-Disposition"]  # 批量…
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # Beyond the recorded list, another export, or not an id at all: 404.
    for url in (f"/files/tax-export/{platform.export_id}/1",
                f"/files/tax-export/{platform.export_id + 1}/0",
                f"/files/tax-export/{platform.export_id}/{2**31}",
                f"/files/tax-export/{platform.export_id}/-1",
                f"/files/tax-export/{platform.export_id}/..%2F..%2Fetc%2Fpasswd",
                "/files/tax-export/../../etc/passwd"):
        assert client.get(url).status_code == 404, url

    # An export row naming files outside the output folder (a doctored row, a symlink
    # out of it, a relative path climbing out, NUL): none is served.
    outside = tmp_path / "secret.xlsx"
    outside.write_bytes(b"PK secret")
    link = world.app.config.output_dir / "tax" / "link.xlsx"
    os.symlink(outside, link)
    bad = [str(outside), str(link), "../secret.xlsx", "/etc/passwd", "tax/\x00.xlsx",
           str(world.app.config.output_dir / "tax")]
    doctored = record_export(world, [Path(p) for p in bad[:4]], 1)
    with world.app.sessions.begin() as s:
        row = s.get(TaxExport, doctored)
        assert row is not None
        row.files = json.dumps(bad)
        odd = TaxExport(actor="cli", files='{"0": "tax/20180904-0930/批量开票-1.xlsx"}')
        s.add(odd)
        s.flush()
        odd_id = odd.id
    for n in range(len(bad)):
        assert client.get(f"/files/tax-export/{doctored}/{n}").status_code == 404, bad[n]
    assert client.get(f"/files/tax-export/{odd_id}/0").status_code == 404  # not a list
    page = client.get("/tax").get_data(as_text=True)
    assert "secret" in page  # its name is listed (it is recorded) ...
    assert outside.read_bytes() == b"PK secret"  # ... but never served


def test_a_stranger_gets_neither_page_nor_file(client: FlaskClient, platform: Platform) -> None:
    r = client.get("/tax")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.get(f"/files/tax-export/{platform.export_id}/0")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_planned_invoice_is_named_by_its_serial_everywhere(
        logged_in: tuple[FlaskClient, str], platform: Platform, world: World) -> None:
    client, _ = logged_in
    # The application page: 流水号 instead of an empty number.
    html = client.get(f"/applications/{platform.planned}").get_data(as_text=True)
    assert "流水号 TJPX00000011" in html and "待导出" in html and "登记红冲" not in html
    # The queue finds it by 流水号.
    html = client.get("/queue?status=all&q=tjpx00000011").get_data(as_text=True)
    assert f'href="/applications/{platform.planned}"' in html
    assert f'href="/applications/{platform.exported}"' not in html
    # The print centre: a batch PDF holding a planned invoice names it by its 流水号.
    with world.app.sessions.begin() as s:
        inv = s.scalars(select(Invoice).where(Invoice.application_id == platform.planned)).one()
        inv.pdf_path = "invoices/preview/invoices.pdf"
    html = client.get("/print").get_data(as_text=True)
    assert "流水号 TJPX00000011" in html
    assert "None" not in html

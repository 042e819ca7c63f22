"""Data from mail never makes the renderer read a file or open a connection.

Two walls, tested separately: templates autoescape (markup in a unit name is printed
as text), and the URL fetcher serves only ``templates/assets/`` (raw hostile HTML fed
straight to WeasyPrint still reads nothing). A process audit hook watches for the real
effects: opening /etc/passwd, connecting a socket, an urllib request.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders.form import make_line
from tests.documents.conftest import submit
from tests.documents.pdf import images_and_attachments, pages_text
from tests.intake.conftest import World
from worker.documents import fetcher as fetcher_module
from worker.documents.fetcher import ASSETS_DIR, AssetFetcher, URLRefused
from worker.documents.render import write_pdf

SECRET = "/etc/passwd"
IMG = f'<img src="file://{SECRET}">'
LINK = f'<link rel=attachment href="file://{SECRET}">'
CSS_URL = "url(http://127.0.0.1:9/x.css)"

_events: list[tuple[str, str]] = []
_watching: list[bool] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching and event in ("open", "socket.connect", "urllib.Request", "subprocess.Popen"):
        _events.append((event, str(args[0]) if event != "socket.connect" else str(args[1])))


sys.addaudithook(_audit)  # cannot be removed: it records only while a test watches


@pytest.fixture
def watch() -> Iterator[list[tuple[str, str]]]:
    _events.clear()
    _watching.append(True)
    yield _events
    _watching.clear()


def stop_watching() -> None:
    """Before the test reads the PDFs back with its own tools (pdftotext is a process)."""
    _watching.clear()


class Recording(AssetFetcher):
    """The real fetcher, keeping every URL any instance was asked for."""

    log: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
        Recording.log.append(url)
        return super().fetch(url, headers)


PROJECT = ASSETS_DIR.parent.parent.resolve()
FORBIDDEN = {Path(SECRET).resolve(), PROJECT / "worker" / "config.py", PROJECT / "pyproject.toml"}
# worker.owner reads who this process is (print claims): its start time and the boot id.
OWN_PROCESS_FACTS = {Path("/proc/stat"), Path(f"/proc/{os.getpid()}/stat"),
                     Path("/proc/sys/kernel/random/boot_id")}
ALLOWED_ROOTS = (Path("/tmp"), Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
                 PROJECT)


def assert_nothing_escaped(events: list[tuple[str, str]]) -> None:
    """No socket, no URL request, no process; no file outside Python, the project and
    the test's temp folders, and none of the files the hostile markup names."""
    assert [e for e in events if e[0] != "open"] == []
    opened = {Path(path).resolve() for kind, path in events
              if kind == "open" and not path.isdigit()} - OWN_PROCESS_FACTS
    assert opened & FORBIDDEN == set()
    assert {p for p in opened if not any(p.is_relative_to(r) for r in ALLOWED_ROOTS)} == set()


def test_markup_in_mail_data_is_printed_as_text(world: World, watch: list[tuple[str, str]],
                                                monkeypatch: pytest.MonkeyPatch,
                                                in_process: None) -> None:
    Recording.log = []
    monkeypatch.setattr(fetcher_module, "AssetFetcher", Recording)
    unit = f"堃{IMG}公司"
    submit(world, [make_line(1), make_line(2)], unit=unit, buyer_name=unit,
           issue_mode="每人一张", bank_account=f"银行 {CSS_URL}",
           body=f"收件人：张三\n电话：13800000000\n地址：天津市武清区{LINK}1号")
    summary = world.app.run_once()
    stop_watching()
    assert_nothing_escaped(watch)
    assert summary.by_status == {"accepted": 1} and summary.render_error is None

    invoices = pages_text(summary.invoices_pdf)
    (label,) = pages_text(summary.labels_pdf)
    assert len(invoices) == 2
    for page in invoices:
        assert unit in page and f"开户行及账号：银行 {CSS_URL}" in page
    assert unit in label and f"天津市武清区{LINK}1号" in label
    # the renderer asked for our two stylesheets and nothing else
    assert sorted(set(Recording.log)) == [(ASSETS_DIR / "invoice.css").as_uri(),
                                          (ASSETS_DIR / "label.css").as_uri()]
    assert images_and_attachments(summary.invoices_pdf) == (0, 0)
    assert images_and_attachments(summary.labels_pdf) == (0, 0)


HOSTILE_HTML = f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">
<link rel="stylesheet" href="file://{SECRET}">
<link rel="stylesheet" href="assets/../../worker/config.py">
<style>@import url(http://127.0.0.1:9/imported.css);
@font-face {{ font-family: x; src: url(file:///usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc); }}
body {{ background: url(http://127.0.0.1:9/bg.png); font-family: x; }}</style>
</head><body>
<p>正文 堃喆镕玥</p>
{IMG}
<img src="data:image/svg+xml;base64,PHN2Zy8+">
{LINK}
<a rel="attachment" href="file://{SECRET}">附件</a>
<object data="file://{SECRET}"></object><embed src="http://127.0.0.1:9/e">
<iframe src="file://{SECRET}"></iframe>
<svg xmlns="http://www.w3.org/2000/svg"><image href="file://{SECRET}"/></svg>
</body></html>"""


def test_raw_hostile_html_reads_nothing_but_assets(tmp_path: Path,
                                                   watch: list[tuple[str, str]]) -> None:
    """Second wall: even markup that escaped the templates fetches nothing."""
    seen = AssetFetcher()
    rendered = write_pdf(HOSTILE_HTML, tmp_path / "hostile.pdf", key="hostile",
                         fetcher=lambda: seen)
    stop_watching()
    assert_nothing_escaped(watch)
    assert rendered.pages == 1
    assert "正文 堃喆镕玥" in pages_text(rendered.path)[0]
    assert seen.asked, "WeasyPrint asked for nothing: the test lost its teeth"
    assert seen.refused == seen.asked  # every single URL was refused
    assert any(SECRET in url for url in seen.refused)
    assert any(url.startswith("http://") for url in seen.refused)
    assert images_and_attachments(rendered.path) == (0, 0)


@pytest.mark.parametrize("url", [
    f"file://{SECRET}",
    "file://localhost/etc/passwd",
    "file://evil.example/share/x.css",
    (ASSETS_DIR / ".." / ".." / "worker" / "config.py").as_uri(),
    ASSETS_DIR.as_uri() + "/%2e%2e/%2e%2e/pyproject.toml",
    ASSETS_DIR.as_uri() + "/invoice.css?x=1",
    ASSETS_DIR.as_uri() + "/",
    ASSETS_DIR.as_uri() + "/missing.css",
    "http://127.0.0.1:9/x.css",
    "https://example.com/x.css",
    "ftp://example.com/x",
    "data:text/css,body{}",
    "javascript:alert(1)",
])
def test_the_fetcher_refuses_everything_but_assets(url: str,
                                                   watch: list[tuple[str, str]]) -> None:
    f = AssetFetcher()
    with pytest.raises(URLRefused):
        f.fetch(url)
    assert f.refused == [url]
    assert [e for e in watch if e[0] != "open" or SECRET in e[1]] == []


def test_the_fetcher_does_not_follow_a_symlink_out(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "ok.css").write_text("p{}", encoding="utf-8")
    os.symlink(SECRET, assets / "leak.css")
    f = AssetFetcher(assets)
    assert f.fetch((assets / "ok.css").as_uri()).read() == b"p{}"
    with pytest.raises(URLRefused):
        f.fetch((assets / "leak.css").as_uri())


def test_the_fetcher_serves_the_stylesheets() -> None:
    response = AssetFetcher().fetch((ASSETS_DIR / "invoice.css").as_uri())
    assert response.content_type == "text/css"
    assert b"A5 landscape" in response.read()

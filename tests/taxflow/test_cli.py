"""``tax export`` and ``tax import`` through the real ``invoice-worker`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests.intake.conftest import World
from tests.tax.builders import official_template
from tests.taxflow.conftest import accept, config_file, issue_on_platform
from worker.taxflow import ExportResult


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False, env=None)


def test_export_then_import_on_the_command_line(pworld: World) -> None:
    accept(pworld, "L", 2, issue_mode="每人一张")
    cfg, root = str(config_file(pworld)), pworld.root
    template = root / "批量开票-导入开票模板.xlsx"
    template.write_bytes(official_template())

    done = cli("--config", cfg, "tax", "export", "--out", "exports", "--template", str(template),
               cwd=root)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["invoices"] == 2 and len(printed["files"]) == 1
    assert "built-in" not in done.stderr
    assert "excelVersion" in load_workbook(printed["files"][0]).sheetnames  # the template kept

    nothing = cli("--config", cfg, "tax", "export", "--out", "exports", cwd=root)
    assert json.loads(nothing.stdout)["invoices"] == 0
    again = cli("--config", cfg, "tax", "export", "--out", "again", "--again", str(printed["export"]),
                cwd=root)
    assert again.returncode == 0 and json.loads(again.stdout)["invoices"] == 2
    assert "built-in" in again.stderr  # no --template: said so

    result = ExportResult(printed["export"], 2, tuple(Path(f) for f in printed["files"]), None)
    archive, numbers = issue_on_platform(result)
    (root / "dl.zip").write_bytes(archive)
    (root / "junk.bin").write_bytes(b"\x00\x01junk")
    imported = cli("--config", cfg, "tax", "import", "dl.zip", "junk.bin", "missing.zip", cwd=root)
    assert json.loads(imported.stdout) == {"issued": 2, "failed": 0, "unmatched": 0,
                                           "duplicates": 0, "unreadable": 2}
    assert imported.returncode == 1 and "junk.bin" in imported.stderr
    assert [i["number"] for i in pworld.export()[0]["invoices"]] == numbers


def test_export_in_print_mode_says_why_nothing_is_planned(world: World) -> None:
    """Print mode issues and prints invoices itself: an export of none said nothing more."""
    cfg = str(world.config_file())
    done = cli("--config", cfg, "tax", "export", "--out", "exports", cwd=world.root)
    assert done.returncode == 0 and json.loads(done.stdout)["invoices"] == 0
    assert '[invoicing] mode is "print"' in done.stderr

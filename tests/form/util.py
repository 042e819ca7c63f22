"""Small helpers shared by the form tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tests.builders.form import GridSheet, grid_to_xls, grid_to_xlsx
from worker.form import ParsedForm

Parse = Callable[..., ParsedForm]  # the parse_rows fixture

TABLE_HEADER = ("序号", "姓名", "身份证号", "订单号", "培训年度", "金额（元）")


def rows_to_bytes(rows: Sequence[Sequence[object]], fmt: str = "xlsx", title: str = "申请表") -> bytes:
    """A one-sheet workbook in ``fmt`` ("xlsx" or "xls") holding ``rows`` from A1."""
    sheet = GridSheet(title, [list(r) for r in rows])
    return grid_to_xlsx([sheet]) if fmt == "xlsx" else grid_to_xls([sheet])

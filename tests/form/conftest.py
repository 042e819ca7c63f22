"""Fixtures for the form parser tests: run against .xlsx and .xls alike."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.form.util import Parse, rows_to_bytes
from worker.form import FormLimits, ParsedForm, read_form


@pytest.fixture(params=["xlsx", "xls"])
def fmt(request: pytest.FixtureRequest) -> str:
    """Run a test against both file formats."""
    return request.param


@pytest.fixture
def parse_rows(fmt: str) -> Parse:
    """``parse_rows(rows, limits=None)`` -> ParsedForm of a one-sheet workbook in ``fmt``."""

    def parse(rows: Sequence[Sequence[object]], limits: FormLimits | None = None) -> ParsedForm:
        return read_form(f"form.{fmt}", rows_to_bytes(rows, fmt), limits or FormLimits())

    return parse

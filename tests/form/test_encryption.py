"""Workbooks Excel encrypts with its built-in password open as in Excel and WPS; a real
password to open is held with a reason that says so (issue 9, kind 4)."""

from __future__ import annotations

import pytest

from tests.builders.form import build_form_xls, build_form_xlsx, default_header, make_lines
from tests.builders.formats import encrypt_xls_rc4, encrypt_xlsx
from worker.errors import FormUnreadable
from worker.form import read_form
from worker.form.classify import classify_attachment
from worker.form.decrypt import LOCKED
from worker.form.sniff import sniff

LINES = make_lines(3)
ENCRYPTERS = {"xlsx": (build_form_xlsx, encrypt_xlsx), "xls": (build_form_xls, encrypt_xls_rc4)}


@pytest.mark.parametrize("fmt", sorted(ENCRYPTERS))
def test_protected_workbook_with_excels_default_password_is_read(fmt: str) -> None:
    build, encrypt = ENCRYPTERS[fmt]
    data = encrypt(build(default_header(), LINES))
    assert classify_attachment(f"申请表.{fmt}", "application/octet-stream", data) == "form"
    form = read_form(f"申请表.{fmt}", data)
    assert [line.order_no for line in form.lines] == [line["order_no"] for line in LINES]
    assert form.header["unit"] == default_header()["单位名称"]


@pytest.mark.parametrize("fmt", sorted(ENCRYPTERS))
def test_a_real_password_is_held_saying_so_and_how_to_remove_it(fmt: str) -> None:
    build, encrypt = ENCRYPTERS[fmt]
    data = encrypt(build(default_header(), LINES), "unit-secret")
    with pytest.raises(FormUnreadable) as caught:
        read_form(f"申请表.{fmt}", data)
    assert caught.value.detail == LOCKED
    assert "打开密码" in LOCKED and "Excel" in LOCKED and "WPS" in LOCKED


def test_encrypted_xlsx_named_xls_or_nameless_is_still_opened() -> None:
    data = encrypt_xlsx(build_form_xlsx(default_header(), LINES))
    assert sniff(data) == "encrypted"
    assert len(read_form(None, data).lines) == 3
    assert len(read_form("表.xls", data).lines) == 3

"""Reference, serial and field-splitting helpers; the [invoicing] config keys."""

from __future__ import annotations

import pytest

from worker.config import load_config
from worker.errors import ConfigError
from worker.tax.model import (
    ImportReport,
    PlatformInvoiceType,
    Problem,
    make_reference,
    make_serial,
    parse_reference,
    split_address_phone,
    split_bank_account,
)


def test_reference_round_trip_and_platform_spelling():
    ref = parse_reference(make_reference(123, "TJZG00000007"))
    assert (ref.application_id, ref.serial) == (123, "TJZG00000007")
    odd = parse_reference("单位自填：xx  申请 编号：１２３　流 水 号:tjzg00000007")
    assert (odd.application_id, odd.serial) == (123, "TJZG00000007")
    assert parse_reference("") == parse_reference("培训费发票")


def test_serial_is_at_most_20_ascii_characters():
    assert make_serial("TJZG", 7, 8) == "TJZG00000007"
    with pytest.raises(ValueError):
        make_serial("TJZG", 10**16, 16)
    with pytest.raises(ValueError):
        make_serial("天津", 1, 8)


@pytest.mark.parametrize(("text", "expected"), [
    ("天津市武清区京津路1号 022-29341234", ("天津市武清区京津路1号", "022-29341234")),
    ("天津市武清区京津路1号，13800000000", ("天津市武清区京津路1号", "13800000000")),
    ("天津市武清区京津路1号", ("天津市武清区京津路1号", "")),
])
def test_split_address_phone(text, expected):
    assert split_address_phone(text) == expected


def test_split_bank_account():
    bank, account = split_bank_account("中国银行天津武清支行 2750 1234 5678 9012")
    assert (bank, account) == ("中国银行天津武清支行", "2750123456789012")
    assert split_bank_account("中国银行天津武清支行") == ("中国银行天津武清支行", "")


def test_invoice_type_from_form_and_report_counts():
    assert PlatformInvoiceType.from_form("增值税专用发票") is PlatformInvoiceType.SPECIAL
    assert PlatformInvoiceType.from_form("增值税普通发票") is PlatformInvoiceType.NORMAL
    report = ImportReport(issued=("1", "2"), unreadable=(Problem("a.xml", "x"),))
    assert report.counts() == {"issued": 2, "failed": 0, "unmatched": 0, "duplicates": 0, "unreadable": 1}


def test_invoicing_config_defaults_and_checks():
    cfg = load_config().invoicing
    assert (cfg.mode, cfg.delivery, cfg.tax_code) == ("print", "courier", "3070201020000000000")
    assert len(make_serial(cfg.serial_prefix, 1, cfg.serial_digits)) <= 20
    for key, value in [("mode", "tax"), ("delivery", "pigeon"), ("tax_code", "30702"),
                       ("serial_prefix", "天津"), ("serial_digits", 19)]:
        with pytest.raises(ConfigError) as e:
            load_config(overrides={"invoicing": {key: value}})
        assert e.value.key.startswith("invoicing.")

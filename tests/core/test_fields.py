"""The field registry (worker/fields.py) is the one place for each field's facts: every
stage that names a field agrees with it, so a field added there is added everywhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, String, inspect

from tests.builders.form import build_form_xlsx
from worker.db.models import Application, ApplicationLine, Invoice, Shipment
from worker.fields import COLUMNS, FIELD, FIELDS, LINE_TEXT_LENGTHS, Group, Required, clip
from worker.form import HEADER_FIELDS, LINE_COLUMNS, read_form, write_blank_form
from worker.form.labels import COLUMN_TITLES, REQUIRED_COLUMNS
from worker.staff.actions import EDITABLE, RECIPIENT_FIELDS
from worker.staff.actions import HEADER_FIELDS as CONSOLE_HEADER
from worker.validation import Draft
from worker.validation.checks import incomplete
from worker.validation.reasons import REASONS, Code


def _length(table: type, column: str) -> int | None:
    col = table.__table__.c[column]  # type: ignore[attr-defined]
    # worker.db.types.String decorates sqlalchemy's String (it cleans what is stored)
    assert isinstance(getattr(col.type, "impl", col.type), String), f"{table.__name__}.{column}"
    return col.type.length


def test_the_migrated_schema_has_every_field_at_its_length(engine: Engine) -> None:
    """A field added to the registry without its migration fails here (on SQLite and
    PostgreSQL): the model has the column, the database does not."""
    inspector = inspect(engine)
    stored = {c["name"]: c["type"] for c in inspector.get_columns("applications")}
    for f in FIELDS:
        assert f.key in stored, f"no migration adds applications.{f.key}"
        assert getattr(stored[f.key], "length", None) == f.length, f.key
        assert _length(Application, f.key) == f.length
    lines = {c["name"]: c["type"] for c in inspector.get_columns("application_lines")}
    assert LINE_TEXT_LENGTHS == {"name": 100, "id_number": 64, "order_no": 64, "year_raw": 64,
                                 "amount_raw": 64}
    for key, length in LINE_TEXT_LENGTHS.items():
        assert getattr(lines[key], "length", None) == length, key
        assert _length(ApplicationLine, key) == length


def test_copies_on_invoices_and_parcels_hold_what_an_application_holds() -> None:
    """Issuing copies these values verbatim: a longer registry field must widen them."""
    for table, column, key in [(Invoice, "buyer_name", "buyer_name"), (Invoice, "tax_id", "tax_id"),
                               (Invoice, "address_phone", "address_phone"),
                               (Invoice, "bank_account", "bank_account"),
                               (Shipment, "recipient", "recipient_name"),
                               (Shipment, "phone", "recipient_phone"),
                               (Shipment, "address", "recipient_address"),
                               (Shipment, "district", "district")]:
        assert (_length(table, column) or 0) >= FIELD[key].length, f"{table.__name__}.{column}"


def test_draft_has_each_field_and_a_raw_text_for_each_choice() -> None:
    names = [f.name for f in dataclasses.fields(Draft)]
    assert names[:len(FIELDS)] == [f.key for f in FIELDS]
    assert {f"raw_{f.key}" for f in FIELDS if f.choices} == {"raw_invoice_type", "raw_issue_mode"}
    assert {f"raw_{f.key}" for f in FIELDS if f.choices} <= set(names)
    assert Draft().unit == "" and Draft(unit="某单位").unit == "某单位"


def test_form_labels_and_columns_come_from_the_registry() -> None:
    assert list(HEADER_FIELDS) == [f.header_key for f in FIELDS]
    assert HEADER_FIELDS["recipient"][0] == "收件人" and HEADER_FIELDS["unit"][0] == "单位名称"
    assert list(LINE_COLUMNS) == [c.key for c in COLUMNS] == list(COLUMN_TITLES)
    assert REQUIRED_COLUMNS == ("name", "id_number", "order_no", "year", "amount")
    labels = [label for f in FIELDS for label in f.labels]
    assert len(labels) == len(set(labels)), "a label names two fields"


def test_staff_edit_exactly_the_editable_fields_in_registry_order() -> None:
    assert list(EDITABLE) == [f.key for f in FIELDS if f.editable]
    assert list(CONSOLE_HEADER) == [f.key for f in FIELDS if f.group is Group.HEADER]
    assert list(RECIPIENT_FIELDS) == ["recipient_name", "recipient_phone", "recipient_address"]
    assert EDITABLE["tax_id"] == "纳税人识别号"


def test_clip_cuts_each_field_to_its_column() -> None:
    long = {f.key: "字" * (f.length + 5) for f in FIELDS}
    assert {k: len(v) for k, v in clip(long).items()} == {f.key: f.length for f in FIELDS}


def test_required_fields_drive_form_incomplete() -> None:
    empty = {f.key: "" for f in FIELDS}
    assert [f.key for f in incomplete(lambda f: empty[f.key])] == [
        "unit", "district", "tax_id", "contact", "contact_phone"]
    assert [f.key for f in FIELDS if f.required is Required.SPECIAL] == ["address_phone",
                                                                        "bank_account"]
    entry = REASONS[Code.FORM_INCOMPLETE]
    assert set(entry.fields) == {f.key for f in incomplete(lambda f: "??")} | {
        f.key for f in FIELDS if f.required is Required.ALWAYS and f.group is Group.HEADER} | {
        f.key for f in incomplete(lambda f: "#N/A") if f.group is Group.HEADER}
    # Every header field can be named (a formula's error value); the console marks them.
    assert set(entry.fields) == {f.key for f in FIELDS if f.group is Group.HEADER}


def test_the_blank_form_prints_every_field_once_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    write_blank_form(path)
    ws = load_workbook(path).active
    printed = {str(c.value).lstrip("*") for row in ws.iter_rows() for c in row if c.value}
    assert {f.title for f in FIELDS if f.form_row} <= printed
    starred = {str(c.value)[1:] for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and c.value.startswith("*")}
    assert starred == {f.title for f in FIELDS
                       if f.required is Required.ALWAYS and f.group is Group.HEADER}
    form = read_form("blank.xlsx", path.read_bytes())
    assert set(form.header) == {f.header_key for f in FIELDS if f.form_row}


@pytest.mark.parametrize("which", [0, -1], ids=["title", "last-alias"])
def test_a_value_under_a_registry_label_is_read_as_that_field(which: int) -> None:
    values = {f.header_key: f"值{i}" for i, f in enumerate(FIELDS)}
    header = {f.labels[which]: values[f.header_key] for f in FIELDS}
    form = read_form("a.xlsx", build_form_xlsx(header=header))
    assert {k: form.header.get(k) for k in values} == values

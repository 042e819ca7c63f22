"""Migration 0009 and the model agree (SQLite and PostgreSQL), and its rules hold in
the database: waybills wait as NULL, references are unique, one live parcel per
application while re-shipped ones stay."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.db.models import Application, Base, Mail

SHIPMENT = ("INSERT INTO shipments (application_id, waybill, recipient, phone, address, district, "
            "pieces, invoices, weight_grams, postage_due, created_at, reference, replaced_by_id) "
            "VALUES (:app, :waybill, '孙老师', '13800000000', '某地', '和平区', 1, 1, 86, 12, "
            "CURRENT_TIMESTAMP, :ref, :replaced)")


def _columns_and_indexes(diff: list) -> list:
    """Differences that matter: columns, their nullability and type, indexes; names
    of unique constraints differ by design (0001 left them unnamed)."""
    flat = [d for group in diff for d in (group if isinstance(group, list) else [group])]
    return [d for d in flat if d[0] not in ("add_constraint", "remove_constraint")]


def test_the_migrated_shipments_and_manifests_are_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, Base.metadata)
                if "shipments" in repr(d) or "manifests" in repr(d)]
    assert _columns_and_indexes(diff) == []
    shipments = {c["name"]: c for c in inspect(engine).get_columns("shipments")}
    assert shipments["waybill"]["nullable"] is True
    assert shipments["status"]["nullable"] is False


def _application(engine: Engine) -> int:
    with Session(engine) as session, session.begin():
        mail = Mail(message_id="<m@x>", mailbox="INBOX", status="accepted")
        app = Application(mail=mail, status="accepted")
        session.add(app)
        session.flush()
        return app.id


def _parcel(engine: Engine, app: int, ref: str, *, replaced: int | None = None,
            waybill: str | None = None) -> int:
    with engine.begin() as conn:
        conn.execute(text(SHIPMENT), {"app": app, "waybill": waybill, "ref": ref,
                                      "replaced": replaced})
        return conn.execute(text("SELECT id FROM shipments WHERE reference = :r"), {"r": ref}).scalar_one()


def test_one_live_parcel_per_application_and_unique_references(engine: Engine) -> None:
    app = _application(engine)
    first = _parcel(engine, app, "TJZG1")  # awaiting its waybill: NULL
    with engine.connect() as conn:
        row = conn.execute(text("SELECT provider, status, order_tries, tracking_note, waybill "
                                "FROM shipments")).one()
    assert tuple(row) == ("pool", "ordered", 0, "", None)
    with pytest.raises(IntegrityError):  # a second live parcel for the same application
        _parcel(engine, app, "TJZG1-2")
    # Re-shipped: the new row comes in not live, the old one is replaced, the new one lives.
    second = _parcel(engine, app, "TJZG1-2", replaced=first)
    with engine.begin() as conn:
        conn.execute(text("UPDATE shipments SET replaced_by_id = :new WHERE id = :old"),
                     {"new": second, "old": first})
        conn.execute(text("UPDATE shipments SET replaced_by_id = NULL WHERE id = :new"), {"new": second})
    with pytest.raises(IntegrityError):  # the reference is the provider's key: never twice
        _parcel(engine, app, "TJZG1-2", replaced=first)
    _parcel(engine, app, "TJZG1-4", replaced=first, waybill="SF1")
    with pytest.raises(IntegrityError):  # nor a waybill
        _parcel(engine, app, "TJZG1-5", replaced=first, waybill="SF1")
    with engine.connect() as conn:
        live = conn.execute(text("SELECT id FROM shipments WHERE replaced_by_id IS NULL")).scalars().all()
    assert live == [second]

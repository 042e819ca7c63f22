"""waybills from providers, pickups, tracking, re-shipping

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000

Issue 13. A parcel may wait for its waybill (an API provider answers after the
outcome transaction): ``shipments.waybill`` becomes nullable, and each parcel gets
its provider, its order reference (the provider's idempotency key, unique), its
status, order attempts and the reason it waits, the provider's estimate, route codes
and label, and its tracking. A returned parcel that staff re-ship stays as a row
replaced by the new one, so ``application_id`` is unique only among live parcels (a
partial unique index). Manifests record the pickup booked for their parcels.

Rows already stored are pool parcels: provider "pool", status "ordered".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# SQLite reflects the unnamed UNIQUE(application_id) of 0001 without a name: batch
# mode names it by this convention so it can be dropped (Alembic, "Dropping Unnamed
# or Named Foreign Key Constraints"). PostgreSQL named it <table>_<column>_key.
_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_LIVE = sa.text("replaced_by_id IS NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint("shipments_application_id_key", "shipments", type_="unique")
    with op.batch_alter_table('shipments', schema=None, naming_convention=_NAMES) as batch_op:
        if sqlite:
            batch_op.drop_constraint("uq_shipments_application_id", type_="unique")
        batch_op.alter_column('waybill', existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column('provider', sa.String(length=16), server_default='pool', nullable=False))
        batch_op.add_column(sa.Column('reference', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='ordered', nullable=False))
        batch_op.add_column(sa.Column('order_tries', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('order_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_try_at', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('claim_owner', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('estimated_fee', worker.db.types.Money(), nullable=True))
        batch_op.add_column(sa.Column('route_codes', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('provider_label', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('tracked_at', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('tracking_note', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('replaced_by_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_shipments_reference', ['reference'])
        batch_op.create_foreign_key('fk_shipments_replaced_by_id', 'shipments', ['replaced_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_shipments_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_status'), ['status'], unique=False)
    op.create_index('uq_shipments_live_application', 'shipments', ['application_id'], unique=True,
                    sqlite_where=_LIVE, postgresql_where=_LIVE)
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_start', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('pickup_end', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('pickup_ref', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('pickup_booked_at', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('pickup_error', sa.Text(), nullable=True))


def downgrade() -> None:
    """Only while every parcel has a waybill and none was re-shipped."""
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        for column in ('pickup_error', 'pickup_booked_at', 'pickup_ref', 'pickup_end', 'pickup_start'):
            batch_op.drop_column(column)
    op.drop_index('uq_shipments_live_application', table_name='shipments')
    with op.batch_alter_table('shipments', schema=None, naming_convention=_NAMES) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_status'))
        batch_op.drop_index(batch_op.f('ix_shipments_application_id'))
        batch_op.drop_constraint('fk_shipments_replaced_by_id', type_='foreignkey')
        batch_op.drop_constraint('uq_shipments_reference', type_='unique')
        for column in ('replaced_by_id', 'tracking_note', 'tracked_at', 'provider_label',
                       'route_codes', 'estimated_fee', 'claim_owner', 'claimed_until', 'next_try_at',
                       'order_error', 'order_tries', 'status', 'reference', 'provider'):
            batch_op.drop_column(column)
        batch_op.alter_column('waybill', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_shipments_application_id', ['application_id'])

"""seller and courier facts stored with each invoice, parcel and manifest

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00

The columns are nullable and NOT backfilled: a migration runs without the worker's
config, and even with it could not know which config an existing invoice was printed
with. Rows issued before this revision keep NULL and are read with today's config
(``worker.issuing.facts.seller_of`` / ``courier_of``); every row issued after it
carries its own snapshot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seller_json', sa.Text(), nullable=True))
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courier_json', sa.Text(), nullable=True))
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('courier_json', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('courier_json')
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.drop_column('courier_json')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('seller_json')

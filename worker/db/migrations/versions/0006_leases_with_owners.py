"""print claims and outbox lease owners

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000

Applications get the owner and end of a print claim (taken before rendering, so two
passes never render the same batch); outbox rows get the owner of a sending lease, so
a restarted worker reclaims the leases of its dead processes at once (issue 10 item 8).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('print_claim', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('print_claimed_until', worker.db.types.UtcDateTime(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_owner')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('print_claimed_until')
        batch_op.drop_column('print_claim')

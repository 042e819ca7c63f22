"""buyer email: the optional 购买方邮箱 form field (issue 8, platform mode)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00

Applications stored before it have none ('' : the mail's sender is used).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buyer_email', sa.String(length=320), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('buyer_email')

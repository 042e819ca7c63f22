"""mail arrival time and why a mail was ignored

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:00:00

``mails.received_at``: when the mailbox received the mail (IMAP INTERNALDATE, Maildir
mtime); deadlines are judged by it, the Date header is only shown.  Rows stored before
keep NULL and are judged by their Date as they were.
``mails.auto_reason``: why a mail was taken as machine-made and ignored, for the console.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_at', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('auto_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_column('auto_reason')
        batch_op.drop_column('received_at')

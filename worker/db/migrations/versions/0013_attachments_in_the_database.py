"""stored attachments in the database: one row per content, written with the application

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:00:00

Issue 12: intake wrote each application's attachment as a file of its own under
``[output] dir`` (a temp file, a rename, and a ``syncfs`` of the whole file system
before each chunk's commit). On this VM's ext4 (no journal) creating a file walks the
inodes deleted in the last half-minute, so a mail's file cost 0.1-0.4 ms of system time,
more than any other step of storing it. The bytes now go into ``stored_attachments``
in the chunk's transaction, under the name ``applications.attachment_path`` already
held, so a row never names a file that is not there. Files stored before stay where
they are and are still served from there (rows that name no stored attachment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stored_attachments',
        sa.Column('name', worker.db.types.String(length=500), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('stored_at', worker.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    """Refused while attachments are stored here: their bytes would be lost (the
    revision before knew only files; nothing here knows ``[output] dir``)."""
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM stored_attachments LIMIT 1")).first() is not None:
        raise RuntimeError("stored_attachments holds attachments; downgrading would lose "
                           "them (back up, then delete those rows to go on)")
    op.drop_table('stored_attachments')

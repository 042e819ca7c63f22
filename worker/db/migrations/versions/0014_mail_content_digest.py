"""mails.content_digest: a copy of a mail tells itself from another mail reusing its Message-ID

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:40:00

A mailer that gives two different mails one Message-ID (a broken client, an OA
system's constant ID) had the second moved as "already processed": no row, no
reply, the unit's application lost. The SHA-256 of what a mail says (sender,
subject, text, files: ``worker.message.model.content_digest``) is stored with it; a
later mail under the same Message-ID that says something else is a mail of its own
(``reused_message_id``). Rows stored before keep NULL and are taken as the same
mail, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_digest', worker.db.types.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_column('content_digest')

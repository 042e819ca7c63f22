"""mails.envelope_digest, and content_digest indexed: which mails are copies, read or not

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:50:00

A mail over the size limit is not read, so what it says cannot be compared: a copy of
a processed mail that a relay's Received line took over the limit was stored and
answered again, and taking every unread mail for a copy lost a different mail that
reused its Message-ID after it. The SHA-256 of the sender, subject and Date
(``worker.message.model.envelope_digest``) is stored with every mail, and
``same_mail`` compares it when a mail was not read; such a mail's content_digest is
NULL from now on. Rows stored before lose 0014's digest, which hashed the subject
too, and are taken as the same mail by any copy, as rows from before 0014 are.

content_digest is indexed: a mail without Message-ID that a relay gave one arrives
under two keys, and its copy is found by what it says (``intake.copies.relayed_copies``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('envelope_digest', worker.db.types.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_mails_content_digest'), ['content_digest'], unique=False)
    # 0014's digests also hashed the subject (and a too-large mail's headers): compared
    # with today's, every copy of those mails would be judged again. Without a digest
    # they are taken for the same mail, as rows from before 0014 are.
    op.execute(sa.text("UPDATE mails SET content_digest = NULL"))


def downgrade() -> None:
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mails_content_digest'))
        batch_op.drop_column('envelope_digest')

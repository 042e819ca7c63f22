"""outbox built when sent: a queued reply stores its body and parts, not its MIME bytes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-15 09:00:00

Issue 12: composing the MIME message cost ~2.3 ms a mail inside intake's transaction;
the sender builds it now (worker.replies.draft). Rows queued before keep their bytes
in ``message`` and are sent as they are, so ``message`` only becomes nullable.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('fields', sa.Text(), nullable=True))
        batch_op.alter_column('message', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    """Back to stored bytes: each row still to send (or to send again) is built now;
    refused if one of them attaches files (their folder is not known here: send or
    give them up first). Sent and withheld rows keep no bytes, as before (b'')."""
    from worker.replies.draft import stored_message  # the builder of this revision

    conn = op.get_bind()
    outbox = sa.table('outbox', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
                      sa.column('message', sa.LargeBinary()), sa.column('body', sa.Text()),
                      sa.column('fields', sa.Text()))
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.status, outbox.c.body, outbox.c.fields)
                        .where(outbox.c.message.is_(None))).all()
    for row in rows:
        data = b''
        if row.fields is not None and row.status not in ('sent', 'withheld'):
            data = stored_message(None, row.fields, row.body, None).as_bytes()  # MissingAttachment
        conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(message=data))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('message', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('fields')
        batch_op.drop_column('body')

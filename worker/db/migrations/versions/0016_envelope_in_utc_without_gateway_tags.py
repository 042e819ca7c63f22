"""mails.envelope_digest recomputed: the Date as an instant, the subject without a gateway's tag

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 11:10:00

A copy of a mail too large to read, and a relayed copy given a Message-ID of its own,
are known by the envelope digest (sender, subject, Date). A gateway that wrote the
Date's instant in another zone (+0800 as +0000) or tagged the subject ([EXTERNAL],
【外部邮件】) made such a copy a second mail, held and answered again. The digest now
hashes the Date in UTC and the subject without those tags
(``worker.message.model.envelope_of``); stored rows that have one are recomputed from
their stored sender, subject and Date. Rows without one (stored before 0015) keep
none: they are still taken for a copy by any mail with their Date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types
from worker.message.model import envelope_of

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_mails = sa.table(
    "mails",
    sa.column("id", sa.Integer),
    sa.column("sender", worker.db.types.String(320)),
    sa.column("subject", worker.db.types.Text()),
    sa.column("date", worker.db.types.UtcDateTime()),
    sa.column("envelope_digest", worker.db.types.String(64)),
)
_BATCH = 1000


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_mails.c.id, _mails.c.sender, _mails.c.subject, _mails.c.date)
                        .where(_mails.c.envelope_digest.is_not(None))
                        .order_by(_mails.c.id)).all()
    update = (_mails.update().where(_mails.c.id == sa.bindparam("mail_id"))
              .values(envelope_digest=sa.bindparam("digest")))
    for start in range(0, len(rows), _BATCH):
        conn.execute(update, [
            {"mail_id": mail_id, "digest": envelope_of(sender or "", subject or "", date)}
            for mail_id, sender, subject, date in rows[start:start + _BATCH]])


def downgrade() -> None:
    pass  # the older digests cannot be told back; 0015's code compares what it finds

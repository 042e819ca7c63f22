"""application lines without their id_number and order_no indexes: no query uses them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:00:00

Issue 12: the one query that names these columns, the console queue's search
(``worker.console.queue``), asks for an application having a line whose order number,
ID number OR name is the text searched; the name has no index, so neither database can
use these two (SQLite's plan: every application, its lines by ``application_id``). Yet
every intake commit wrote them: keys in random order, so a chunk of 50 mails (about
1,200 lines) rewrote most of their leaf pages, a write volume growing with the table
(at 900 mails 42% of the pages SQLite wrote to its WAL, bench/intake.py). Payments keep
theirs (``ix_payments_id_number``, looked up by number), and invoice items their unique
active-order index.
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('application_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_lines_order_no'))
        batch_op.drop_index(batch_op.f('ix_application_lines_id_number'))


def downgrade() -> None:
    with op.batch_alter_table('application_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_lines_id_number'), ['id_number'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_application_lines_order_no'), ['order_no'],
                              unique=False)

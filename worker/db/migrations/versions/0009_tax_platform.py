"""tax platform: invoice states and 发票流水号, exports, imports, reversals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00

Existing invoices were numbered from the paper stock, so they are ``issued``. The
``invoice_items.order_no`` unique constraint becomes a partial unique index over active
items: a failed or reversed invoice frees its orders.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import worker.db.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# SQLite's unnamed UNIQUE(order_no) gets this name when batch mode reflects the table.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    op.create_table('tax_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', worker.db.types.UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('invoices', sa.Integer(), nullable=False),
    sa.Column('files', sa.Text(), nullable=False),
    sa.Column('template', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('tax_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', worker.db.types.UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('unreadable', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.String(length=16),
                              type_=sa.String(length=20), nullable=True)
        batch_op.add_column(sa.Column('serial', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=16), nullable=False,
                                      server_default='issued'))
        batch_op.add_column(sa.Column('export_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('platform_issued_at', worker.db.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('failure', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('xml_path', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('ofd_path', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('platform_pdf_path', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('xml_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_invoices_serial', ['serial'])
        batch_op.create_unique_constraint('uq_invoices_xml_digest', ['xml_digest'])
        batch_op.create_index('ix_invoices_state', ['state'], unique=False)
        batch_op.create_index('ix_invoices_export_id', ['export_id'], unique=False)
        batch_op.create_foreign_key('fk_invoices_export_id', 'tax_exports', ['export_id'], ['id'])
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)

    op.create_table('invoice_reversals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('confirmation_no', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', worker.db.types.UtcDateTime(), nullable=False),
    sa.Column('red_number', sa.String(length=20), nullable=True),
    sa.Column('red_xml_path', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id'),
    sa.UniqueConstraint('red_number')
    )

    bind = op.get_bind()
    unique_name = ('uq_invoice_items_order_no' if bind.dialect.name == 'sqlite'
                   else _pg_unique_name(bind))
    with op.batch_alter_table('invoice_items', schema=None,
                              naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.drop_constraint(unique_name, type_='unique')
    with op.batch_alter_table('invoice_items', schema=None) as batch_op:
        batch_op.alter_column('active', server_default=None)
    op.create_index('uq_invoice_items_active_order', 'invoice_items', ['order_no'], unique=True,
                    sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))


def _pg_unique_name(bind: sa.engine.Connection) -> str:
    for constraint in sa.inspect(bind).get_unique_constraints('invoice_items'):
        if constraint['column_names'] == ['order_no']:
            return str(constraint['name'])
    raise RuntimeError("invoice_items has no unique constraint on order_no")


def downgrade() -> None:
    op.drop_index('uq_invoice_items_active_order', table_name='invoice_items')
    with op.batch_alter_table('invoice_items', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_invoice_items_order_no', ['order_no'])
        batch_op.drop_column('active')
    op.drop_table('invoice_reversals')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invoices_export_id', type_='foreignkey')
        batch_op.drop_index('ix_invoices_export_id')
        batch_op.drop_index('ix_invoices_state')
        batch_op.drop_constraint('uq_invoices_xml_digest', type_='unique')
        batch_op.drop_constraint('uq_invoices_serial', type_='unique')
        for column in ('xml_digest', 'platform_pdf_path', 'ofd_path', 'xml_path', 'failure',
                       'platform_issued_at', 'export_id', 'state', 'serial'):
            batch_op.drop_column(column)
        batch_op.alter_column('number', existing_type=sa.String(length=20),
                              type_=sa.String(length=16), nullable=False)
    op.drop_table('tax_imports')
    op.drop_table('tax_exports')

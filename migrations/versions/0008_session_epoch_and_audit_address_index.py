"""users.session_epoch ends every session of a user at once; audit entries indexed by address and time

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_audit_entries_address', 'audit_entries', ['remote_addr', 'occurred_at'])


def downgrade():
    op.drop_index('ix_audit_entries_address', table_name='audit_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

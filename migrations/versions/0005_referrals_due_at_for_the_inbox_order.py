"""referrals due_at for the inbox order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:39:20.381232

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_referrals_inbox'))
        batch_op.create_index('ix_referrals_inbox', ['to_agency_id', 'status', 'due_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_referrals_outbox'))
        batch_op.create_index('ix_referrals_outbox', ['from_agency_id', 'status', 'due_at'], unique=False)
    op.execute(
        "UPDATE referrals SET due_at = CASE WHEN status = 'requested' THEN respond_by "
        "WHEN status IN ('accepted', 'in-progress', 'on-hold') THEN complete_by END"
    )


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_outbox')
        batch_op.create_index(batch_op.f('ix_referrals_outbox'), ['from_agency_id', 'status', 'created_at'], unique=False)
        batch_op.drop_index('ix_referrals_inbox')
        batch_op.create_index(batch_op.f('ix_referrals_inbox'), ['to_agency_id', 'status', 'created_at'], unique=False)
        batch_op.drop_column('due_at')


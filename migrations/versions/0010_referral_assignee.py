"""who inside the receiving agency works a referral: its assignee

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_referrals_assignee_user_id_users'), 'users',
                                    ['assignee_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_referrals_assignee', ['assignee_user_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_assignee')
        batch_op.drop_constraint(batch_op.f('fk_referrals_assignee_user_id_users'), type_='foreignkey')
        batch_op.drop_column('assignee_user_id')

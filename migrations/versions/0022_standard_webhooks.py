"""Standard Webhooks: the secret a rotation replaced stays valid for a grace period

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-10 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_previous_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('webhook_previous_secret_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('webhook_previous_secret_until')
        batch_op.drop_column('webhook_previous_secret')

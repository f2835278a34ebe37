"""the agency's name in Kazakh, beside the English and the Russian ones

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 00:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_kk', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('name_kk')

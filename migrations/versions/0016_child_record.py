"""the child's record for casework: guardians, date of return, where the child lives now, and the case version

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 20:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('guardians', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_check_constraint(batch_op.f('ck_cases_version_positive'), 'version >= 1')


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cases_version_positive'), type_='check')
        batch_op.drop_column('version')
        batch_op.drop_column('guardians')
        batch_op.drop_column('returned_on')
        batch_op.drop_column('settlement')

"""cases.search_key: the child's names folded for search across scripts (Нұрланова = Нурланова = Nurlanova)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:30:00

"""
import sqlalchemy as sa
from alembic import op

from referral.cases.names import search_key

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.String(length=400), nullable=False, server_default=''))
    cases = sa.table('cases', sa.column('id'), sa.column('given_name'), sa.column('family_name'),
                     sa.column('patronymic'), sa.column('search_key'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(cases.c.id, cases.c.given_name, cases.c.family_name,
                                        cases.c.patronymic)).all()
    for row in rows:
        connection.execute(sa.update(cases).where(cases.c.id == row.id)
                           .values(search_key=search_key(row.given_name, row.family_name, row.patronymic)))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('search_key')

"""cases.given_key, family_key and born_about: each name folded alone and the year of birth (or about), indexed
together for the duplicate check

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 01:00:00

"""
import sqlalchemy as sa
from alembic import op

from referral.cases.names import birth_year, name_key, search_key

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_key', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('family_key', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('born_about', sa.Integer(), nullable=True))
        batch_op.create_index('ix_cases_given_key_born_about', ['given_key', 'born_about'], unique=False)
        batch_op.create_index('ix_cases_family_key_born_about', ['family_key', 'born_about'], unique=False)
    cases = sa.table('cases', sa.column('id'), sa.column('given_name'), sa.column('family_name'),
                     sa.column('patronymic'), sa.column('birth_date', sa.Date), sa.column('estimated_age'),
                     sa.column('created_at', sa.DateTime), sa.column('search_key'), sa.column('given_key'),
                     sa.column('family_key'), sa.column('born_about'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(cases.c.id, cases.c.given_name, cases.c.family_name, cases.c.patronymic,
                                        cases.c.birth_date, cases.c.estimated_age, cases.c.created_at)).all()
    for row in rows:
        connection.execute(sa.update(cases).where(cases.c.id == row.id).values(
            # The folding learnt the Kazakh Latin ş and ç: search keys are made again with the new ones.
            search_key=search_key(row.given_name, row.family_name, row.patronymic),
            given_key=name_key(row.given_name), family_key=name_key(row.family_name),
            born_about=birth_year(row.birth_date, row.estimated_age, row.created_at)))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_family_key_born_about')
        batch_op.drop_index('ix_cases_given_key_born_about')
        batch_op.drop_column('born_about')
        batch_op.drop_column('family_key')
        batch_op.drop_column('given_key')

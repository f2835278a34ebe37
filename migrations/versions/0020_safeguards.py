"""safeguards: consent withdrawal, legal hold, and erasure after the retention period

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-03 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_consents_withdrawn_by_user_id_users'), 'users',
                                    ['withdrawn_by_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_consents_withdrawn_with_reason'),
                                         '(withdrawn_at IS NULL) = (withdrawal_reason IS NULL)')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_cases_has_age'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_cases_has_age'),
            'birth_date IS NOT NULL OR estimated_age IS NOT NULL OR erased_at IS NOT NULL')
        batch_op.create_check_constraint(batch_op.f('ck_cases_erased_when_closed'),
                                         "erased_at IS NULL OR status = 'closed'")
        batch_op.create_index(batch_op.f('ix_cases_closed_at'), ['closed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_closed_at'))
        batch_op.drop_constraint(batch_op.f('ck_cases_erased_when_closed'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_cases_has_age'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_cases_has_age'),
                                         'birth_date IS NOT NULL OR estimated_age IS NOT NULL')
        batch_op.drop_column('birth_year')
        batch_op.drop_column('erased_at')
        batch_op.drop_column('legal_hold_at')
        batch_op.drop_column('legal_hold')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consents_withdrawn_with_reason'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_consents_withdrawn_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('withdrawn_by_user_id')
        batch_op.drop_column('withdrawal_reason')

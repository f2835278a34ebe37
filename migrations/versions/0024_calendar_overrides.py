"""the working calendar's overrides: days off and working days a country decides by decree

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'calendar_overrides',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('country', sa.String(length=8), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.Enum('day_off', 'working_day', name='calendar_day_kind', native_enum=False,
                                  create_constraint=True, length=11), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_by_user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("name <> ''", name=op.f('ck_calendar_overrides_name_not_empty')),
        sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'],
                                name=op.f('fk_calendar_overrides_created_by_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_overrides')),
        sa.UniqueConstraint('country', 'day', name='uq_calendar_overrides_country_day'),
    )


def downgrade():
    op.drop_table('calendar_overrides')

"""interviews and assessments of the child

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:15:38.236592

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('conducted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('interview', 'assessment', 'medical_examination', 'court_hearing', name='interview_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('shared_with', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("summary <> ''", name=op.f('ck_interviews_summary_not_empty')),
    sa.CheckConstraint("topic <> ''", name=op.f('ck_interviews_topic_not_empty')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_interviews_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_interviews_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conducted_by_user_id'], ['users.id'], name=op.f('fk_interviews_conducted_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interviews'))
    )
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interviews_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interviews_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('interviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interviews_case_id'))
        batch_op.drop_index(batch_op.f('ix_interviews_agency_id'))

    op.drop_table('interviews')

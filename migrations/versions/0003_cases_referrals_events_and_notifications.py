"""cases, referrals, events and notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:19:07.599907

"""
import sqlalchemy as sa
from alembic import op

# The timeline is append-only, like the audit log, and the rule lives in the database.
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events is append-only'); END",
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'events is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
    ],
}
DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER IF EXISTS events_no_update", "DROP TRIGGER IF EXISTS events_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS events_no_change ON events",
        "DROP FUNCTION IF EXISTS events_append_only()",
    ],
}


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_number_sequences',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_case_number_sequences'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('workflow_version_id', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('patronymic', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('estimated_age', sa.Integer(), nullable=True),
    sa.Column('sex', sa.Enum('female', 'male', 'unknown', name='child_sex', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('region', sa.String(length=5), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('risk_level', sa.Enum('high', 'medium', 'low', name='risk_level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='case_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('registered_by_agency_id', sa.Integer(), nullable=False),
    sa.Column('registered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name=op.f('ck_cases_closed_has_closed_at')),
    sa.CheckConstraint('birth_date IS NOT NULL OR estimated_age IS NOT NULL', name=op.f('ck_cases_has_age')),
    sa.CheckConstraint('estimated_age IS NULL OR (estimated_age >= 0 AND estimated_age < 25)', name=op.f('ck_cases_estimated_age_range')),
    sa.ForeignKeyConstraint(['registered_by_agency_id'], ['agencies.id'], name=op.f('fk_cases_registered_by_agency_id_agencies')),
    sa.ForeignKeyConstraint(['registered_by_user_id'], ['users.id'], name=op.f('fk_cases_registered_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_version_id'], ['workflow_versions.id'], name=op.f('fk_cases_workflow_version_id_workflow_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_registered_by_agency_id'), ['registered_by_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_workflow_version_id'), ['workflow_version_id'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('given_by', sa.String(length=200), nullable=False),
    sa.Column('relationship_to_child', sa.String(length=100), nullable=False),
    sa.Column('agency_types', sa.JSON(), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('expires_on IS NULL OR expires_on >= given_on', name=op.f('ck_consents_expires_after_given')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consents_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_consents_recorded_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_case_id'), ['case_id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=64), nullable=True),
    sa.Column('to_stage', sa.String(length=64), nullable=False),
    sa.Column('from_agency_id', sa.Integer(), nullable=True),
    sa.Column('to_agency_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('requested', 'accepted', 'rejected', 'in-progress', 'on-hold', 'completed', 'failed', 'cancelled', name='referral_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('respond_by', sa.DateTime(), nullable=True),
    sa.Column('complete_by', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(status IN ('cancelled', 'completed', 'failed', 'rejected')) = (closed_at IS NOT NULL)", name=op.f('ck_referrals_closed_has_closed_at')),
    sa.CheckConstraint("status <> 'completed' OR outcome IS NOT NULL", name=op.f('ck_referrals_completed_has_outcome')),
    sa.CheckConstraint('(from_stage IS NULL) = (from_agency_id IS NULL)', name=op.f('ck_referrals_sender_has_stage')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_referrals_version_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_referrals_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_agency_id'], ['agencies.id'], name=op.f('fk_referrals_from_agency_id_agencies')),
    sa.ForeignKeyConstraint(['parent_id'], ['referrals.id'], name=op.f('fk_referrals_parent_id_referrals')),
    sa.ForeignKeyConstraint(['to_agency_id'], ['agencies.id'], name=op.f('fk_referrals_to_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_referrals_inbox', ['to_agency_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_referrals_outbox', ['from_agency_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_status'), ['status'], unique=False)
        batch_op.create_index('uq_referrals_open_target', ['case_id', 'to_stage', 'to_agency_id'], unique=True, sqlite_where=sa.text("status IN ('accepted', 'in-progress', 'on-hold', 'requested')"), postgresql_where=sa.text("status IN ('accepted', 'in-progress', 'on-hold', 'requested')"))

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('actor_agency_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_agency_id'], ['agencies.id'], name=op.f('fk_events_actor_agency_id_agencies')),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_events_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_events_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_referral_id'), ['referral_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_notifications_referral_id_referrals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at'], unique=False)
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_referral_id'))
        batch_op.drop_index(batch_op.f('ix_events_case_id'))

    op.drop_table('events')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('uq_referrals_open_target', sqlite_where=sa.text("status IN ('accepted', 'in-progress', 'on-hold', 'requested')"), postgresql_where=sa.text("status IN ('accepted', 'in-progress', 'on-hold', 'requested')"))
        batch_op.drop_index(batch_op.f('ix_referrals_status'))
        batch_op.drop_index('ix_referrals_outbox')
        batch_op.drop_index('ix_referrals_inbox')
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_case_id'))

    op.drop_table('consents')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_workflow_version_id'))
        batch_op.drop_index(batch_op.f('ix_cases_status'))
        batch_op.drop_index(batch_op.f('ix_cases_registered_by_agency_id'))
        batch_op.drop_index(batch_op.f('ix_cases_region'))

    op.drop_table('cases')
    op.drop_table('case_number_sequences')

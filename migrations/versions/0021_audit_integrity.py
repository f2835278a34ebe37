"""audit integrity: seals beside the audit entries, and TRUNCATE refused on the append-only tables

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# Row triggers (0001, 0003) refuse UPDATE and DELETE on audit_entries and events, but TRUNCATE fires no row
# trigger: a statement trigger refuses it. The seals are append-only like the entries they seal.
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals "
        "BEGIN SELECT RAISE(ABORT, 'audit_seals is append-only'); END",
        "CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals "
        "BEGIN SELECT RAISE(ABORT, 'audit_seals is append-only'); END",
    ],
    "postgresql": [
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
        "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()",
        "CREATE OR REPLACE FUNCTION audit_seals_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_seals is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_seals_no_change BEFORE UPDATE OR DELETE ON audit_seals "
        "FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only()",
        "CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_seals_append_only()",
    ],
}
DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_seals_no_update", "DROP TRIGGER IF EXISTS audit_seals_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS audit_seals_no_truncate ON audit_seals",
        "DROP TRIGGER IF EXISTS audit_seals_no_change ON audit_seals",
        "DROP FUNCTION IF EXISTS audit_seals_append_only()",
        "DROP TRIGGER IF EXISTS events_no_truncate ON events",
        "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    ],
}


def upgrade():
    op.create_table('audit_seals',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entries.id'], name=op.f('fk_audit_seals_entry_id_audit_entries'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_audit_seals'))
    )
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table('audit_seals')

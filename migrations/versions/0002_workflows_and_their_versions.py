"""workflows and their versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:13:08.055717

"""
import sqlalchemy as sa
from alembic import op

# A published version never changes: cases run on the version they started on.
# As for the audit log, the rule lives in the database too.
IMMUTABLE = {
    "sqlite": [
        "CREATE TRIGGER workflow_versions_no_update BEFORE UPDATE ON workflow_versions "
        "BEGIN SELECT RAISE(ABORT, 'workflow_versions are immutable'); END",
        "CREATE TRIGGER workflow_versions_no_delete BEFORE DELETE ON workflow_versions "
        "BEGIN SELECT RAISE(ABORT, 'workflow_versions are immutable'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION workflow_versions_immutable() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'workflow_versions are immutable'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER workflow_versions_no_change BEFORE UPDATE OR DELETE ON workflow_versions "
        "FOR EACH ROW EXECUTE FUNCTION workflow_versions_immutable()",
    ],
}
DROP_IMMUTABLE = {
    "sqlite": ["DROP TRIGGER IF EXISTS workflow_versions_no_update",
               "DROP TRIGGER IF EXISTS workflow_versions_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS workflow_versions_no_change ON workflow_versions",
        "DROP FUNCTION IF EXISTS workflow_versions_immutable()",
    ],
}


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('workflows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=True),
    sa.Column('draft_updated_at', sa.DateTime(), nullable=True),
    sa.Column('draft_updated_by_id', sa.Integer(), nullable=True),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(draft IS NULL AND draft_updated_at IS NULL) OR (draft IS NOT NULL AND draft_updated_at IS NOT NULL)', name=op.f('ck_workflows_draft_has_time')),
    sa.CheckConstraint('latest_version >= 0', name=op.f('ck_workflows_latest_version_not_negative')),
    sa.ForeignKeyConstraint(['draft_updated_by_id'], ['users.id'], name=op.f('fk_workflows_draft_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('key', name=op.f('uq_workflows_key'))
    )
    op.create_table('workflow_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('number >= 1', name=op.f('ck_workflow_versions_number_positive')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_workflow_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_versions_workflow_id_workflows'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_versions')),
    sa.UniqueConstraint('workflow_id', 'number', name='uq_workflow_versions_workflow_id_number')
    )
    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_versions_workflow_id'), ['workflow_id'], unique=False)
    for statement in IMMUTABLE.get(op.get_bind().dialect.name, []):
        op.execute(statement)



def downgrade():
    for statement in DROP_IMMUTABLE.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_versions_workflow_id'))

    op.drop_table('workflow_versions')
    op.drop_table('workflows')

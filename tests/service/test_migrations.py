"""Migrations build the schema the models describe, and go down and up again."""

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from referral import create_app
from referral.extensions import db
from referral.schema_migrations import MIGRATIONS_DIR, init_migrations
from tests.appfixtures import BASE_CONFIG, PG_URL


@pytest.fixture
def empty_database_url(tmp_path):
    """Return the URL of a database with nothing in it (a throwaway database on PostgreSQL)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"referral_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_matches_models_and_downgrade_to_base_and_back_works(empty_database_url):
    app = init_migrations(create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database_url}))
    with app.app_context():
        upgrade()
        assert tables() == set(db.metadata.tables)
        assert schema_differences() == []
        downgrade(revision="base")
        assert tables() == set()
        upgrade()
        assert schema_differences() == []
        db.engine.dispose()


def test_each_revision_has_a_downgrade_and_one_head():
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert callable(getattr(revision.module, "downgrade", None)), revision.revision

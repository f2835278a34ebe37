"""The schema's migrations (Alembic, through Flask-Migrate), bound only to the apps that run them.

The CLI, the tests and the benchmarks call ``init_migrations`` on the app they build; ``create_app`` does not,
so the web server never imports Flask-Migrate: with Alembic, Mako and Pygments it was 11 MB of the resident
memory of every web worker, which never migrates.
"""

import os

from flask import Flask
from flask_migrate import Migrate

from .extensions import db

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")

migrate = Migrate()


def init_migrations(app: Flask) -> Flask:
    """Bind the migrations (``referral db``, ``flask_migrate.upgrade``) to ``app``; return it."""
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR", MIGRATIONS_DIR),
                     render_as_batch=True, compare_type=True)
    return app

"""The referral engine service: Flask app, database, web UI, REST API, scheduler, CLI."""

import os
import secrets

from flask import Flask

from . import config as settings
from .audit.views import bp as audit_bp
from .auth.admin_views import bp as users_admin_bp
from .auth.oidc import init_oidc
from .auth.views import bp as auth_bp
from .cases.views import bp as cases_bp
from .deadlines.views import bp as deadlines_bp
from .designer.views import bp as designer_bp
from .directory.views import bp as directory_bp
from .errors import register_error_handlers
from .extensions import babel, bootstrap, csrf, db, login_manager
from .fhir.views import bp as fhir_bp
from .migration.views import bp as migration_bp
from .notifications.admin_views import bp as deliveries_admin_bp
from .notifications.views import bp as notifications_bp
from .referrals.views import bp as inbox_bp
from .reports.views import bp as reports_bp
from .security import init_security
from .shell.api import register_api
from .shell.navigation import init_navigation
from .shell.views import bp as web_bp
from .web.locale import init_i18n
from .working_calendar.views import bp as calendar_bp


def create_app(config: dict | None = None) -> Flask:
    """Build the application; ``config`` overrides the environment (tests pass a mapping)."""
    instance_path = os.path.abspath(os.environ.get("REFERRAL_INSTANCE_PATH", "instance"))
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.json = settings.OrjsonProvider(app)
    app.config.from_mapping(settings.DEFAULTS)
    app.config.from_mapping(settings.from_environment(app.instance_path))
    app.config.from_mapping(config or {})
    if not app.config.get("SECRET_KEY") and app.config.get("REFERRAL_CLI"):
        # Commands other than serving use no sessions; serving checks the real key.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    settings.check(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    db.init_app(app)  # the migrations are bound by who runs them: schema_migrations.init_migrations
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    init_i18n(app, babel)
    init_navigation(app)
    init_security(app)
    init_oidc(app)

    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(users_admin_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(designer_bp)
    app.register_blueprint(deadlines_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(deliveries_admin_bp)
    app.register_blueprint(fhir_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(migration_bp)
    register_api(app)
    register_error_handlers(app)
    return app

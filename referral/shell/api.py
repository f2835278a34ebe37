"""REST API v1 bound to the app: flask-smorest, bearer tokens only, one error shape."""

from flask import Flask, request
from flask_smorest import Api

from ..api.auth import authenticate_token, commit_what_a_read_wrote
from ..api.errors import ReferralApi
from ..audit.api import blp as audit_blp
from ..cases.api import blp as cases_blp
from ..deadlines.api import blp as deadlines_blp
from ..designer.api import blp as workflows_blp
from ..directory.api import blp as agencies_blp
from ..extensions import csrf
from ..migration.api import blp as migrations_blp
from ..notifications.api import blp as notifications_blp
from ..referrals.api import blp as referrals_blp
from ..referrals.api import case_blp as case_referrals_blp
from ..working_calendar.api import blp as calendars_blp

API_BLUEPRINTS = (agencies_blp, workflows_blp, migrations_blp, cases_blp, case_referrals_blp, referrals_blp,
                  deadlines_blp, notifications_blp, calendars_blp, audit_blp)


def register_api(app: Flask) -> Api:
    """Bind an API with its blueprints to the app; every API view needs a bearer token."""
    # flask-smorest keeps one app per Api object, so each app gets its own.
    api = ReferralApi(app)
    protected = set()
    for blueprint in API_BLUEPRINTS:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1" + blueprint.url_prefix)
        protected.add(blueprint.name)

    @app.before_request
    def require_token():
        if request.blueprint in protected:
            authenticate_token()

    @app.after_request
    def commit_reads(response):
        return commit_what_a_read_wrote(response) if request.blueprint in protected else response

    return api

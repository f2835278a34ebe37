"""REST API v1: flask-smorest, bearer tokens only, one error shape."""

import marshmallow as ma
from flask import Flask, request
from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema

from ..cases.api import blp as cases_blp
from ..deadlines.api import blp as deadlines_blp
from ..designer.api import blp as workflows_blp
from ..directory.api import blp as agencies_blp
from ..extensions import csrf
from ..notifications.api import blp as notifications_blp
from ..referrals.api import blp as referrals_blp
from .auth import authenticate_token, commit_what_a_read_wrote


class BrokenRuleSchema(ma.Schema):
    """A broken rule: a code clients switch on, and a message for people."""

    class Meta:
        unknown = ma.INCLUDE

    code = ma.fields.String(required=True, metadata={"description": "what rule was broken, e.g. consent_required"})
    message = ma.fields.String(required=True, metadata={"description": "the rule, in the caller's language"})
    severity = ma.fields.String(metadata={"description": "error or warning (workflow problems)"})


class ApiErrorSchema(ErrorSchema):
    """The one error shape of the API: every 4xx and 5xx answer has it."""

    problems = ma.fields.List(ma.fields.Nested(BrokenRuleSchema),
                              metadata={"description": "the rules a refused request broke (422), when there are"})


class ReferralApi(Api):
    """flask-smorest's Api, documenting our error shape (with ``problems``) for every operation."""

    ERROR_SCHEMA = ApiErrorSchema


API_BLUEPRINTS = (agencies_blp, workflows_blp, cases_blp, referrals_blp, deadlines_blp, notifications_blp)


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

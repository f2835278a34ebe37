"""The one error shape of the API, documented for every operation."""

import marshmallow as ma
from flask_smorest import Api
from flask_smorest.error_handler import ErrorSchema


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

"""The user account as an administrator (web) or an operator (CLI) enters it."""

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from agencies import Role

from ..validation import InputSchema, Text, one_of
from .service import EMAIL_RE, LOCALES, UserData, normalize_email


def _email(value: str) -> None:
    if not EMAIL_RE.match(normalize_email(value)):
        raise ma.ValidationError([_l("Enter a valid e-mail address.")])


class UserInSchema(InputSchema):
    """A user's details: builds the service's ``UserData``; a taken e-mail or an unknown agency the service finds."""

    email = Text(max_length=254, required=True, validate=_email)
    name = Text(max_length=200, required=True, error_messages={"required": _l("Enter a name.")})
    agency_code = ma.fields.String(required=True, data_key="agency")
    role = ma.fields.String(required=True, validate=one_of(
        [role.value for role in Role], _l("Choose one of: staff, supervisor, coordinator, admin.")))
    locale = ma.fields.String(load_default="en", validate=one_of(LOCALES, _l("Choose English, Russian or Kazakh.")))
    password = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=1000))
    is_active = ma.fields.Boolean(load_default=True)
    is_password_allowed = ma.fields.Boolean(load_default=True)

    @ma.post_load
    def _data(self, data, **kwargs) -> UserData:
        return UserData(**{**data, "email": normalize_email(data["email"])})

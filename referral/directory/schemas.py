"""Agency schemas of the API, one per direction."""

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from agencies import AgencyType, is_region_code

from ..validation import InputSchema, Text, one_of, refuse
from .models import TEXT_LIMITS
from .service import is_webhook_url


class ContactSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(max=200))
    title = ma.fields.String(validate=ma.validate.Length(max=200))
    email = ma.fields.Email()
    phone = ma.fields.String(validate=ma.validate.Length(max=50))


class ServiceSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    description = ma.fields.String(validate=ma.validate.Length(max=2000))


class AgencySchema(ma.Schema):
    """An agency as the API shows it."""

    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String()
    name = ma.fields.String()
    name_ru = ma.fields.String(allow_none=True)
    name_kk = ma.fields.String(allow_none=True)
    type = ma.fields.Enum(AgencyType, by_value=True)
    region = ma.fields.String()
    district = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))
    services = ma.fields.List(ma.fields.Nested(ServiceSchema))
    is_active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class AgencyAdminSchema(AgencySchema):
    """An agency as the admin who created or changed it sees it: with its webhook settings, never a stored
    secret; ``webhook_secret`` is there only in the answer that generated it."""

    webhook_url = ma.fields.String(allow_none=True)
    webhook_secret_set = ma.fields.Function(lambda agency: bool(agency.webhook_secret))
    #: Until then the secret a rotation replaced signs calls too.
    webhook_previous_secret_until = ma.fields.AwareDateTime(allow_none=True)
    webhook_secret = ma.fields.String(attribute="new_webhook_secret")


_TOO_LONG = _l("Must be at most %(max)d characters long.")


def _text(column: str, **options) -> Text:
    """Return a text field as long as the agency's column holds, trimmed, saying so when it is longer."""
    return Text(max_length=TEXT_LIMITS[column], too_long=_TOO_LONG, **options)


def _region(value: str) -> None:
    if not is_region_code(value):
        refuse(_l("Choose a region of Kazakhstan (ISO 3166-2:KZ code)."))


def _webhook_address(value: str) -> None:
    if not is_webhook_url(value):
        refuse(_l("Enter an http:// or https:// address of at most %(max)d characters.",
                  max=TEXT_LIMITS["webhook_url"]))


class AgencyCreateSchema(InputSchema):
    """An agency as an admin writes it — through the API, the agency form, the CLI or a directory file's
    record: the one description of its fields. Whether a webhook's host may be called and whether the code is
    taken are the service's rules."""

    code = _text("code", required=True, validate=ma.validate.Regexp(
        r"^[a-z0-9-]+$", error=_l("Use lower-case letters, digits and hyphens only.")))
    name = _text("name", required=True, error_messages={"required": _l("Enter a name.")})
    name_ru = _text("name_ru")
    name_kk = _text("name_kk")
    type = ma.fields.String(required=True, validate=one_of([t.value for t in AgencyType],
                                                           _l("Choose one of the agency types.")))
    region = ma.fields.String(required=True, validate=_region)
    district = _text("district")
    description = Text(max_length=5000, too_long=_TOO_LONG)
    email = _text("email", validate=ma.validate.Email(error=_l("Not a valid e-mail address.")))
    phone = _text("phone")
    address = _text("address")
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))
    services = ma.fields.List(ma.fields.Nested(ServiceSchema))
    is_active = ma.fields.Boolean()


class AgencyWriteSchema(AgencyCreateSchema):
    """An agency as an admin writes it through the API or the agency form: its fields, where its own system
    receives events, and whether the system is to generate a new webhook secret (shown once, in the answer)."""

    webhook_url = _text("webhook_url", validate=_webhook_address)
    rotate_webhook_secret = ma.fields.Boolean()


class AgencyPatchSchema(AgencyWriteSchema):
    """What an admin sends to change an agency: any subset of the fields (the code cannot change)."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class AgencyFormSchema(AgencyWriteSchema):
    """The agency form's fields: the same as the API's (the form adds only 'Remove the webhook secret')."""


class AgencyRecordSchema(AgencyCreateSchema):
    """An agency as a directory file's record describes it: the agency's fields and its location's city."""

    city = _text("city")


class AgencyQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    q = ma.fields.String(load_default="")
    type = ma.fields.String(validate=ma.validate.OneOf([t.value for t in AgencyType]))
    region = ma.fields.String()
    active = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))

"""Agency schemas of the API, one per direction."""

import marshmallow as ma

from agencies import AgencyType

from .models import TEXT_LIMITS


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


class AgencyCreateSchema(ma.Schema):
    """What an admin sends to create an agency."""

    class Meta:
        unknown = ma.RAISE

    code = ma.fields.String(required=True, validate=[
        ma.validate.Regexp(r"^[a-z0-9-]+$", error="Use lower-case letters, digits and hyphens only."),
        ma.validate.Length(max=TEXT_LIMITS["code"]),
    ])
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=TEXT_LIMITS["name"]))
    name_ru = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["name_ru"]))
    name_kk = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["name_kk"]))
    type = ma.fields.String(required=True, validate=ma.validate.OneOf([t.value for t in AgencyType]))
    region = ma.fields.String(required=True)
    district = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["district"]))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=5000))
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["email"]))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["phone"]))
    address = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=TEXT_LIMITS["address"]))
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))
    services = ma.fields.List(ma.fields.Nested(ServiceSchema))
    is_active = ma.fields.Boolean()


class AgencyPatchSchema(AgencyCreateSchema):
    """What an admin sends to change an agency: any subset of fields but the code."""

    class Meta:
        unknown = ma.RAISE

    code = ma.fields.String()
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=TEXT_LIMITS["name"]))
    type = ma.fields.String(validate=ma.validate.OneOf([t.value for t in AgencyType]))
    region = ma.fields.String()


class AgencyQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    q = ma.fields.String(load_default="")
    type = ma.fields.String(validate=ma.validate.OneOf([t.value for t in AgencyType]))
    region = ma.fields.String()
    active = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))

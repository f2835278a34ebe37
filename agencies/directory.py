"""The agency directory file: Open Referral HSDS-style JSON.

A directory document, version 1::

    {
      "format": "hsds-referral-directory",
      "version": 1,
      "organizations": [
        {
          "id": "astana-child-clinic",            # the agency code, [a-z0-9-]+
          "name": "Astana Children's Clinic No. 3",
          "alternate_name": "Детская поликлиника №3",  # the name in Russian
          "x_name_kk": "№3 балалар емханасы",     # the name in Kazakh
          "description": "...",
          "x_agency_type": "health",              # justice | health | education | social | civil_society
          "active": true,                         # optional, default true
          "email": "clinic3@example.kz",
          "phones": [{"number": "+7 7172 000000"}],   # at most one
          "locations": [{                         # exactly one: where the agency sits
            "address_1": "...", "city": "Astana",
            "x_region": "KZ-71",                  # ISO 3166-2:KZ
            "x_district": "Yesil"
          }],
          "services": [{"name": "Paediatric examination", "description": "..."}],
          "contacts": [{"name": "...", "title": "...", "email": "...", "phone": "..."}]
        }
      ]
    }

Fields that HSDS has keep their HSDS names (organization, location, service,
phone, contact); ``x_`` fields are our extensions where HSDS has none.
Fields we do not know are ignored, so a richer HSDS export still loads.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)
from marshmallow.exceptions import SCHEMA

from .agency_types import AgencyType
from .i18n import N_
from .regions import is_region_code

DIRECTORY_FORMAT = "hsds-referral-directory"
DIRECTORY_VERSION = 1
AGENCY_CODE_MAX_LENGTH = 64

_AGENCY_CODE = re.compile(r"[a-z0-9-]+")


def is_agency_code(value: object) -> bool:
    """Return whether a value is a valid agency code: ``[a-z0-9-]+``, at most 64 characters."""
    return (
        isinstance(value, str)
        and len(value) <= AGENCY_CODE_MAX_LENGTH
        and _AGENCY_CODE.fullmatch(value) is not None
    )


@dataclass(frozen=True)
class Service:
    """A service an agency offers."""

    name: str
    description: str | None = None


@dataclass(frozen=True)
class Contact:
    """A person to reach at an agency; at least one of name, e-mail and phone is given."""

    name: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class AgencyRecord:
    """One agency of the directory, as the file describes it."""

    code: str
    name: str
    #: The name in Russian (HSDS ``alternate_name``).
    name_ru: str | None = None
    #: The name in Kazakh (our extension ``x_name_kk``: HSDS has one alternate name only).
    name_kk: str | None = None
    type: AgencyType
    #: ISO 3166-2:KZ code.
    region: str
    district: str | None = None
    address: str | None = None
    city: str | None = None
    email: str | None = None
    phone: str | None = None
    description: str | None = None
    services: tuple[Service, ...] = ()
    contacts: tuple[Contact, ...] = ()
    is_active: bool = True


@dataclass(frozen=True)
class DirectoryProblem:
    """One thing wrong with a directory file.

    ``message`` is the English text; a service shows ``gettext(template) % params``.
    """

    #: Where, e.g. ``organizations[3].locations[0].x_region``; "" for the whole file.
    path: str
    #: Index of the organization concerned, or None for the document itself.
    record: int | None
    code: str
    template: str
    params: Mapping[str, Any] = field(hash=False)
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


_TEMPLATES = {
    "not_a_document": N_("A directory file must hold a JSON object."),
    "invalid_json": N_(
        "The file is not valid JSON (line %(line)d, column %(column)d)."
    ),
    "unreadable": N_("The file could not be read as JSON text in UTF-8."),
    "wrong_format": N_(
        'Not an agency directory file: "format" must be "%(expected)s".'
    ),
    "unsupported_version": N_(
        "Unsupported directory version %(value)s: this system reads version %(expected)d."
    ),
    "required": N_("This field is required."),
    "null": N_("This field may not be null."),
    "not_text": N_("Must be text."),
    "not_list": N_("Must be a list."),
    "not_object": N_("Must be an object."),
    "not_boolean": N_("Must be true or false."),
    "not_integer": N_("Must be a whole number."),
    "blank": N_("Must not be blank."),
    "invalid_characters": N_("Must not contain control characters."),
    "too_long": N_("Must be at most %(max)d characters long."),
    "invalid": N_("Invalid value."),
    "invalid_email": N_("Not a valid e-mail address."),
    "invalid_code": N_(
        '"%(value)s" is not a valid agency code: use only lower-case letters a-z, digits '
        "and hyphens, at most %(max)d characters."
    ),
    "unknown_agency_type": N_(
        'Unknown agency type "%(value)s"; expected one of: %(choices)s.'
    ),
    "unknown_region": N_(
        'Unknown region "%(value)s"; expected an ISO 3166-2:KZ code such as KZ-71.'
    ),
    "one_location": N_(
        "An agency must have exactly one location, which gives its region."
    ),
    "one_phone": N_(
        "An agency has at most one phone number; list other numbers under contacts."
    ),
    "empty_contact": N_("A contact needs a name, an e-mail address or a phone number."),
    "duplicate_service": N_('The service "%(value)s" is listed more than once.'),
    "duplicate_code": N_(
        'The agency code "%(value)s" is already used by organizations[%(first)d].'
    ),
}


@dataclass(frozen=True)
class _Issue:
    """An error message inside marshmallow's error tree that keeps its parameters."""

    code: str
    params: tuple[tuple[str, Any], ...] = ()


def _issue(code: str, **params: Any) -> _Issue:
    return _Issue(code, tuple(params.items()))


def _invalid(code: str, **params: Any) -> ValidationError:
    # A list, because marshmallow only passes strings and lists through unchanged.
    return ValidationError([_issue(code, **params)])


def _shown(value: object, limit: int = 60) -> str:
    """Return a value as it may be quoted back to the user, cut to a readable length."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=repr)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


# NUL and lone surrogates are valid in JSON strings but cannot be stored in
# PostgreSQL text; other control characters are never meant in a directory.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# Built-in marshmallow errors carry one of our codes instead of English text.
_FIELD_CODES = {"required": "required", "null": "null", "validator_failed": "invalid"}


class _Text(fields.String):
    """Text, trimmed; blank counts as absent, which a required field refuses."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **_FIELD_CODES,
        "invalid": "not_text",
        "invalid_utf8": "not_text",
    }

    def __init__(
        self, *, max_length: int | None = None, required: bool = False, **kwargs
    ):
        if not required:
            kwargs.setdefault("load_default", None)
        super().__init__(required=required, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _UNSTORABLE.search(text):
            raise _invalid("invalid_characters")
        if not text:
            if self.required:
                raise _invalid("blank")
            return None
        if self.max_length is not None and len(text) > self.max_length:
            raise _invalid("too_long", max=self.max_length)
        return text

    def _validate(self, value):
        # Validators judge a value, and an optional blank field has none.
        if value is not None:
            super()._validate(value)


class _Email(_Text):
    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid_email": "invalid_email"
    }

    def __init__(self, **kwargs):
        super().__init__(max_length=254, **kwargs)
        self.validators.insert(
            0, validate.Email(error=self.error_messages["invalid_email"])
        )


class _Boolean(fields.Field):
    """A JSON true or false; marshmallow's Boolean would also take "yes" or 1."""

    default_error_messages: ClassVar[dict[str, str]] = {
        **_FIELD_CODES,
        "invalid": "not_boolean",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class _Version(fields.Field):
    default_error_messages: ClassVar[dict[str, str]] = {
        **_FIELD_CODES,
        "invalid": "not_integer",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        # bool is an int in Python, but true is no version number.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.make_error("invalid")
        if value != DIRECTORY_VERSION:
            raise _invalid(
                "unsupported_version", value=value, expected=DIRECTORY_VERSION
            )
        return value


class _List(fields.List):
    default_error_messages: ClassVar[dict[str, str]] = {
        **_FIELD_CODES,
        "invalid": "not_list",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        # JSON has only lists; a string, set or generator here is a mistake.
        if not isinstance(value, list | tuple):
            raise self.make_error("invalid")
        return tuple(super()._deserialize(value, attr, data, **kwargs))


class _Nested(fields.Nested):
    default_error_messages: ClassVar[dict[str, str]] = {
        **_FIELD_CODES,
        "type": "not_object",
    }


def _agency_code(value: str) -> None:
    if not is_agency_code(value):
        raise _invalid("invalid_code", value=_shown(value), max=AGENCY_CODE_MAX_LENGTH)


_AGENCY_TYPES = frozenset(member.value for member in AgencyType)


def _agency_type(value: str) -> None:
    if value not in _AGENCY_TYPES:
        raise _invalid(
            "unknown_agency_type",
            value=_shown(value),
            choices=", ".join(member.value for member in AgencyType),
        )


def _region_code(value: str) -> None:
    if not is_region_code(value):
        raise _invalid("unknown_region", value=_shown(value))


def _format(value: str) -> None:
    if value != DIRECTORY_FORMAT:
        raise _invalid("wrong_format", expected=DIRECTORY_FORMAT)


class _Schema(Schema):
    class Meta:
        unknown = EXCLUDE

    error_messages: ClassVar[dict[str, str]] = {
        "type": "not_object",
        "unknown": "invalid",
    }


class ServiceSchema(_Schema):
    """A service an agency offers (HSDS service)."""

    name = _Text(required=True, max_length=200)
    description = _Text()

    @post_load
    def _make(self, data, **kwargs) -> Service:
        return Service(**data)


class ContactSchema(_Schema):
    """A person to reach at an agency (HSDS contact, one phone inline)."""

    name = _Text(max_length=200)
    title = _Text(max_length=200)
    email = _Email()
    phone = _Text(max_length=50)

    @validates_schema
    def _reachable(self, data, **kwargs) -> None:
        if not (data.get("name") or data.get("email") or data.get("phone")):
            raise _invalid("empty_contact")

    @post_load
    def _make(self, data, **kwargs) -> Contact:
        return Contact(**data)


class PhoneSchema(_Schema):
    """A phone number (HSDS phone)."""

    number = _Text(required=True, max_length=50)


class LocationSchema(_Schema):
    """Where an agency sits (HSDS location and its physical address, flattened)."""

    address_1 = _Text(max_length=300)
    city = _Text(max_length=200)
    x_region = _Text(required=True, validate=_region_code)
    x_district = _Text(max_length=200)


class OrganizationSchema(_Schema):
    """One agency (HSDS organization); loads into an AgencyRecord."""

    id = _Text(required=True, validate=_agency_code)
    name = _Text(required=True, max_length=200)
    alternate_name = _Text(max_length=200)
    x_name_kk = _Text(max_length=200)
    description = _Text()
    x_agency_type = _Text(required=True, validate=_agency_type)
    active = _Boolean(load_default=True)
    email = _Email()
    # null for an optional list is common in HSDS exports and means "none".
    phones = _List(_Nested(PhoneSchema), load_default=(), allow_none=True)
    locations = _List(_Nested(LocationSchema), required=True)
    services = _List(_Nested(ServiceSchema), load_default=(), allow_none=True)
    contacts = _List(_Nested(ContactSchema), load_default=(), allow_none=True)

    # Counts and duplicates are checked on the raw input so that they are
    # reported even when an item of the same list has errors of its own.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _lists(self, data, original, **kwargs) -> None:
        if not isinstance(original, Mapping):
            return
        errors: dict[str, Any] = {}
        locations = original.get("locations")
        if isinstance(locations, list | tuple) and len(locations) != 1:
            errors["locations"] = [_issue("one_location")]
        phones = original.get("phones")
        if isinstance(phones, list | tuple) and len(phones) > 1:
            errors["phones"] = [_issue("one_phone")]
        duplicates = _duplicate_service_names(original.get("services"))
        if duplicates:
            errors["services"] = duplicates
        if errors:
            raise ValidationError(errors)

    @post_load
    def _make(self, data, **kwargs) -> AgencyRecord:
        location = data["locations"][0]
        phones = data["phones"] or ()
        return AgencyRecord(
            code=data["id"],
            name=data["name"],
            name_ru=data["alternate_name"],
            name_kk=data["x_name_kk"],
            type=AgencyType(data["x_agency_type"]),
            region=location["x_region"],
            district=location["x_district"],
            address=location["address_1"],
            city=location["city"],
            email=data["email"],
            phone=phones[0]["number"] if phones else None,
            description=data["description"],
            services=data["services"] or (),
            contacts=data["contacts"] or (),
            is_active=data["active"],
        )


def _duplicate_service_names(services: object) -> dict[int, Any]:
    if not isinstance(services, list | tuple):
        return {}
    seen: set[str] = set()
    errors: dict[int, Any] = {}
    for index, service in enumerate(services):
        name = service.get("name") if isinstance(service, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            continue
        key = name.strip().casefold()
        if key in seen:
            errors[index] = {
                "name": [_issue("duplicate_service", value=_shown(name.strip()))]
            }
        seen.add(key)
    return errors


class DirectorySchema(_Schema):
    """A whole directory document."""

    format = _Text(required=True, validate=_format)
    version = _Version(required=True)
    organizations = _List(_Nested(OrganizationSchema), required=True)


def load_directory(data: object) -> tuple[list[AgencyRecord], list[DirectoryProblem]]:
    """Return the agencies of a parsed directory document and every problem found; never raise.

    The records are the organizations that have no problem; import only when
    the problem list is empty.
    """
    if not isinstance(data, Mapping):
        return [], [_problem("", "not_a_document")]
    problems = [
        _problem(path, issue.code, dict(issue.params))
        for path, issue in _issues(DirectorySchema().validate(data))
    ]
    organizations = data.get("organizations")
    if not isinstance(organizations, list | tuple):
        return [], problems
    problems.extend(_duplicate_codes(organizations))
    # Stable: within one organization, problems keep the order of the fields.
    problems.sort(key=lambda problem: -1 if problem.record is None else problem.record)
    failed = {problem.record for problem in problems}
    schema = OrganizationSchema()
    records = [
        schema.load(organization)
        for index, organization in enumerate(organizations)
        if index not in failed
    ]
    return records, problems


def parse_directory_text(
    text: str | bytes,
) -> tuple[list[AgencyRecord], list[DirectoryProblem]]:
    """Return the agencies of a directory file's JSON text and every problem found; never raise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [
            _problem("", "invalid_json", {"line": error.lineno, "column": error.colno})
        ]
    except (ValueError, TypeError, RecursionError):
        # Undecodable bytes, absurdly long numbers, or nesting deeper than Python allows.
        return [], [_problem("", "unreadable")]
    return load_directory(data)


def dump_directory(records: Iterable[AgencyRecord]) -> dict[str, Any]:
    """Return the directory document for agency records, as load_directory reads it."""
    return {
        "format": DIRECTORY_FORMAT,
        "version": DIRECTORY_VERSION,
        "organizations": [_organization(record) for record in records],
    }


def _organization(record: AgencyRecord) -> dict[str, Any]:
    location = _present(
        address_1=record.address,
        city=record.city,
        x_region=record.region,
        x_district=record.district,
    )
    return _present(
        id=record.code,
        name=record.name,
        alternate_name=record.name_ru,
        x_name_kk=record.name_kk,
        description=record.description,
        x_agency_type=AgencyType(record.type).value,
        active=record.is_active,
        email=record.email,
        phones=[{"number": record.phone}] if record.phone else None,
        locations=[location],
        services=[
            _present(name=service.name, description=service.description)
            for service in record.services
        ],
        contacts=[
            _present(
                name=contact.name,
                title=contact.title,
                email=contact.email,
                phone=contact.phone,
            )
            for contact in record.contacts
        ]
        or None,
    )


def _present(**values: Any) -> dict[str, Any]:
    """Return the values that are given, so that absent fields stay out of the file."""
    return {key: value for key, value in values.items() if value is not None}


def _duplicate_codes(organizations: list | tuple) -> list[DirectoryProblem]:
    first: dict[str, int] = {}
    problems = []
    for index, organization in enumerate(organizations):
        code = organization.get("id") if isinstance(organization, Mapping) else None
        if not isinstance(code, str) or not is_agency_code(code.strip()):
            continue
        code = code.strip()
        if code in first:
            problems.append(
                _problem(
                    f"organizations[{index}].id",
                    "duplicate_code",
                    {"value": code, "first": first[code]},
                )
            )
        else:
            first[code] = index
    return problems


def _issues(errors: object, path: str = ""):
    """Yield (path, issue) for every message of a marshmallow error tree."""
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if key == SCHEMA:
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            yield from _issues(value, child)
    elif isinstance(errors, list):
        for value in errors:
            yield from _issues(value, path)
    elif isinstance(errors, _Issue):
        yield path, errors
    else:
        # A marshmallow message we gave a code; anything else is reported generically.
        known = isinstance(errors, str) and errors in _TEMPLATES
        yield path, _Issue(errors if known else "invalid")


_RECORD = re.compile(r"organizations\[(\d+)\]")


def _problem(
    path: str, code: str, params: Mapping[str, Any] | None = None
) -> DirectoryProblem:
    params = dict(params or {})
    template = _TEMPLATES[code]
    match = _RECORD.match(path)
    return DirectoryProblem(
        path=path,
        record=int(match.group(1)) if match else None,
        code=code,
        template=template,
        params=params,
        message=template % params,
    )

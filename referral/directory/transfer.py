"""Import and export of the directory file (Open Referral HSDS-style JSON)."""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext

from agencies import AgencyRecord, Contact, DirectoryProblem, Service, dump_directory, parse_directory_text

from ..actors import Actor
from ..audit.service import record
from ..extensions import db
from .models import TEXT_LIMITS, Agency
from .schemas import AgencyRecordSchema
from .service import assign_values

#: Where each agency field sits in an organization of the file.
FILE_PATHS = {
    "code": "id", "name": "name", "name_ru": "alternate_name", "name_kk": "x_name_kk",
    "type": "x_agency_type", "is_active": "active",
    "email": "email", "phone": "phones[0].number", "description": "description",
    "region": "locations[0].x_region", "district": "locations[0].x_district",
    "address": "locations[0].address_1", "city": "locations[0].city",
}
_FIELDS = {path: field for field, path in FILE_PATHS.items()}
_IN_ORGANIZATION = re.compile(r"organizations\[\d+\]\.(.+)")


class DirectoryRejected(Exception):
    """A directory file had problems; nothing was imported."""

    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s) in the directory file")
        #: Each ``{"path", "record", "code", "message"}``, message translated.
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def import_text(text: str | bytes, actor: Actor) -> ImportResult:
    """Create or update agencies from a directory file; raise DirectoryRejected and change nothing on any problem."""
    records, problems = parse_directory_text(text)
    refusals = [_file_problem(problem) for problem in problems] or _service_refusals(records)
    if refusals:
        raise DirectoryRejected(refusals)
    existing = {agency.code: agency for agency in db.session.scalars(
        sa.select(Agency).where(Agency.code.in_([r.code for r in records]))
    )}
    created = updated = unchanged = 0
    for item in records:
        values = record_values(item)
        agency = existing.get(item.code)
        if agency is None:
            agency = Agency(code=item.code)
            assign_values(agency, values)
            db.session.add(agency)
            db.session.flush()
            record(actor, "agency.create", "agency", agency.id, {"code": agency.code, "via": "import"})
            created += 1
        elif changed := assign_values(agency, values):
            record(actor, "agency.update", "agency", agency.id,
                   {"code": agency.code, "changed": changed, "via": "import"})
            updated += 1
        else:
            unchanged += 1
    record(actor, "directory.import", "directory", None,
           {"created": created, "updated": updated, "unchanged": unchanged})
    db.session.flush()
    return ImportResult(created, updated, unchanged)


def _file_problem(problem: DirectoryProblem) -> dict:
    params = dict(problem.params)
    match = _IN_ORGANIZATION.fullmatch(problem.path)
    field = _FIELDS.get(match.group(1)) if match else None
    if problem.code == "too_long" and field in TEXT_LIMITS:
        # The file format's own limit can be looser than the column's (a city: 200 and 100); name the one that holds.
        params["max"] = min(params["max"], TEXT_LIMITS[field])
    return {"path": problem.path, "record": problem.record, "code": problem.code,
            "message": gettext(problem.template, **params)}


def _service_refusals(records: list[AgencyRecord]) -> list[dict]:
    """Return what the agency's schema (the API's and the form's) refuses in well-formed records, as problems."""
    schema = AgencyRecordSchema()
    return [
        {"path": f"organizations[{index}].{FILE_PATHS.get(field, field)}", "record": index, "code": "invalid",
         "message": message}
        for index, item in enumerate(records)
        for field, message in _flat(schema.validate({**record_values(item), "code": item.code}))
    ]


def _flat(errors: dict, prefix: str = ""):
    """Yield ``(field path, message)`` for each message of a schema's nested errors."""
    for key, value in errors.items():
        path = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, dict):
            yield from _flat(value, path)
        else:
            for message in value:
                yield path, message


def record_values(item: AgencyRecord) -> dict:
    """Return the model values of a directory record."""
    return {
        "name": item.name, "name_ru": item.name_ru, "name_kk": item.name_kk, "type": item.type.value,
        "region": item.region,
        "district": item.district, "address": item.address, "city": item.city, "email": item.email,
        "phone": item.phone, "description": item.description, "is_active": item.is_active,
        "services": [_without_none({"name": s.name, "description": s.description}) for s in item.services],
        "contacts": [_without_none({"name": c.name, "title": c.title, "email": c.email, "phone": c.phone})
                     for c in item.contacts],
    }


def _without_none(values: dict) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def agency_record(agency: Agency) -> AgencyRecord:
    """Return the directory record of an agency."""
    return AgencyRecord(
        code=agency.code, name=agency.name, name_ru=agency.name_ru, name_kk=agency.name_kk, type=agency.type,
        region=agency.region,
        district=agency.district, address=agency.address, city=agency.city, email=agency.email,
        phone=agency.phone, description=agency.description, is_active=agency.is_active,
        services=tuple(Service(name=s["name"], description=s.get("description")) for s in agency.services or []),
        contacts=tuple(Contact(**{k: c.get(k) for k in ("name", "title", "email", "phone")})
                       for c in agency.contacts or []),
    )


def export_document(actor: Actor) -> dict:
    """Return the whole directory as a document, and audit the export."""
    agencies = db.session.scalars(sa.select(Agency).order_by(Agency.code)).all()
    record(actor, "directory.export", "directory", None, {"agencies": len(agencies)})
    return dump_directory(agency_record(agency) for agency in agencies)

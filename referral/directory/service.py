"""The agency directory: create, change, deactivate, import and export agencies."""

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from agencies import AgencyType, Permission

from .. import targets
from ..actors import Actor, require
from ..audit.service import record
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db, utcnow
from .models import TEXT_LIMITS, Agency

EDITABLE = ("name", "name_ru", "name_kk", "type", "region", "district", "description", "email", "phone",
            "address", "city", "contacts", "services", "is_active", "webhook_url", "webhook_secret")
#: How a webhook secret the system generates begins (Standard Webhooks); base64 of SECRET_BYTES random bytes follows.
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


@dataclass(frozen=True)
class AgencyFilter:
    text: str = ""
    type: str | None = None
    region: str | None = None
    is_active: bool | None = None


def agencies_query(criteria: AgencyFilter) -> sa.Select:
    """Return a select of agencies matching a filter, ordered by name."""
    statement = sa.select(Agency).order_by(Agency.name, Agency.id)
    text = (criteria.text or "").strip().lower()
    if text:
        pattern = f"%{text}%"
        statement = statement.where(sa.or_(
            sa.func.lower(Agency.name).like(pattern),
            sa.func.lower(Agency.name_ru).like(pattern),
            sa.func.lower(Agency.name_kk).like(pattern),
            sa.func.lower(Agency.code).like(pattern),
            sa.func.lower(Agency.district).like(pattern),
        ))
    if criteria.type:
        statement = statement.where(Agency.type == AgencyType(criteria.type))
    if criteria.region:
        statement = statement.where(Agency.region == criteria.region)
    if criteria.is_active is not None:
        statement = statement.where(Agency.is_active.is_(criteria.is_active))
    return statement


def get_agency(agency_id: int) -> Agency:
    """Return an agency by id; raise NotFound."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_l("No such agency."))
    return agency


def all_agencies() -> list[Agency]:
    """Return every agency, by name (for choosing one)."""
    return list(db.session.scalars(sa.select(Agency).order_by(Agency.name, Agency.id)))


def agency_by_code(code: str) -> Agency | None:
    """Return the agency with a code, or None."""
    return db.session.scalar(sa.select(Agency).where(Agency.code == code))


def check_values(values: dict) -> dict:
    """Return field errors for agency values that ``AgencyCreateSchema`` loaded, by the rules a schema cannot
    know: whether the service may call the webhook's host (empty when acceptable)."""
    url = values.get("webhook_url")
    error = webhook_target_error(url) if url else None
    return {"webhook_url": [str(error)]} if error else {}


def is_webhook_url(url: str) -> bool:
    """Return whether a URL can receive webhook calls: http or https, with a host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _webhook_url_message():
    return _l("Enter an http:// or https:// address of at most %(max)d characters.", max=TEXT_LIMITS["webhook_url"])


def webhook_target_error(url: str):
    """Return why the service may not post to a URL's host (it does not resolve or is not public), or None."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _webhook_url_message()
    try:
        targets.resolve(parts.hostname, port, current_app.config["REFERRAL_WEBHOOK_ALLOW_PRIVATE"])
    except targets.Unresolvable:
        return _l("The host of this address cannot be found.")
    except targets.NotPublic:
        return _l("Webhooks can only go to public internet addresses, not to this network's own hosts.")
    return None


def create_agency(values: dict, actor: Actor) -> Agency:
    """Create an agency from values ``AgencyCreateSchema`` loaded; raise Forbidden, Invalid (a webhook host the
    service may not call) or Conflict (taken code)."""
    require(actor, Permission.manage_agencies)
    errors = check_values(values)
    if errors:
        raise Invalid(_l("The agency could not be saved."), errors=errors)
    if agency_by_code(values["code"]) is not None:
        raise Conflict(_l("An agency with the code %(code)s already exists.", code=values["code"]),
                       errors={"code": [str(_l("Already in use."))]})
    agency = Agency(code=values["code"])
    assign_values(agency, values)
    db.session.add(agency)
    db.session.flush()
    record(actor, "agency.create", "agency", agency.id, {"code": agency.code})
    return agency


def update_agency(agency_id: int, values: dict, actor: Actor) -> Agency:
    """Change an agency's fields from values ``AgencyPatchSchema`` loaded (the code never changes); raise
    Forbidden, NotFound or Invalid."""
    require(actor, Permission.manage_agencies)
    agency = get_agency(agency_id)
    if "code" in values and values["code"] != agency.code:
        raise Invalid(_l("An agency's code cannot be changed."),
                      errors={"code": [str(_l("Cannot be changed."))]})
    values = {key: value for key, value in values.items() if key != "code"}
    errors = check_values(values)
    if errors:
        raise Invalid(_l("The agency could not be saved."), errors=errors)
    changed = assign_values(agency, values)
    if "webhook_secret" in changed and agency.webhook_secret is None:
        # A removed secret takes the one a rotation replaced with it: nothing signs calls any more.
        agency.webhook_previous_secret = agency.webhook_previous_secret_until = None
    if changed:
        action = "agency.update"
        if changed == ["is_active"]:
            action = "agency.activate" if agency.is_active else "agency.deactivate"
        record(actor, action, "agency", agency.id, {"code": agency.code, "changed": changed})
    return agency


def new_webhook_secret() -> str:
    """Return a new random webhook secret in the Standard Webhooks form (``whsec_`` + base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def rotate_webhook_secret(agency_id: int, actor: Actor, now: datetime | None = None) -> str:
    """Give an agency a new generated webhook secret and return it, to be shown once; the secret it replaces
    still signs calls for ``REFERRAL_WEBHOOK_SECRET_GRACE_HOURS``. Raise Forbidden or NotFound."""
    require(actor, Permission.manage_agencies)
    agency = get_agency(agency_id)
    now = now or utcnow()
    if agency.webhook_secret:
        agency.webhook_previous_secret = agency.webhook_secret
        agency.webhook_previous_secret_until = now + timedelta(
            hours=current_app.config["REFERRAL_WEBHOOK_SECRET_GRACE_HOURS"])
    else:
        agency.webhook_previous_secret = agency.webhook_previous_secret_until = None
    secret = new_webhook_secret()
    agency.webhook_secret = secret
    until = agency.webhook_previous_secret_until
    record(actor, "agency.webhook_secret_rotated", "agency", agency.id,
           {"code": agency.code, "previous_valid_until": until.isoformat() if until else None})
    return secret


def set_active(agency_id: int, is_active: bool, actor: Actor) -> Agency:
    """Activate or deactivate an agency; raise NotFound."""
    return update_agency(agency_id, {"is_active": is_active}, actor)


def assign_values(agency: Agency, values: dict) -> list[str]:
    """Set editable fields of an agency from plain values; return the names of those that changed."""
    changed = []
    for key in EDITABLE:
        if key not in values:
            continue
        value = values[key]
        if key == "type":
            value = AgencyType(value)
        elif key == "name":
            value = value.strip()
        elif isinstance(value, str):
            value = value.strip() or None
        elif key in ("contacts", "services"):
            value = list(value or [])
        if getattr(agency, key) != value:
            setattr(agency, key, value)
            changed.append(key)
    return changed

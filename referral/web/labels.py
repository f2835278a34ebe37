"""Words the system itself stores (statuses, risk levels, its own outcomes), shown in the reader's language."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from agencies import AgencyType, is_region_code, region
from workflows.lifecycle import HANDED_OVER, ReferralStatus

from ..i18n import reading_language

_OTHER_STATES = {
    "open": _l("open"), "closed": _l("closed"),
    "high": _l("High"), "medium": _l("Medium"), "low": _l("Low"),
}
_SYSTEM_OUTCOMES = {HANDED_OVER: _l("handed over to the next stage")}
_SYSTEM_REASONS = {"no-response": _l("no response in time")}
_STATUS_VALUES = {status.value: status for status in ReferralStatus}
#: Who acted, when it was the system rather than a person (``Actor.system``).
_SYSTEM_ACTORS = {"scheduler": _l("the scheduler"), "demo": _l("demo data"), "cli": _l("the command line")}


def state_label(value) -> str:
    """Return a referral or case status, or a risk level, as the reader should see it."""
    value = getattr(value, "value", value)
    if value in _STATUS_VALUES:
        return gettext(_STATUS_VALUES[value].label)
    return str(_OTHER_STATES.get(value, value or "—"))


def outcome_text(value) -> str:
    """Return an outcome as written, or the system's own outcome in the reader's language."""
    return str(_SYSTEM_OUTCOMES.get(value, value or ""))


def reason_text(value) -> str:
    """Return a status reason as written, or the system's own reason in the reader's language."""
    return str(_SYSTEM_REASONS.get(value, value or ""))


def actor_text(label: str) -> str:
    """Return who acted as a timeline shows it: a person's name, or the system's part in the reader's language."""
    return str(_SYSTEM_ACTORS.get(label, label))


def agency_type_label(value: str) -> str:
    """Return an agency type's name in the reader's language, or the value if the type is unknown."""
    try:
        return gettext(AgencyType(value).label)
    except ValueError:
        return value


def agency_name(agency, locale: str | None = None) -> str:
    """Return an agency's name in a language (the reader's unless given), its own name where none is; "—" for none."""
    if agency is None:
        return "—"
    return agency.name_in(locale or reading_language())


def by_agency_name(agencies, locale: str | None = None) -> list:
    """Return agencies sorted by their names as the reader reads them."""
    locale = locale or reading_language()
    return sorted(agencies, key=lambda agency: (agency.name_in(locale).casefold(), agency.id))


def region_name(code: str, locale: str) -> str:
    """Return a region's name in a language, or the code if it is unknown."""
    return region(code).name(locale) if is_region_code(code) else code

"""Words the system itself stores (statuses, risk levels, its own outcomes), shown in the reader's language."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from agencies import AgencyType, is_region_code, region
from workflows.lifecycle import ACTIVE_STATUSES, HANDED_OVER, ReferralStatus

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


@dataclass(frozen=True)
class CardLine:
    """One labelled line of a referral's card: what matters about the referral in its status."""

    #: What the line says, for pages and tests: ``answer-by``, ``accepted-at``, ``finish-by``, ``closed-at``,
    #: ``outcome`` or ``reason``.
    key: str
    label: str
    moment: datetime | None = None
    text: str | None = None
    #: A deadline still running, shown with how far away it is.
    running: bool = False


def referral_card(referral) -> list[CardLine]:
    """Return what a referral's card shows in its status: when to answer or finish by, or when and why it ended."""
    status = referral.status
    if status is ReferralStatus.requested:
        return [CardLine("answer-by", gettext("Answer by"), referral.respond_by, running=True)] \
            if referral.respond_by else []
    if status in ACTIVE_STATUSES:
        # A registration was nobody's request: it was never accepted, only begun.
        asked = referral.responded_at and referral.from_agency_id is not None
        lines = [CardLine("accepted-at", gettext("Accepted"), referral.responded_at)] if asked else []
        if referral.complete_by:
            lines.append(CardLine("finish-by", gettext("Finish by"), referral.complete_by, running=True))
        if status is ReferralStatus.on_hold and referral.status_reason:
            lines.append(CardLine("reason", gettext("Reason"), text=reason_text(referral.status_reason)))
        return lines
    lines = [CardLine("closed-at", gettext(status.label), referral.closed_at)]
    if status is ReferralStatus.completed:
        lines.append(CardLine("outcome", gettext("Outcome"), text=outcome_text(referral.outcome)))
    elif referral.status_reason:
        lines.append(CardLine("reason", gettext("Reason"), text=reason_text(referral.status_reason)))
    return lines

"""Reading a country's merged calendar and changing its overrides; pending working-day deadlines follow."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Permission
from workflows import WorkingCalendar, parse_duration
from workflows.durations import is_known_calendar, package_days, package_languages, package_version

from ..actors import Actor, require
from ..audit.service import record
from ..deadlines import service as clocks
from ..deadlines.models import Deadline, DeadlineStatus
from ..designer import service as designer
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..locking import lock_case
from ..notifications.service import notify_agency
from .days import working_calendar
from .models import CalendarOverride, DayKind
from .names import translated

#: The years a calendar can be read or changed for.
FIRST_YEAR, LAST_YEAR = 2000, 2100
NAME_MAX = 200


@dataclass(frozen=True)
class CalendarDay:
    """A day of the merged calendar that is not as the weekly rule has it, or that an override names."""

    date: date
    kind: str
    name: str
    #: ``package`` (the ``holidays`` package) or ``override`` (decided here).
    source: str
    #: The ``holidays`` version that supplied a package day; None for an override.
    package_version: str | None = None
    #: The override itself, for its author and time; None for a package day.
    override: CalendarOverride | None = None
    #: A package day that an override replaces on the same date.
    replaces: str | None = None


@dataclass(frozen=True)
class OverrideChange:
    """An override added or removed, and how many pending deadlines it moved."""

    override: CalendarOverride
    moved: int


def known_country(country: str) -> str:
    """Return a country code in upper case; raise NotFound unless the package knows its holidays."""
    code = country.upper() if isinstance(country, str) else ""
    if not is_known_calendar(code):
        raise NotFound(_l("There is no working calendar for the country %(country)s.", country=country))
    return code


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(_l("Choose a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR),
                      errors={"year": [str(_l("Choose a year from %(first)s to %(last)s.", first=FIRST_YEAR,
                                                last=LAST_YEAR))]})


def overrides_of(country: str, year: int) -> list[CalendarOverride]:
    """Return a country's overrides in a year, by date."""
    return list(db.session.scalars(
        sa.select(CalendarOverride).where(CalendarOverride.country == country,
                                          CalendarOverride.day >= date(year, 1, 1),
                                          CalendarOverride.day <= date(year, 12, 31))
        .order_by(CalendarOverride.day)))


def calendar_days(country: str, year: int, language: str | None = None) -> list[CalendarDay]:
    """Return a country's year merged: the package's holidays and moved working days, overrides on top.

    Package names are in ``language``: the package's own where it has one, else translated here from English
    (a name this app does not know stays English).

    Raise NotFound for an unknown country, Invalid for a year out of range.
    """
    country = known_country(country)
    _check_year(year)
    version = package_version()
    # Where the package lacks the reader's language (Russian for Kazakhstan) its English names are translated.
    translate = language not in package_languages(country)
    found: dict[date, CalendarDay] = {}
    for day, kind, name in package_days(country, year, language):
        if translate:
            name = translated(name)
        if day not in found:  # the package may name two holidays on one date; the first is shown
            found[day] = CalendarDay(day, kind, name, "package", package_version=version)
    for override in overrides_of(country, year):
        replaced = found.get(override.day)
        found[override.day] = CalendarDay(override.day, override.kind.value, override.name, "override",
                                          override=override, replaces=replaced.name if replaced else None)
    return [found[day] for day in sorted(found)]


def _checked_name(name) -> str:
    text = name.strip() if isinstance(name, str) else ""
    message = None
    if not text:
        message = _l("Say what the day is, as the decree names it.")
    elif len(text) > NAME_MAX:
        message = _l("Keep the name to %(max)s characters.", max=NAME_MAX)
    if message is not None:
        raise Invalid(message, errors={"name": [str(message)]})
    return text


def add_override(country: str, day: date, kind: str, name: str, actor: Actor) -> OverrideChange:
    """Make a date of a country's calendar a day off or a working day, and move the deadlines it touches.

    Raise Forbidden (not an admin), NotFound (unknown country), Invalid (bad kind, name or year) or
    Conflict (the date has an override already).
    """
    require(actor, Permission.manage_calendar)
    country = known_country(country)
    _check_year(day.year)
    try:
        kind = DayKind(kind)
    except ValueError:
        message = _l("Choose whether the day is a day off or a working day.")
        raise Invalid(message, errors={"kind": [str(message)]}) from None
    name = _checked_name(name)
    # Two admins adding the same date at once: the unique constraint lets one in, the other gets 409.
    exists = db.session.scalar(sa.select(CalendarOverride.id).where(CalendarOverride.country == country,
                                                                    CalendarOverride.day == day))
    if exists is not None:
        message = _l("%(day)s already has an override; remove it first to change it.", day=day.isoformat())
        raise Conflict(message, errors={"date": [str(message)]})
    override = CalendarOverride(country=country, day=day, kind=kind, name=name, created_by_user_id=actor.user_id)
    try:
        with db.session.begin_nested():
            db.session.add(override)
            db.session.flush()
    except sa.exc.IntegrityError:
        message = _l("%(day)s already has an override; remove it first to change it.", day=day.isoformat())
        raise Conflict(message, errors={"date": [str(message)]}) from None
    moved = recompute_deadlines(country, day)
    tell_holders(moved, country, day, kind.value, actor)
    record(actor, "calendar.override_added", "calendar", f"{country}:{day.isoformat()}",
           {"kind": kind.value, "moved_deadlines": len(moved)})
    return OverrideChange(override, len(moved))


def remove_override(country: str, day: date, actor: Actor) -> OverrideChange:
    """Remove a date's override, so the package decides it again, and move the deadlines it touches.

    Raise Forbidden (not an admin) or NotFound (unknown country, or no override on that date).
    """
    require(actor, Permission.manage_calendar)
    country = known_country(country)
    override = db.session.scalar(sa.select(CalendarOverride).where(CalendarOverride.country == country,
                                                                   CalendarOverride.day == day))
    if override is None:
        raise NotFound(_l("%(day)s has no override in the calendar of %(country)s.", day=day.isoformat(),
                          country=country))
    db.session.delete(override)
    db.session.flush()
    moved = recompute_deadlines(country, day)
    tell_holders(moved, country, day, "removed", actor)
    record(actor, "calendar.override_removed", "calendar", f"{country}:{day.isoformat()}",
           {"kind": override.kind.value, "moved_deadlines": len(moved)})
    return OverrideChange(override, len(moved))


def _counts_working_days(text: str) -> bool:
    try:
        return parse_duration(text).is_working_days
    except ValueError:
        return False


def recompute_deadlines(country: str, day: date) -> list[Deadline]:
    """Recompute the pending working-day deadlines of cases counted by a country's calendar around a day.

    Only clocks running over the day can move: started before it and falling due on or after it (a day's
    margin either side covers the time zone). Each case is locked first, as every change to a case is.
    Return the deadlines that moved, by case.
    """
    after = datetime.combine(day + timedelta(days=2), time.min, tzinfo=UTC)
    before = datetime.combine(day - timedelta(days=1), time.min, tzinfo=UTC)
    candidates = db.session.execute(
        sa.select(Deadline.id, Deadline.case_id, Deadline.duration)
        .where(Deadline.status == DeadlineStatus.pending, Deadline.started_at < after, Deadline.due_at >= before)
        .order_by(Deadline.case_id, Deadline.id)).all()
    by_case: dict[int, list[int]] = {}
    for deadline_id, case_id, duration in candidates:
        if _counts_working_days(duration):
            by_case.setdefault(case_id, []).append(deadline_id)
    calendar: WorkingCalendar = working_calendar(country)
    moved: list[Deadline] = []
    for case_id, deadline_ids in by_case.items():
        case = lock_case(case_id)
        definition = designer.published_definition_of(case.workflow_version_id)
        if definition.calendar != country:
            continue
        for deadline in db.session.scalars(sa.select(Deadline).where(Deadline.id.in_(deadline_ids),
                                                                     Deadline.status == DeadlineStatus.pending)):
            if clocks.reschedule(deadline, definition, case.risk_level.value, calendar) is True:
                moved.append(deadline)
    return moved


def tell_holders(moved: list[Deadline], country: str, day: date, change: str, actor: Actor) -> None:
    """Tell each agency whose clocks moved, once per case: how many and to when, by case number, never the child.

    ``change`` says what happened to the day: ``day_off``, ``working_day`` or ``removed``. The agency holding
    a deadline is the one its reminders go to, so it is the one told.
    """
    by_holder: dict[tuple[int, int], list[Deadline]] = {}
    for deadline in moved:
        by_holder.setdefault((deadline.agency_id, deadline.case_id), []).append(deadline)
    for (agency_id, case_id), deadlines in sorted(by_holder.items(), key=lambda item: item[0]):
        referral_ids = {deadline.referral_id for deadline in deadlines}
        params = {"case": deadlines[0].referral.case.number, "country": country, "day": day.isoformat(),
                  "change": change, "count": len(deadlines),
                  "moves": [{"deadline_kind": deadline.kind.value, "due_at": deadline.due_at.isoformat(),
                             "referral_id": deadline.referral_id} for deadline in deadlines]}
        if len(deadlines) == 1:  # a webhook event names one deadline: only a single move fills it in
            params.update(deadline_kind=deadlines[0].kind.value, due_at=deadlines[0].due_at.isoformat(),
                          stage_key=deadlines[0].referral.to_stage)
        notify_agency(agency_id, "calendar.deadlines_moved", params, case_id=case_id,
                      referral_id=next(iter(referral_ids)) if len(referral_ids) == 1 else None,
                      exclude_user_id=actor.user_id)

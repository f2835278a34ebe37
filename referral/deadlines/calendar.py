"""The iCalendar feed of an agency's open deadlines: case numbers and stages, never a child's name."""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import icalendar
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from ..cases.service import definition_of
from ..directory.models import Agency
from ..extensions import db, utcnow
from ..i18n import reading_language
from ..notifications.service import DEADLINE_LABELS
from .models import Deadline, DeadlineStatus
from .service import with_case

#: How often calendar clients should fetch the feed again (RFC 7986 REFRESH-INTERVAL).
REFRESH_INTERVAL = timedelta(hours=1)


def open_deadlines(agency_id: int) -> list[Deadline]:
    """Return an agency's pending deadlines, soonest first."""
    return list(db.session.scalars(
        sa.select(Deadline).where(Deadline.agency_id == agency_id, Deadline.status == DeadlineStatus.pending)
        .order_by(Deadline.due_at, Deadline.id).options(*with_case())
    ))


def stage_name(deadline: Deadline) -> str:
    """Return the name of the stage a deadline's referral is at in the reader's language, or its key."""
    key = deadline.referral.to_stage
    definition = definition_of(deadline.referral.case)
    return definition.stage(key).name_in(reading_language()) if definition.has_stage(key) else key


def summary(deadline: Deadline) -> str:
    """Return the one-line title of a deadline: case number, stage and kind."""
    return gettext("Case %(case)s: “%(stage)s” — %(deadline)s deadline",
                   case=deadline.referral.case.number, stage=stage_name(deadline),
                   deadline=gettext(DEADLINE_LABELS[deadline.kind.value]))


def alarms(deadline: Deadline, title: str) -> list[icalendar.Alarm]:
    """Return one display alarm titled ``title`` per reminder before a deadline, at the sweep's own times."""
    found = []
    for moment in deadline.remind_at or []:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", datetime.fromisoformat(moment))
        alarm.add("description", title)
        found.append(alarm)
    return found


def agency_feed(agency_id: int, base_url: str, locale: str, now: datetime | None = None) -> bytes:
    """Return a VCALENDAR with one VEVENT per open deadline of an agency, titled in a language."""
    now = now or utcnow()
    base_url = base_url.rstrip("/")
    host = urlsplit(base_url).hostname or "referral-engine"
    agency = db.session.get(Agency, agency_id)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//referral-engine//deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    with force_locale(locale):
        title = gettext("Deadlines of %(agency)s", agency=agency.name_in(locale) if agency else "")
        calendar.add("name", title)
        calendar.add("x-wr-calname", title)
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", REFRESH_INTERVAL)
        for deadline in open_deadlines(agency_id):
            link = f"{base_url}/cases/{deadline.case_id}"
            event = icalendar.Event()
            event.add("uid", f"deadline-{deadline.id}@{host}")
            event.add("dtstamp", now)
            event.add("dtstart", deadline.due_at)
            title = summary(deadline)
            event.add("summary", title)
            event.add("description", gettext("Open the case: %(link)s", link=link))
            event.add("url", link)
            event.add("categories", [deadline.kind.value])
            for alarm in alarms(deadline, title):
                event.add_component(alarm)
            calendar.add_component(event)
    return calendar.to_ical()

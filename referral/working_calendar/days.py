"""The working calendar a deadline counts by: the package's days with the country's overrides on top."""

import sqlalchemy as sa

from workflows import WorkingCalendar

from ..extensions import db
from .models import CalendarOverride, DayKind


def working_calendar(country: str | None) -> WorkingCalendar:
    """Return the calendar of a country with every override it has (weekends only for None)."""
    if country is None:
        return WorkingCalendar(None)
    rows = db.session.execute(sa.select(CalendarOverride.day, CalendarOverride.kind)
                              .where(CalendarOverride.country == country)).all()
    return WorkingCalendar(
        country,
        days_off=frozenset(day for day, kind in rows if kind is DayKind.day_off),
        working_days=frozenset(day for day, kind in rows if kind is DayKind.working_day),
    )

"""How far away a moment is, in words: "due in 2 days", "overdue by 5 hours"."""

from datetime import datetime

from flask_babel import ngettext

from ..extensions import utcnow

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def _amount(seconds: float) -> tuple[str, int]:
    """Return the unit and the rounded count that say a span best: minutes, hours or days."""
    minutes = max(round(seconds / _MINUTE), 1)
    if minutes < 60:
        return "minute", minutes
    hours = round(seconds / _HOUR)
    if hours < 24:
        return "hour", hours
    return "day", round(seconds / _DAY)


def due_phrase(value: datetime | None, now: datetime | None = None) -> str:
    """Return "due in …" for a moment ahead and "overdue by …" for one past, in the reader's language."""
    if value is None:
        return ""
    seconds = (value - (now or utcnow())).total_seconds()
    unit, count = _amount(abs(seconds))
    if seconds >= 0:
        if unit == "day":
            return ngettext("due in %(num)d day", "due in %(num)d days", count)
        if unit == "hour":
            return ngettext("due in %(num)d hour", "due in %(num)d hours", count)
        return ngettext("due in %(num)d minute", "due in %(num)d minutes", count)
    if unit == "day":
        return ngettext("overdue by %(num)d day", "overdue by %(num)d days", count)
    if unit == "hour":
        return ngettext("overdue by %(num)d hour", "overdue by %(num)d hours", count)
    return ngettext("overdue by %(num)d minute", "overdue by %(num)d minutes", count)

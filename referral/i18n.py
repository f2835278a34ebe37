"""Languages the service speaks, without a request: what a service may ask while writing for a recipient."""

from datetime import date, datetime

from flask import current_app
from flask_babel import format_date, format_datetime, get_locale

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}

#: How every page, notification and e-mail writes a day and a moment: the day first, the month in words, so
#: that 12/2/26 cannot be read two ways: "3 Dec 2026", "3 дек. 2026", "3 жел. 2026" and "3 Dec 2026, 14:05".
DATE_FORMAT = "d MMM y"
MOMENT_FORMAT = "d MMM y, HH:mm"


def reading_language() -> str:
    """Return the language (``ru``) being written in: one forced for a recipient (e-mails, feeds), else the reader's."""
    locale = get_locale()
    return locale.language if locale is not None else current_app.config["BABEL_DEFAULT_LOCALE"]


def show_date(value: date | datetime | None) -> str:
    """Return a day as "3 Dec 2026" in the language being written (a moment: its day in the reader's zone)."""
    return "—" if value is None else format_date(value, DATE_FORMAT)


def show_moment(value: datetime | None) -> str:
    """Return a moment as "3 Dec 2026, 14:05" in the language being written and the reader's time zone."""
    return "—" if value is None else format_datetime(value, MOMENT_FORMAT)

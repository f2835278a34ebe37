"""Language and time zone of the person reading a page or an API response (request-bound)."""

from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel
from flask_login import current_user

from ..extensions import utcnow
from ..i18n import LANGUAGE_NAMES, show_date, show_moment


def reader():
    """Return the user reading the current page or API response, if any."""
    if not has_request_context():
        return None
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        return current_user
    return None


def select_locale() -> str:
    """Return the language for the current request: the user's, the session's, the browser's."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user = reader()
    if user is not None and user.locale in languages:
        return user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Return the time zone to show times in."""
    user = reader()
    if user is not None and user.timezone:
        return user.timezone
    return current_app.config["REFERRAL_TIMEZONE"]


def local_zone() -> ZoneInfo:
    """Return the reader's time zone as a ZoneInfo."""
    return ZoneInfo(select_timezone())


def init_i18n(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel with the selectors and expose helpers to templates."""
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["REFERRAL_TIMEZONE"])
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def language_context():
        return {"LANGUAGE_NAMES": LANGUAGE_NAMES, "current_locale": select_locale()}

    app.jinja_env.globals["now"] = utcnow
    # One way to write days and moments on every page. Flask-Babel's own filters write the same, and a
    # format an older template names ("short", "medium") is not followed, so no page writes 12/2/26 again.
    app.jinja_env.filters.update(date=_day, datetime=_moment, dateformat=_day, datetimeformat=_moment)


def _day(value, *named_format) -> str:
    return show_date(value)


def _moment(value, *named_format) -> str:
    return show_moment(value)

"""Languages the service speaks, without a request: what a service may ask while writing for a recipient."""

from flask import current_app
from flask_babel import get_locale

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}


def reading_language() -> str:
    """Return the language (``ru``) being written in: one forced for a recipient (e-mails, feeds), else the reader's."""
    locale = get_locale()
    return locale.language if locale is not None else current_app.config["BABEL_DEFAULT_LOCALE"]

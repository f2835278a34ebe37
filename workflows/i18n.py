"""Marking text for translation without depending on Babel.

The pure package cannot import Flask-Babel, so it marks its message templates
with ``N_`` (Babel extracts it as a keyword) and hands the template and its
parameters to the service, which calls ``gettext(template) % params``.
"""


def N_(message: str) -> str:
    """Mark a message template for extraction and return it unchanged."""
    return message

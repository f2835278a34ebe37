"""Marking text for translation without depending on Babel.

The pure packages cannot import Flask-Babel, so they mark their message
templates with ``N_`` (Babel extracts it as a keyword) and hand the template
and its parameters to the service, which calls ``gettext(template) % params``.
"""


def N_(message: str) -> str:
    """Mark a message template for extraction and return it unchanged."""
    return message

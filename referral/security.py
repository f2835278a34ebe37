"""The edge: headers that protect every answer, and input refused before it reaches a view or the database.

Bad input never becomes a 500: text the database cannot store (NUL, lone surrogates) and JSON nested
deeper than MAX_JSON_DEPTH are 422, ids beyond the database's integer range are 404, bodies over
``REFERRAL_MAX_BODY_MB`` are 413 (Werkzeug enforces ``MAX_CONTENT_LENGTH``).
"""

import re
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l

from .errors import Invalid, NotFound

MAX_JSON_DEPTH = 64
#: The largest id a PostgreSQL integer column holds; a larger one names nothing.
MAX_ID = 2**31 - 1
#: No list has this many pages; a page beyond it is answered empty without asking the database,
#: whose OFFSET would overflow.
MAX_PAGE = 1_000_000

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")

UNSTORABLE_TEXT = _l("Text may not contain NUL characters or unpaired surrogates.")
TOO_DEEP = _l("The JSON body is nested deeper than %(depth)s levels.", depth=MAX_JSON_DEPTH)


def init_security(app: Flask) -> None:
    """Check every request at the door and add the protective headers to every response."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = app.config["REFERRAL_MAX_BODY_MB"] * 1024 * 1024
    app.before_request(refuse_hostile_input)
    app.after_request(add_security_headers)


def refuse_hostile_input() -> None:
    """Raise NotFound for ids out of range and Invalid for text the database cannot hold."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound(_l("Not found."))
        if isinstance(value, str) and unstorable(value):
            raise NotFound(_l("Not found."))
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if unstorable(key) or unstorable(value):
                raise Invalid(UNSTORABLE_TEXT)
    for storage in request.files.values():
        if storage.filename and unstorable(storage.filename):
            raise Invalid(UNSTORABLE_TEXT)
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if json_depth(body) > MAX_JSON_DEPTH:
            raise Invalid(TOO_DEEP)
        data = request.get_json(silent=True)
        if data is not None and _holds_unstorable(data):
            raise Invalid(UNSTORABLE_TEXT)


def unstorable(text: str) -> bool:
    """Tell whether a string holds a NUL or a lone surrogate, which no database driver stores."""
    return "\x00" in text or _SURROGATE.search(text) is not None


def _holds_unstorable(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_depth(body: bytes) -> int:
    """Return how deeply arrays and objects nest in a JSON text, without parsing it (strings are skipped)."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def add_security_headers(response):
    """Forbid framing, sniffing, inline script and referrers leaving the site; never cache what a user sees."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        # Pages and API answers carry a child's data or depend on who asks: no browser or proxy keeps them.
        headers["Cache-Control"] = "no-store"
    return response

"""Bearer-token authentication for the API; cookies are never accepted there."""

from flask import g, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Unauthorized

from ..actors import Actor
from ..auth.service import user_for_token
from ..extensions import db, written


def authenticate_token() -> None:
    """Set ``g.api_user`` from the request's bearer token; raise 401 without a valid one."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        error = Unauthorized()
        error.data = {
            "message": str(_l("Authentication is required: send a valid API token "
                              "as 'Authorization: Bearer <token>'.")),
            "headers": {"WWW-Authenticate": 'Bearer realm="referral"'},
        }
        raise error
    g.api_user = user  # last_used_at is committed with the view's work, or by commit_what_a_read_wrote


def api_actor() -> Actor:
    """Return the actor of the current API request."""
    return Actor.of(g.api_user, request.remote_addr)


def commit_what_a_read_wrote(response):
    """Commit once what a successful request wrote without committing (a token's last use, an audited read).

    A view that changes data commits its work itself, with whatever this request wrote before it; then
    there is nothing left here. Either way a request commits once, and a refused one (4xx, 5xx) not at all.
    """
    if response.status_code < 400 and written():
        db.session.commit()
    return response


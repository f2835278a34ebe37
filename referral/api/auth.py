"""Bearer-token authentication for the API; cookies are never accepted there."""

from flask import g, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden, Unauthorized

from agencies import Permission, has_permission

from ..actors import Actor
from ..auth.service import user_for_token
from ..extensions import db


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
    db.session.commit()  # keeps last_used_at even when the view only reads
    g.api_user = user


def api_actor() -> Actor:
    """Return the actor of the current API request."""
    return Actor.of(g.api_user, request.remote_addr)


def require_permission(permission: Permission) -> None:
    """Raise 403 unless the API caller's role grants a permission."""
    if not has_permission(g.api_user.role, permission):
        error = Forbidden()
        error.data = {"message": str(_l("Your role does not allow this."))}
        raise error

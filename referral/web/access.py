"""Role checks and small helpers shared by the web views."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, request
from flask_login import current_user, login_required

from agencies import Permission, has_permission

from ..actors import Actor
from ..errors import ServiceError
from ..extensions import db
from ..security import MAX_PAGE

T = TypeVar("T")


def requires(permission: Permission):
    """Decorate a view so that only signed-in users whose role grants ``permission`` reach it."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not has_permission(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def web_actor() -> Actor:
    """Return the actor of the current browser request."""
    return Actor.of(current_user._get_current_object(), request.remote_addr)


def page_number() -> int:
    """Return the ``page`` query argument as a positive integer; past the last page the list is empty."""
    value = request.args.get("page", "1")
    return min(max(int(value), 1), MAX_PAGE) if value.isdigit() else 1


def show_service_errors(form, error) -> None:
    """Flash a service's refusal and attach its field errors to the form's fields."""
    flash(str(error.message), "danger")
    if hasattr(form, "attach"):
        form.attach(error.errors)
        return
    for name, messages in error.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)


def show_refusal(error, form=None) -> None:
    """Flash a service's refusal with each broken rule, and attach field errors to a form if given."""
    if form is not None:
        show_service_errors(form, error)
    else:
        flash(str(error.message), "danger")
    for problem in error.problems:
        flash(str(problem["message"]), "warning")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """What a view's service call came to: its result (committed), or the refusal (rolled back, shown)."""

    result: T | None = None
    refusal: ServiceError | None = None


def attempt(work: Callable[[], T], form=None, *, flash_problems: bool = True) -> Attempt[T]:
    """Run a form post's service call and own its transaction: commit what it did, or roll it back.

    A refusal is flashed, its field errors are attached to ``form`` if given, and each broken rule is
    flashed too unless the page lists them itself (``flash_problems=False``). The view then renders the
    page again with ``outcome.refusal.status``, or says what was done and redirects.
    """
    try:
        result = work()
    except ServiceError as error:
        db.session.rollback()
        if form is not None:
            show_service_errors(form, error)
        else:
            flash(str(error.message), "danger")
        if flash_problems:
            for problem in error.problems:
                flash(str(problem["message"]), "warning")
        return Attempt(refusal=error)
    db.session.commit()
    return Attempt(result=result)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects, ``/\\host`` included)."""
    if not target or not target.startswith("/") or "\\" in target or not target.isprintable():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target

"""Errors raised by services, and the one JSON error shape of the API."""

from http import HTTPStatus

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db


class ServiceError(Exception):
    """A refusal a user can understand; views turn it into a response."""

    status = 422

    def __init__(self, message, *, errors: dict | None = None, problems: list | None = None):
        super().__init__(str(message))
        self.message = message
        self.errors = errors or {}
        #: Rule violations as dicts with at least ``code`` and ``message``.
        self.problems = problems or []


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


def error_payload(status: int, message, errors: dict | None = None, problems: list | None = None) -> dict:
    """Return the API's error body for a status and a message."""
    payload = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": str(message),
        "errors": errors or {},
    }
    if problems:
        payload["problems"] = [
            {**problem, "message": str(problem["message"])} for problem in problems
        ]
    return payload


def wants_json() -> bool:
    """Tell whether the current request is an API call answered in JSON."""
    return request.path.startswith("/api/") or request.path == "/healthz"


def _rollback() -> None:
    """End a failed transaction before answering: rendering the error reads the database too."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection must not hide the error being answered
        db.session.close()


def register_error_handlers(app: Flask) -> None:
    """Answer every error in the API's JSON shape under /api, as a page elsewhere."""

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        _rollback()
        if wants_json():
            data = getattr(error, "data", None) or {}
            errors = _by_field(data.get("errors") or data.get("messages") or {})
            message = data.get("message") or _default_message(error)
            response = jsonify(error_payload(error.code, message, errors))
            response.status_code = error.code
            for name, value in (data.get("headers") or {}).items():
                response.headers[name] = value
            if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
                response.headers["Allow"] = ", ".join(error.valid_methods)
            return response
        return render_template("error.html", error=error), error.code

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        _rollback()
        if wants_json():
            response = jsonify(error_payload(error.status, error.message, error.errors, error.problems))
            response.status_code = error.status
            return response
        return render_template("error.html", error=error, message=error.message), error.status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return handle_http_exception(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return handle_http_exception(InternalServerError())


#: Where webargs found a request's fields; its errors come nested under these.
_LOCATIONS = ("json", "query", "form", "files", "headers", "cookies", "view_args")


def _by_field(errors: dict) -> dict:
    """Return a request's field errors by field, as services give them, beside webargs' ``{location: ...}``.

    ``errors.child.birth_date`` then means the same whether the schema or a service refused the value;
    ``errors.json.child.birth_date`` stays for clients that read the location.
    """
    merged = dict(errors)
    for location in _LOCATIONS:
        if isinstance(errors.get(location), dict):
            for name, messages in errors[location].items():
                merged.setdefault(name, messages)
    return merged


def _default_message(error: HTTPException):
    messages = {
        400: _l("The request could not be understood."),
        401: _l("Authentication is required: send an API token as 'Authorization: Bearer <token>'."),
        403: _l("You are not allowed to do this."),
        404: _l("Not found."),
        405: _l("This method is not allowed here."),
        409: _l("This conflicts with the current state; reload and try again."),
        413: _l("The request is too large."),
        422: _l("The request contains invalid data."),
        429: _l("Too many requests; try again later."),
        500: _l("Something went wrong on our side. The error has been logged."),
    }
    return messages.get(error.code, error.description or HTTPStatus(error.code).phrase)

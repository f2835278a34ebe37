"""The FHIR R4 endpoints under /fhir/r4: metadata, Task read and Task search; errors are OperationOutcome."""

import json
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, HTTPException

from workflows.lifecycle import ReferralStatus

from ..api.auth import api_actor, authenticate_token, commit_what_a_read_wrote
from ..errors import NotFound, ServiceError
from ..extensions import csrf, db, utcnow
from . import resources
from .service import read_task, search_tasks

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")
csrf.exempt(bp)

MAX_COUNT = 200
DEFAULT_COUNT = 50
#: OperationOutcome issue type per HTTP status.
ISSUE_TYPES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               406: "not-supported", 413: "too-long", 422: "invalid", 429: "throttled"}


def fhir_response(resource: dict, status: int = 200) -> Response:
    response = Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=resources.MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def outcome(status: int, message: str) -> Response:
    return fhir_response(resources.operation_outcome(ISSUE_TYPES.get(status, "exception"), message), status)


def base_url() -> str:
    return request.url_root.rstrip("/") + bp.url_prefix


def software_version() -> str:
    try:
        return version("referral-engine")
    except PackageNotFoundError:
        return "unknown"


@bp.before_request
def require_token():
    if request.endpoint != "fhir.metadata":
        authenticate_token()


bp.after_request(commit_what_a_read_wrote)


@bp.errorhandler(HTTPException)
def handle_http_exception(error: HTTPException):
    db.session.rollback()
    message = (getattr(error, "data", None) or {}).get("message") or error.description
    response = outcome(error.code or 500, str(message))
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="referral"'
    return response


@bp.errorhandler(ServiceError)
def handle_service_error(error: ServiceError):
    db.session.rollback()
    return outcome(error.status, str(error.message))


@bp.route("/metadata")
def metadata():
    """The CapabilityStatement; needs no token."""
    published = current_app.config.setdefault("REFERRAL_STARTED_AT", utcnow())
    return fhir_response(resources.capability_statement(base_url(), software_version(), published))


@bp.route("/Task/<int:task_id>")
def read(task_id: int):
    """One referral as a Task, if the caller may read it."""
    referral = read_task(task_id, api_actor())
    response = fhir_response(resources.task(referral))
    db.session.commit()
    response.headers["ETag"] = f'W/"{referral.version}"'
    return response


@bp.route("/<path:rest>")
def unknown(rest):
    """Anything else: this server offers Task read and search only."""
    raise NotFound(gettext("This server offers only Task read and search, and the metadata."))


def _positive(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        return _invalid(gettext("%(name)s must be a positive whole number.", name=name))
    value = int(raw)
    return min(value, maximum) if maximum else value


def _invalid(message: str):
    raise BadRequest(message)


@bp.route("/Task")
def search():
    """A searchset Bundle of the Tasks the caller may read, by owner and status."""
    owner = request.args.get("owner")
    owner_code = None
    if owner is not None:
        owner_code = owner.removeprefix("Organization/")
        if not owner_code or "/" in owner_code:
            _invalid(gettext("owner must be Organization/<agency code>."))
    status = None
    if request.args.get("status") is not None:
        try:
            status = ReferralStatus(request.args["status"])
        except ValueError:
            _invalid(gettext("Unknown Task status: %(status)s.", status=request.args["status"]))
    count = _positive("_count", DEFAULT_COUNT, MAX_COUNT)
    page = _positive("page", 1)
    tasks, total = search_tasks(api_actor(), owner_code, status, (page - 1) * count, count)
    params = {key: value for key, value in (("owner", owner), ("status", request.args.get("status")))
              if value is not None}
    link = f"{base_url()}/Task?"
    self_url = link + urlencode({**params, "_count": count, "page": page})
    next_url = link + urlencode({**params, "_count": count, "page": page + 1}) if page * count < total else None
    bundle = resources.searchset([resources.task(referral) for referral in tasks], total, self_url, next_url,
                                 base_url())
    response = fhir_response(bundle)
    db.session.commit()
    return response

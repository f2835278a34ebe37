"""Health check, OpenAPI document and the one JSON error shape."""

import dataclasses
import enum
import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Blueprint
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext
from markupsafe import Markup

ERROR_KEYS = {"code", "status", "message", "errors"}


def test_healthz_answers_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_openapi_document_lists_the_agency_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/agencies" in spec["paths"] and "/api/v1/agencies/{agency_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/v1/nothing-here", 404),
    ("delete", "/api/v1/agencies", 405),
    ("put", "/api/v1/agencies/1", 405),
])
def test_api_errors_share_one_shape(client, make_user, token_for, method, path, status):
    response = getattr(client, method)(path, headers=token_for(make_user()))
    assert response.status_code == status
    assert response.is_json
    assert set(response.json) >= ERROR_KEYS
    assert response.json["code"] == status and response.json["message"]


def test_malformed_json_body_is_a_clear_error(client, make_user, token_for):
    headers = {**token_for(make_user(role="admin")), "Content-Type": "application/json"}
    response = client.post("/api/v1/agencies", data="{not json", headers=headers)
    assert response.status_code in (400, 422)
    assert set(response.json) >= ERROR_KEYS


def test_unexpected_exception_is_a_json_500_without_details(make_app, make_user, token_for):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    boom = Blueprint("boom", __name__)

    @boom.route("/api/v1/boom")
    def explode():
        raise RuntimeError("secret internal detail")

    app.register_blueprint(boom)
    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert set(response.json) >= ERROR_KEYS
    assert "secret internal detail" not in response.get_data(as_text=True)


def test_web_404_is_a_page_not_json(client, make_user, login_as):
    login_as(make_user())
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_static_bootstrap_is_served_locally(client, make_user, login_as):
    login_as(make_user())
    page = client.get("/").get_data(as_text=True)
    assert "cdn.jsdelivr.net" not in page and "//cdn" not in page
    stylesheet = re.search(r'href="(/bootstrap/static/[^"]+\.css)"', page).group(1)
    response = client.get(stylesheet)
    assert response.status_code == 200 and b".container" in response.get_data()
    response.close()


class _Colour(enum.StrEnum):
    red = "red"


@dataclasses.dataclass
class _Point:
    x: int


def test_answers_are_written_as_flasks_own_encoder_writes_them_in_utf_8(app):
    """orjson writes the app's JSON (OrjsonProvider): the same document, keys sorted, compact, text in UTF-8."""
    value = {"when": datetime(2026, 12, 8, 9, 30, tzinfo=UTC), "day": date(2026, 12, 8), "amount": Decimal("1.50"),
             "id": uuid.UUID(int=7), "point": _Point(3), "colour": _Colour.red, "safe": Markup("<b>"),
             "name": "Нұрланова", "list": [1, 2.5, None, True, (4, 5)], "nested": {"b": 1, "a": 2}}
    with app.test_request_context():
        value["lazy"] = lazy_gettext("Not found.")
        ours = app.json.dumps(value)
        flasks = DefaultJSONProvider(app).dumps(value)
        answer = app.json.response(value)
    assert json.loads(ours) == json.loads(flasks)
    assert list(json.loads(ours)) == sorted(value) and list(json.loads(ours)["nested"]) == ["a", "b"]
    assert ours == json.dumps(json.loads(ours), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"name":"Нұрланова"' in answer.get_data(as_text=True)
    assert app.json.dumps(value, indent=2) == DefaultJSONProvider(app).dumps(value, indent=2)


def test_an_api_answer_reads_back_through_the_standard_library(client, make_agency, make_user, token_for):
    make_agency(code="almaty-clinic", name="Almaty clinic", name_ru="Алматинская клиника")
    response = client.get("/api/v1/agencies", headers=token_for(make_user()))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "Алматинская клиника" in response.get_data(as_text=True)
    assert json.loads(response.get_data(as_text=True)) == response.json

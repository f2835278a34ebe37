"""The edge (DESIGN §17): protective headers, and hostile input answered without a 500 and without a change."""

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint, abort

from referral.directory.models import Agency
from referral.extensions import db
from referral.security import CONTENT_SECURITY_POLICY, MAX_JSON_DEPTH, json_depth

ERROR_KEYS = {"code", "status", "message", "errors"}
TEMPLATES = Path(__file__).resolve().parents[2] / "referral" / "templates"


@pytest.fixture
def admin_headers(make_user, token_for):
    return {**token_for(make_user(role="admin")), "Content-Type": "application/json"}


def agency_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Agency))


def test_every_answer_carries_the_protective_headers(client, make_user, login_as, admin_headers):
    login_as(make_user(role="admin"))
    for response in (client.get("/cases/"), client.get("/api/v1/agencies", headers=admin_headers),
                     client.get("/no-such-page"), client.get("/login")):
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    with client.get("/static/referral.js") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_template_writes_inline_script_or_style():
    """The policy forbids inline script and style: a handler or style attribute in a template would break the page."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert not re.search(r"<[^>]*\sstyle\s*=", text), path
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag, (path, tag)


@pytest.mark.parametrize("text", ["bad\x00name", "bad\ud800name"])
def test_text_the_database_cannot_store_is_422_in_json(client, admin_headers, text):
    before = agency_count()
    body = json.dumps({"code": "new-agency", "name": text, "type": "health", "region": "KZ-71"})
    response = client.post("/api/v1/agencies", data=body, headers=admin_headers)
    assert response.status_code == 422
    assert set(response.json) >= ERROR_KEYS
    assert "NUL" in response.json["message"]
    assert agency_count() == before


def test_a_nul_in_a_query_or_a_form_is_422(client, make_user, login_as, admin_headers):
    response = client.get("/api/v1/agencies", query_string={"q": "a\x00b"}, headers=admin_headers)
    assert response.status_code == 422 and set(response.json) >= ERROR_KEYS
    login_as(make_user(role="admin"))
    before = agency_count()
    response = client.post("/agencies/new", data={"code": "x", "name": "a\x00b", "type": "health"})
    assert response.status_code == 422
    assert agency_count() == before
    assert client.get("/cases/", query_string={"q": "a\x00"}).status_code == 422


def test_json_nested_deeper_than_64_levels_is_422(client, admin_headers):
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    response = client.post("/api/v1/agencies", data=deep, headers=admin_headers)
    assert response.status_code == 422 and "nested deeper" in response.json["message"]
    very_deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = client.post("/api/v1/workflows/validate", data=very_deep, headers=admin_headers)
    assert response.status_code == 422 and set(response.json) >= ERROR_KEYS


def test_json_depth_counts_arrays_and_objects_but_not_brackets_in_strings():
    assert json_depth(b"{}") == 1
    assert json_depth(b'{"a": [1, {"b": []}]}') == 4
    assert json_depth(b'["[[[[", "\\"[[["]') == 1
    assert json_depth(b"42") == 0


@pytest.mark.parametrize("path", ["/api/v1/agencies/2147483648", "/api/v1/cases/99999999999999999999",
                                  "/api/v1/referrals/2147483648", "/api/v1/cases/2147483648/timeline"])
def test_ids_beyond_the_integer_range_are_404_in_json(client, admin_headers, path):
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 404
    assert set(response.json) >= ERROR_KEYS


def test_ids_beyond_range_on_pages_are_404(client, make_user, login_as):
    login_as(make_user(role="admin"))
    for path in ("/cases/2147483648", "/inbox/99999999999999999999", "/agencies/2147483648"):
        assert client.get(path).status_code == 404


def test_a_page_beyond_any_list_is_empty(client, make_user, login_as, admin_headers):
    response = client.get("/api/v1/agencies", query_string={"page": 10**20}, headers=admin_headers)
    assert response.status_code == 200 and response.json == []
    assert json.loads(response.headers["X-Pagination"])["total"] >= 1
    login_as(make_user(role="admin"))
    assert client.get("/agencies/", query_string={"page": 10**20}).status_code == 200
    assert client.get("/admin/audit/", query_string={"page": 10**20}).status_code == 200


def test_a_body_over_the_limit_is_413_and_stores_nothing(make_app, make_user, token_for):
    app = make_app(REFERRAL_MAX_BODY_MB=1)
    with app.app_context():
        headers = {**token_for(make_user(role="coordinator")), "Content-Type": "application/json"}
        draft = json.dumps({"key": "huge", "name": "x" * (1024 * 1024 + 1)})
        response = app.test_client().post("/api/v1/workflows", data=draft, headers=headers)
        assert response.status_code == 413
        assert set(response.json) >= ERROR_KEYS
        assert db.session.scalar(sa.text("select count(*) from workflows")) == 0


@pytest.mark.parametrize("target", ["/cases/\r\nSet-Cookie: x=1", "/\x7f", "/cases/\tx"])
def test_control_characters_in_next_are_ignored(client, make_user, target):
    user = make_user()
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_an_error_after_a_failed_statement_is_still_answered(make_app, make_user, login_as):
    """PostgreSQL refuses every statement after a failed one until rollback; the error page reads the database."""
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    broken = Blueprint("broken", __name__)

    @broken.route("/api/v1/broken")
    @broken.route("/broken")
    def fail():
        try:
            db.session.execute(sa.text("select * from no_such_table"))
        except sa.exc.DBAPIError:
            abort(404)

    app.register_blueprint(broken)
    with app.app_context():
        email = make_user().email
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "correct horse battery"})
    response = client.get("/api/v1/broken")
    assert response.status_code == 404 and set(response.json) >= ERROR_KEYS
    response = client.get("/broken")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)

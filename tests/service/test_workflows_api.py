"""Workflows through the API and the command line: validate, draft, publish, versions."""

import json
import time

import pytest
import sqlalchemy as sa
import yaml

from referral.audit.models import AuditEntry
from referral.cli import cli
from referral.designer.models import Workflow, WorkflowVersion
from referral.extensions import db
from workflows.library import default_workflow_path, load_default_workflow_text


def definition(key="intake", **changes):
    document = {
        "key": key,
        "name": "Intake",
        "stages": [
            {"key": "registration", "name": "Registration", "agency_type": "social", "start": True},
            {"key": "screening", "name": "Screening", "agency_type": "health", "respond_within": "PT24H",
             "complete_within": {"high": "P3D", "low": "P7D"}, "reminders": ["PT4H"]},
            {"key": "closed", "name": "Closed", "agency_type": "social", "terminal": True,
             "respond_within": "P1D"},
        ],
        "transitions": [
            {"from": "registration", "to": "screening", "label": "Refer for screening"},
            {"from": "screening", "to": "closed", "label": "Close"},
        ],
    }
    document.update(changes)
    return document


def with_dead_end(document):
    document = json.loads(json.dumps(document))
    document["stages"].append({"key": "limbo", "name": "Limbo", "agency_type": "justice", "respond_within": "P1D"})
    document["transitions"].append({"from": "screening", "to": "limbo"})
    return document


@pytest.fixture
def coordinator_headers(make_user, make_agency, token_for):
    make_agency(type="health")
    return token_for(make_user(role="coordinator", agency=make_agency(type="social")))


@pytest.fixture
def staff_headers(make_user, token_for):
    return token_for(make_user(role="staff"))


def test_validate_lists_every_problem_for_any_signed_in_user(client, staff_headers):
    response = client.post("/api/v1/workflows/validate", json=with_dead_end(definition()), headers=staff_headers)
    assert response.status_code == 200
    body = response.json
    assert body["valid"] is False
    first = {k: v for k, v in body["problems"][0].items() if k != "message"}
    assert first == {"code": "dead_end", "severity": "error", "stages": ["limbo"], "transition": None}
    assert "limbo" in body["problems"][0]["message"]


def test_validate_a_good_definition_and_check_against_the_directory(client, staff_headers, make_agency):
    make_agency(type="social")
    body = client.post("/api/v1/workflows/validate", json=definition(), headers=staff_headers).json
    assert body["valid"] is True
    # No health agency exists: a warning, which does not make the definition invalid.
    assert [(p["code"], p["stages"]) for p in body["problems"]] == [("no_agency_for_stage", ["screening"])]


def test_validate_reports_schema_paths_and_refuses_a_non_json_body(client, staff_headers):
    document = definition()
    document["stages"][1]["respond_within"] = 12
    del document["name"]
    body = client.post("/api/v1/workflows/validate", json=document, headers=staff_headers).json
    assert body["valid"] is False
    messages = " ".join(p["message"] for p in body["problems"] if p["code"] == "schema")
    assert "stages[1].respond_within" in messages and "name" in messages

    response = client.post("/api/v1/workflows/validate", data="not json", headers=staff_headers,
                           content_type="text/plain")
    assert response.status_code == 422
    assert response.json["code"] == 422 and response.json["message"]


def test_validate_needs_a_token(client):
    assert client.post("/api/v1/workflows/validate", json=definition()).status_code == 401


def test_staff_cannot_write_or_publish_workflows(client, staff_headers, coordinator_headers):
    assert client.post("/api/v1/workflows", json=definition(), headers=staff_headers).status_code == 403
    assert client.post("/api/v1/workflows", json=definition(), headers=coordinator_headers).status_code == 201
    assert client.post("/api/v1/workflows/intake/publish", headers=staff_headers).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowVersion)) == 0


def test_draft_publish_and_versions(client, coordinator_headers):
    response = client.post("/api/v1/workflows", json=definition(), headers=coordinator_headers)
    assert response.status_code == 201
    assert response.json["has_draft"] is True and response.json["latest_version"] == 0
    assert response.json["draft_problems"] == []

    response = client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    assert response.status_code == 201
    assert response.json == {"key": "intake", "version": 1}

    listing = client.get("/api/v1/workflows", headers=coordinator_headers).json
    assert [(w["key"], w["latest_version"], w["has_draft"]) for w in listing] == [("intake", 1, False)]

    changed = definition(name="Intake, second edition")
    assert client.post("/api/v1/workflows", json=changed, headers=coordinator_headers).status_code == 200
    assert client.post("/api/v1/workflows/intake/publish", json={"note": "renamed"},
                       headers=coordinator_headers).json == {"key": "intake", "version": 2}

    first = client.get("/api/v1/workflows/intake/versions/1", headers=coordinator_headers).json
    second = client.get("/api/v1/workflows/intake/versions/2", headers=coordinator_headers).json
    assert first["definition"]["name"] == "Intake" and first["version"] == 1
    assert second["definition"]["name"] == "Intake, second edition" and second["note"] == "renamed"
    detail = client.get("/api/v1/workflows/intake", headers=coordinator_headers).json
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["definition"]["name"] == "Intake, second edition"
    assert client.get("/api/v1/workflows/intake/versions/3", headers=coordinator_headers).status_code == 404
    assert client.get("/api/v1/workflows/nothing", headers=coordinator_headers).status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "workflow")).all()
    assert actions.count("workflow.published") == 2


def test_publish_with_errors_is_refused_with_the_problems_and_changes_nothing(client, coordinator_headers):
    client.post("/api/v1/workflows", json=definition(), headers=coordinator_headers)
    client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    client.post("/api/v1/workflows", json=with_dead_end(definition()), headers=coordinator_headers)
    response = client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    assert response.status_code == 422
    assert response.json["code"] == 422 and response.json["status"] == "Unprocessable Entity"
    assert [p["code"] for p in response.json["problems"]] == ["dead_end"]
    detail = client.get("/api/v1/workflows/intake", headers=coordinator_headers).json
    assert detail["latest_version"] == 1 and detail["has_draft"] is True
    assert [p["code"] for p in detail["draft_problems"] if p["severity"] == "error"] == ["dead_end"]


def test_publish_without_a_draft_is_a_conflict(client, coordinator_headers):
    client.post("/api/v1/workflows", json=definition(), headers=coordinator_headers)
    client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    response = client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    assert response.status_code == 409
    assert client.post("/api/v1/workflows/other/publish", headers=coordinator_headers).status_code == 404


def test_a_draft_needs_a_usable_key(client, coordinator_headers):
    response = client.post("/api/v1/workflows", json=definition(key="Not A Key"), headers=coordinator_headers)
    assert response.status_code == 422 and "key" in response.json["errors"]
    response = client.post("/api/v1/workflows", json=[1, 2], headers=coordinator_headers)
    assert response.status_code == 422
    assert client.get("/api/v1/workflows", headers=coordinator_headers).json == []


def test_published_versions_never_change(app, client, coordinator_headers):
    client.post("/api/v1/workflows", json=definition(), headers=coordinator_headers)
    client.post("/api/v1/workflows/intake/publish", headers=coordinator_headers)
    version = db.session.scalar(sa.select(WorkflowVersion))
    version.note = "rewritten"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    # Not even a direct statement gets past the database.
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("UPDATE workflow_versions SET note = 'rewritten'"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("DELETE FROM workflow_versions"))
    db.session.rollback()
    assert db.session.scalar(sa.select(WorkflowVersion.note)) is None


def test_the_openapi_document_lists_the_workflow_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/workflows/validate", "/api/v1/workflows", "/api/v1/workflows/{key}",
                 "/api/v1/workflows/{key}/publish", "/api/v1/workflows/{key}/versions/{number}"):
        assert path in paths


# -- command line ---------------------------------------------------------------

def test_cli_validate_prints_one_line_per_problem_and_exits_1_on_errors(runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_dead_end(definition())))
    result = runner.invoke(cli, ["workflows", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines == [line for line in lines if line.startswith(("error\t", "warning\t"))]
    assert lines[0].split("\t")[:3] == ["error", "dead_end", "limbo"]

    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(definition()))
    result = runner.invoke(cli, ["workflows", "validate", str(good)])
    assert result.exit_code == 0 and result.stdout == ""

    result = runner.invoke(cli, ["workflows", "validate", str(default_workflow_path())])
    assert result.exit_code == 0 and result.stdout == ""


def test_cli_validate_reports_a_file_that_does_not_parse(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: [unclosed\n")
    result = runner.invoke(cli, ["workflows", "validate", str(broken)])
    assert result.exit_code == 1 and result.stdout.startswith("error\tschema\t")
    result = runner.invoke(cli, ["workflows", "validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_cli_import_publish_and_export(app, runner, tmp_path):
    path = tmp_path / "returned-child.yaml"
    path.write_text(load_default_workflow_text())
    result = runner.invoke(cli, ["workflows", "import", str(path), "--publish"])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.stdout
    out = tmp_path / "out.json"
    result = runner.invoke(cli, ["workflows", "export", "returned-child", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == yaml.safe_load(load_default_workflow_text())


def test_yaml_bodies_are_read_as_yaml(client, coordinator_headers):
    text = yaml.safe_dump(definition(), sort_keys=False)
    headers = {**coordinator_headers, "Content-Type": "application/yaml"}
    response = client.post("/api/v1/workflows/validate", data=text, headers=headers)
    assert response.status_code == 200 and response.json["valid"] is True
    response = client.post("/api/v1/workflows", data=text, headers=headers)
    assert response.status_code == 201 and response.json["draft"]["key"] == "intake"


def test_a_billion_laughs_is_refused_on_every_path(client, runner, coordinator_headers, billion_laughs, tmp_path):
    headers = {**coordinator_headers, "Content-Type": "application/yaml"}
    for path, status in (("/api/v1/workflows/validate", 200), ("/api/v1/workflows", 422)):
        started = time.perf_counter()
        response = client.post(path, data=billion_laughs, headers=headers)
        assert time.perf_counter() - started < 1
        assert response.status_code == status
        assert [problem["code"] for problem in response.json["problems"]] == ["schema"]
        assert "anchor or alias" in response.json["problems"][0]["message"]
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(billion_laughs)
    for command in ("validate", "import"):
        result = runner.invoke(cli, ["workflows", command, str(laughs)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "anchor or alias" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workflow)) == 0


def test_cli_import_of_a_workflow_with_errors_and_publish_changes_nothing(app, runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(with_dead_end(definition())))
    result = runner.invoke(cli, ["workflows", "import", str(bad), "--publish"])
    assert result.exit_code == 1
    assert "dead_end" in result.stderr and "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowVersion)) == 0

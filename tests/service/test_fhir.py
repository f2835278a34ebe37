"""FHIR R4 Task read API: every resource validated with the fhir.resources R4B models; need-to-know as /api/v1."""

import pytest
import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.task import Task

from referral.audit.models import AuditEntry
from referral.extensions import db
from referral.referrals.models import Referral
from tests.service import test_referrals as care
from tests.service.test_referrals import CHILD, act, refer, register

world = care.world  # the same published workflow, agencies and tokens

FHIR = "application/fhir+json"


def fhir_get(client, path, headers=None):
    return client.get(f"/fhir/r4{path}", headers=headers or {})


def test_metadata_needs_no_token_and_is_a_capability_statement(client):
    response = fhir_get(client, "/metadata")
    assert response.status_code == 200
    assert response.mimetype == FHIR
    statement = CapabilityStatement.model_validate(response.json)
    assert statement.fhirVersion == "4.0.1"
    task = statement.rest[0].resource[0]
    assert task.type == "Task"
    assert {i.code for i in task.interaction} == {"read", "search-type"}
    assert {p.name for p in task.searchParam} >= {"owner", "status"}


def test_a_requested_referral_is_a_task_after_the_sdoh_referral(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    response = fhir_get(client, f"/Task/{referral['id']}", world["health"]["headers"])
    assert response.status_code == 200, response.json
    assert response.mimetype == FHIR
    assert response.headers["Cache-Control"] == "no-store"
    task = Task.model_validate(response.json)
    assert task.id == str(referral["id"])
    assert task.status == "requested"
    assert task.intent == "order"
    assert task.businessStatus.text == "screening"
    assert task.requester.reference == "Organization/social-agency"
    assert task.owner.reference == "Organization/health-agency"
    assert task.for_fhir.identifier.system == "urn:referral:case-number"
    assert task.for_fhir.identifier.value == case["number"]
    assert task.authoredOn is not None and task.lastModified is not None
    assert task.priority == "urgent"  # a high-risk case
    # restriction.period.end is respond_by while requested
    assert response.json["restriction"]["period"]["end"].startswith(referral["respond_by"][:16])
    # never the child's name, nor the birth date
    text = response.get_data(as_text=True)
    for detail in (CHILD["given_name"], CHILD["family_name"], CHILD["birth_date"]):
        assert detail not in text


def test_after_acceptance_the_due_date_is_complete_by_and_the_outcome_is_output(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    accepted = act(client, world, "health", referral, "accept").json
    task = fhir_get(client, f"/Task/{referral['id']}", world["health"]["headers"]).json
    Task.model_validate(task)
    assert task["status"] == "accepted"
    assert task["restriction"]["period"]["end"].startswith(accepted["complete_by"][:16])
    assert "start" in task["executionPeriod"]
    done = act(client, world, "health", accepted, "complete", outcome="Screened, no findings").json
    task = fhir_get(client, f"/Task/{referral['id']}", world["social"]["headers"]).json
    Task.model_validate(task)
    assert task["status"] == "completed"
    assert "restriction" not in task
    assert task["output"] == [{"type": {"text": "outcome"}, "valueString": "Screened, no findings"}]
    assert task["meta"]["versionId"] == str(done["version"])


def test_status_reason_of_a_rejection(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    act(client, world, "health", referral, "reject", reason="No capacity this month")
    task = fhir_get(client, f"/Task/{referral['id']}", world["social"]["headers"]).json
    Task.model_validate(task)
    assert task["status"] == "rejected"
    assert task["statusReason"] == {"text": "No capacity this month"}


def test_a_task_the_caller_may_not_read_is_a_404_operation_outcome(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    for who in ("other", "health2", "justice"):
        response = fhir_get(client, f"/Task/{referral['id']}", world[who]["headers"])
        assert response.status_code == 404
        outcome = OperationOutcome.model_validate(response.json)
        assert outcome.issue[0].code == "not-found"
    missing = fhir_get(client, "/Task/999999", world["social"]["headers"])
    assert missing.status_code == 404
    OperationOutcome.model_validate(missing.json)


def test_without_a_token_is_401_operation_outcome(client, world):
    response = fhir_get(client, "/Task?owner=Organization/health-agency")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert OperationOutcome.model_validate(response.json).issue[0].code == "login"
    cookie_only = fhir_get(client, "/Task/1", {"Authorization": "Basic abc"})
    assert cookie_only.status_code == 401


def test_bad_search_parameters_are_400_operation_outcome(client, world):
    for query in ("status=nonsense", "_count=abc", "_count=0", "owner=Patient/1/x", "page=-1"):
        response = fhir_get(client, f"/Task?{query}", world["health"]["headers"])
        assert response.status_code == 400, query
        assert OperationOutcome.model_validate(response.json).issue[0].code == "invalid"
    unknown = fhir_get(client, "/Patient/1", world["health"]["headers"])
    assert unknown.status_code == 404
    OperationOutcome.model_validate(unknown.json)


def test_search_by_owner_and_status_is_a_searchset_of_what_the_caller_may_read(client, world):
    first = register(client, world)
    second = register(client, world)
    to_health = refer(client, world, first["id"], "screening").json
    refer(client, world, second["id"], "screening")
    rejected = refer(client, world, second["id"], "support", agency="ngo").json
    act(client, world, "ngo", rejected, "reject", reason="Out of area")
    query = "/Task?owner=Organization/health-agency&status=requested"
    response = fhir_get(client, query, world["health"]["headers"])
    assert response.status_code == 200
    bundle = Bundle.model_validate(response.json)
    assert bundle.type == "searchset"
    assert bundle.total == 2
    ids = {entry.resource.id for entry in bundle.entry}
    assert str(to_health["id"]) in ids
    for entry in bundle.entry:
        Task.model_validate(entry.resource.model_dump(mode="json"))
        assert entry.resource.owner.reference == "Organization/health-agency"
    # Another agency of the same type sees nothing of health's inbox: an empty Bundle, not an error.
    empty = fhir_get(client, query, world["other"]["headers"])
    assert empty.status_code == 200
    assert Bundle.model_validate(empty.json).total == 0
    assert empty.json.get("entry", []) == []
    # The agency that rejected keeps nothing: its rejected Task is not listed to it, as it is 404 alone.
    ngo = fhir_get(client, "/Task?owner=Organization/ngo-agency", world["ngo"]["headers"]).json
    assert ngo["total"] == 0
    assert fhir_get(client, f"/Task/{rejected['id']}", world["ngo"]["headers"]).status_code == 404


def test_search_equals_the_single_reads_for_every_caller(client, world, make_agency, make_user, token_for):
    """A list holds exactly the rows the caller could open one by one, for staff, coordinators and admins."""
    callers = {who: world[who]["headers"] for who in world}
    for role, region in (("coordinator", "KZ-71"), ("coordinator", "KZ-75"), ("supervisor", "KZ-71"),
                         ("admin", "KZ-75")):
        agency = make_agency(type="social", region=region)
        callers[f"{role}-{region}"] = token_for(make_user(role=role, agency=agency))
    for _ in range(2):
        case = register(client, world)
        screening = refer(client, world, case["id"], "screening").json
        support = refer(client, world, case["id"], "support", agency="ngo").json
    act(client, world, "health", screening, "accept")
    act(client, world, "ngo", support, "reject", reason="Full")
    all_ids = db.session.scalars(sa.select(Referral.id)).all()
    for who, headers in callers.items():
        listed = fhir_get(client, "/Task?_count=200", headers).json
        listed_ids = {int(entry["resource"]["id"]) for entry in listed.get("entry", [])}
        readable = {rid for rid in all_ids if fhir_get(client, f"/Task/{rid}", headers).status_code == 200}
        assert listed_ids == readable, who
        assert listed["total"] == len(readable)


def test_paging_follows_next_links(client, world):
    for _ in range(3):
        case = register(client, world)
        refer(client, world, case["id"], "screening")
    headers = world["health"]["headers"]
    page = fhir_get(client, "/Task?owner=Organization/health-agency&_count=2", headers).json
    seen = [entry["resource"]["id"] for entry in page["entry"]]
    nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
    assert len(seen) == 2 and nxt
    second = client.get(nxt[0].replace("http://localhost", ""), headers=headers).json
    seen += [entry["resource"]["id"] for entry in second["entry"]]
    assert len(set(seen)) == 3
    assert not [link for link in second["link"] if link["relation"] == "next"]


def test_every_task_read_is_audited(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    fhir_get(client, f"/Task/{referral['id']}", world["health"]["headers"])
    fhir_get(client, "/Task?owner=Organization/health-agency", world["health"]["headers"])
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "referral.read",
                                                              AuditEntry.object_id == str(referral["id"]))
                                 .order_by(AuditEntry.id)).all()
    assert [entry.detail["via"] for entry in entries] == ["fhir", "fhir-search"]


@pytest.mark.parametrize("path", ["/metadata", "/Task"])
def test_answers_are_not_cached(client, world, path):
    response = fhir_get(client, path, world["health"]["headers"])
    assert response.headers["Cache-Control"] == "no-store"

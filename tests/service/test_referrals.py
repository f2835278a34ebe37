"""Cases and referrals through the API: registration, routes, rules, lifecycle, visibility, closed loop."""

import json
from datetime import date

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.cases.models import Case, Event
from referral.designer import service as designer
from referral.extensions import db
from referral.notifications.models import Notification
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import demo_actor

WORKFLOW = {
    "key": "care",
    "name": "Care route",
    "calendar": "KZ",
    "stages": [
        {"key": "registration", "name": "Registration", "agency_type": "social", "start": True},
        {"key": "screening", "name": "Health screening", "agency_type": "health",
         "respond_within": {"high": "PT24H", "low": "P5D"}, "complete_within": "P3D"},
        {"key": "legal", "name": "Legal review", "agency_type": "justice", "respond_within": "3 working days"},
        {"key": "support", "name": "Psychosocial support", "agency_type": "civil_society",
         "respond_within": "P2D"},
        {"key": "closed", "name": "Closed", "agency_type": "social", "terminal": True, "respond_within": "P1D"},
    ],
    "transitions": [
        {"from": "registration", "to": "screening", "label": "Screen"},
        {"from": "registration", "to": "support", "mode": "parallel"},
        {"from": "screening", "to": "legal", "requires": ["consent"]},
        {"from": "screening", "to": "closed"},
        {"from": "legal", "to": "closed"},
        {"from": "support", "to": "closed"},
    ],
}

CHILD = {"given_name": "Aigerim", "family_name": "Testova", "birth_date": "2014-03-02", "sex": "female",
         "region": "KZ-71", "languages": ["kk", "ru"]}


@pytest.fixture
def world(app, make_agency, make_user, token_for):
    """Publish the care workflow; make agencies of each type with a user and a token each."""
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("care", Actor.system_actor("test"))
    db.session.commit()
    w = {}
    for name, kind, region in [("social", "social", "KZ-71"), ("health", "health", "KZ-71"),
                               ("health2", "health", "KZ-75"), ("justice", "justice", "KZ-71"),
                               ("ngo", "civil_society", "KZ-71"), ("other", "health", "KZ-71")]:
        agency = make_agency(type=kind, region=region, code=f"{name}-agency")
        user = make_user(role="staff", agency=agency, email=f"{name}@example.org")
        w[name] = {"agency": agency, "user": user, "headers": token_for(user)}
    return w


def register(client, world, **changes):
    body = {"workflow": "care", "risk_level": "high", "child": dict(CHILD), **changes}
    response = client.post("/api/v1/cases", json=body, headers=world["social"]["headers"])
    assert response.status_code == 201, response.json
    return response.json


def refer(client, world, case_id, to_stage, agency="health", sender="social", reason="Needs a check-up"):
    return client.post(f"/api/v1/cases/{case_id}/referrals", headers=world[sender]["headers"],
                       json={"to_stage": to_stage, "to_agency": f"{agency}-agency", "reason": reason})


def act(client, world, who, referral, action, **body):
    body.setdefault("version", referral["version"])
    return client.post(f"/api/v1/referrals/{referral['id']}/{action}", json=body, headers=world[who]["headers"])


def problem_codes(response):
    return [p["code"] for p in response.json.get("problems", [])]


def test_register_a_case_with_its_first_referral_in_progress(client, world):
    case = register(client, world)
    assert case["number"].startswith(f"KZ-{date.today().year}-") and len(case["number"]) == 14
    assert case["workflow"] == "care" and case["workflow_version"] == 1
    assert case["status"] == "open" and case["risk_level"] == "high"
    assert case["child"]["given_name"] == "Aigerim" and case["child"]["birth_date"] == "2014-03-02"
    assert case["active_stages"] == ["registration"]
    first = db.session.scalar(sa.select(Referral).where(Referral.case_id == case["id"]))
    assert first.status.value == "in-progress" and first.to_agency_id == world["social"]["agency"].id
    second = register(client, world)
    assert int(second["number"][-6:]) == int(case["number"][-6:]) + 1


def test_register_refuses_bad_input_and_changes_nothing(client, world):
    bad = {"workflow": "care", "risk_level": "extreme", "child": {**CHILD, "region": "KZ-99", "sex": "x"}}
    response = client.post("/api/v1/cases", json=bad, headers=world["social"]["headers"])
    assert response.status_code == 422 and response.json["errors"]
    response = client.post("/api/v1/cases", json={"workflow": "nothing", "risk_level": "low", "child": CHILD},
                           headers=world["social"]["headers"])
    assert response.status_code == 422
    response = client.post("/api/v1/cases", json={"workflow": "care", "risk_level": "low", "child": CHILD},
                           headers=world["health"]["headers"])
    assert response.status_code == 422 and problem_codes(response) == ["agency_type_mismatch"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("born", ["0001-01-01", "1900-01-01", "1990-06-15"])
def test_a_birth_date_beyond_the_age_bound_is_refused(client, world, born):
    child = {**CHILD, "birth_date": born}
    response = client.post("/api/v1/cases", json={"workflow": "care", "risk_level": "low", "child": child},
                           headers=world["social"]["headers"])
    assert response.status_code == 422
    assert "older than 24 years" in response.json["errors"]["child"]["birth_date"][0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_a_young_adult_of_24_is_still_registered(client, world):
    today = date.today()
    born = date(today.year - 24, 1, 1)
    child = {**CHILD, "birth_date": born.isoformat()}
    response = client.post("/api/v1/cases", json={"workflow": "care", "risk_level": "low", "child": child},
                           headers=world["social"]["headers"])
    assert response.status_code == 201


def test_routes_list_next_stages_with_candidates_of_the_right_type_region_first(client, world):
    case = register(client, world)
    routes = client.get(f"/api/v1/cases/{case['id']}/routes", headers=world["social"]["headers"]).json
    by_stage = {route["to_stage"]: route for route in routes}
    assert set(by_stage) == {"screening", "support"}
    codes = [agency["code"] for agency in by_stage["screening"]["candidates"]]
    assert set(codes) == {"health-agency", "health2-agency", "other-agency"}
    assert codes[-1] == "health2-agency"  # the other region comes last
    assert by_stage["support"]["mode"] == "parallel"
    # An agency that does not hold the case has no routes (and cannot see it at all).
    assert client.get(f"/api/v1/cases/{case['id']}/routes", headers=world["ngo"]["headers"]).status_code == 404


def test_refer_accept_handover_and_closed_loop(client, world):
    case = register(client, world)
    response = refer(client, world, case["id"], "screening")
    assert response.status_code == 201, response.json
    referral = response.json
    assert referral["status"] == "requested" and referral["version"] == 1
    assert referral["from_agency"] == "social-agency" and referral["to_agency"] == "health-agency"
    assert referral["from_stage"] == "registration" and referral["respond_by"] is not None

    incoming = client.get("/api/v1/referrals", query_string={"box": "incoming"},
                          headers=world["health"]["headers"]).json
    assert [r["id"] for r in incoming] == [referral["id"]]

    accepted = act(client, world, "health", referral, "accept")
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["status"] == "accepted" and accepted.json["version"] == 2
    assert accepted.json["complete_by"] is not None and accepted.json["responded_at"] is not None

    # Handover: the sender's stage completed with outcome "handed over".
    first = db.session.scalar(sa.select(Referral).where(Referral.case_id == case["id"], Referral.from_stage.is_(None)))
    db.session.refresh(first)
    assert first.status.value == "completed" and first.outcome == "handed over"
    body = client.get(f"/api/v1/cases/{case['id']}", headers=world["health"]["headers"]).json
    assert body["active_stages"] == ["screening"]

    # The sender hears of the acceptance; the message names the case, never the child.
    notes = client.get("/api/v1/notifications", headers=world["social"]["headers"]).json
    assert any(n["kind"] == "referral.accepted" and case["number"] in n["message"] for n in notes)
    every_message = " ".join(n.params.get("case", "") + str(n.params) for n in db.session.scalars(
        sa.select(Notification)))
    assert "Aigerim" not in every_message and "Testova" not in every_message


def test_a_stale_version_is_refused_and_changes_nothing(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    assert act(client, world, "health", referral, "accept").status_code == 200
    response = act(client, world, "health", referral, "start")  # still names version 1
    assert response.status_code == 409 and response.json["code"] == 409
    assert client.get(f"/api/v1/referrals/{referral['id']}", headers=world["health"]["headers"]).json[
        "status"] == "accepted"


def test_lifecycle_refusals(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    assert act(client, world, "health", referral, "start").status_code == 409  # requested cannot start
    response = act(client, world, "health", referral, "reject")
    assert response.status_code == 422 and "reason" in response.json["errors"]
    assert act(client, world, "social", referral, "accept").status_code == 403  # the sender cannot accept
    assert act(client, world, "health", referral, "explode").status_code == 404
    assert act(client, world, "health", referral, "accept", version="1").status_code == 422
    rejected = act(client, world, "health", referral, "reject", reason="No paediatrician this month")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["status_reason"] == "No paediatrician this month" and rejected.json["closed_at"]
    # A rejected referral can be re-routed to another agency; the rejecter sees nothing more.
    assert refer(client, world, case["id"], "screening", agency="other").status_code == 201
    assert client.get(f"/api/v1/cases/{case['id']}", headers=world["health"]["headers"]).status_code == 404


def test_full_lifecycle_to_closure(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    referral = act(client, world, "health", referral, "accept").json
    referral = act(client, world, "health", referral, "start").json
    referral = act(client, world, "health", referral, "hold", reason="Waiting for lab results").json
    assert referral["status"] == "on-hold" and referral["status_reason"] == "Waiting for lab results"
    referral = act(client, world, "health", referral, "resume").json
    assert referral["status"] == "in-progress"
    closing = refer(client, world, case["id"], "closed", sender="health", agency="social", reason="Done").json
    # The screening goes on until the closing referral is accepted (handover).
    closing = act(client, world, "social", closing, "accept").json
    assert client.get(f"/api/v1/referrals/{referral['id']}", headers=world["health"]["headers"]).json[
        "status"] == "completed"
    response = act(client, world, "social", closing, "complete")
    assert response.status_code == 422 and "outcome" in response.json["errors"]
    closing = act(client, world, "social", closing, "complete", outcome="Child settled with family").json
    body = client.get(f"/api/v1/cases/{case['id']}", headers=world["social"]["headers"]).json
    assert body["status"] == "closed" and body["active_stages"] == []
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{case['id']}/timeline",
                                           headers=world["social"]["headers"]).json]
    assert kinds[0] == "case.registered" and kinds[-1] == "case.closed"
    assert kinds.count("referral.accepted") == 2


def test_parallel_referral_keeps_the_senders_stage(client, world):
    case = register(client, world)
    support = refer(client, world, case["id"], "support", agency="ngo").json
    act(client, world, "ngo", support, "accept")
    body = client.get(f"/api/v1/cases/{case['id']}", headers=world["social"]["headers"]).json
    assert body["active_stages"] == ["registration", "support"]


def test_each_routing_rule_has_its_problem_code(client, world, make_agency):
    case = register(client, world)
    response = refer(client, world, case["id"], "legal", agency="justice")
    assert response.status_code == 422 and problem_codes(response) == ["route_not_allowed"]
    response = refer(client, world, case["id"], "screening", agency="justice")
    assert problem_codes(response) == ["agency_type_mismatch"]
    inactive = make_agency(type="health", code="closed-clinic", is_active=False)
    response = refer(client, world, case["id"], "screening", agency=inactive.code.removesuffix("-agency"))
    response = client.post(f"/api/v1/cases/{case['id']}/referrals", headers=world["social"]["headers"],
                           json={"to_stage": "screening", "to_agency": "closed-clinic", "reason": "x"})
    assert problem_codes(response) == ["agency_inactive"]
    assert refer(client, world, case["id"], "screening").status_code == 201
    response = refer(client, world, case["id"], "screening")
    assert problem_codes(response) == ["duplicate_open_referral"]
    response = client.post(f"/api/v1/cases/{case['id']}/referrals", headers=world["social"]["headers"],
                           json={"to_stage": "screening", "to_agency": "no-such-agency", "reason": "x"})
    assert response.status_code == 422 and "to_agency" in response.json["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 2


def test_consent_guard(client, world):
    case = register(client, world)
    screening = refer(client, world, case["id"], "screening").json
    act(client, world, "health", screening, "accept")
    response = refer(client, world, case["id"], "legal", sender="health", agency="justice")
    assert response.status_code == 422 and problem_codes(response) == ["consent_required"]
    consent = {"given_by": "Guardian", "relationship_to_child": "aunt", "agency_types": ["health"],
               "given_on": date.today().isoformat()}
    assert client.post(f"/api/v1/cases/{case['id']}/consents", json=consent,
                       headers=world["social"]["headers"]).status_code == 201
    # A consent that does not cover justice agencies does not open the route.
    assert problem_codes(refer(client, world, case["id"], "legal", sender="health", agency="justice")) == [
        "consent_required"]
    consent["agency_types"] = ["justice"]
    client.post(f"/api/v1/cases/{case['id']}/consents", json=consent, headers=world["social"]["headers"])
    assert refer(client, world, case["id"], "legal", sender="health", agency="justice").status_code == 201


def test_need_to_know(client, world, make_user, token_for):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening", reason="Check-up after return").json
    # Unrelated agency: 404 for the case, its referral, its timeline.
    for path in (f"/api/v1/cases/{case['id']}", f"/api/v1/referrals/{referral['id']}",
                 f"/api/v1/cases/{case['id']}/timeline"):
        assert client.get(path, headers=world["justice"]["headers"]).status_code == 404
    assert client.get("/api/v1/cases", headers=world["justice"]["headers"]).json == []
    # Asked but not yet accepted: a summary with no names.
    summary = client.get(f"/api/v1/cases/{case['id']}", headers=world["health"]["headers"]).json
    assert summary["visibility"] == "summary" and summary["reason"] == "Check-up after return"
    assert summary["child"]["sex"] == "female" and summary["child"]["region"] == "KZ-71"
    assert isinstance(summary["child"]["age"], int)
    text = str(summary)
    assert "Aigerim" not in text and "Testova" not in text and "2014" not in text
    # After accepting: the full record, and the read is audited.
    act(client, world, "health", referral, "accept")
    full = client.get(f"/api/v1/cases/{case['id']}", headers=world["health"]["headers"]).json
    assert full["child"]["given_name"] == "Aigerim"
    reads = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.read",
                                                           AuditEntry.object_id == str(case["id"]))).all()
    assert reads and reads[-1].actor_user_id == world["health"]["user"].id
    # A coordinator of the region sees it in full; an admin anywhere sees it.
    coordinator = make_user(role="coordinator", agency=world["justice"]["agency"])
    assert client.get(f"/api/v1/cases/{case['id']}", headers=token_for(coordinator)).json["visibility"] == "full"
    far = make_user(role="coordinator", agency=world["health2"]["agency"])
    assert client.get(f"/api/v1/cases/{case['id']}", headers=token_for(far)).status_code == 404


def test_the_timeline_is_append_only(client, world):
    register(client, world)
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("UPDATE events SET kind = 'x'"))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(Event.kind)) == "case.registered"


def test_a_coordinator_of_the_region_may_cancel(client, world, make_user, token_for):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    coordinator = make_user(role="coordinator", agency=world["justice"]["agency"])
    response = client.post(f"/api/v1/referrals/{referral['id']}/cancel", headers=token_for(coordinator),
                           json={"version": 1, "reason": "Sent to the wrong clinic"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    kinds = {n.kind for n in db.session.scalars(sa.select(Notification))}
    assert "referral.cancelled" in kinds


def test_changing_the_risk_level_moves_the_respond_deadline(client, world):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    response = client.patch(f"/api/v1/cases/{case['id']}", json={"risk_level": "low"},
                            headers=world["social"]["headers"])
    assert response.status_code == 200 and response.json["risk_level"] == "low"
    moved = client.get(f"/api/v1/referrals/{referral['id']}", headers=world["social"]["headers"]).json
    assert moved["respond_by"] > referral["respond_by"]
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"risk_level": "extreme"},
                        headers=world["social"]["headers"]).status_code == 422
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"risk_level": "high"},
                        headers=world["justice"]["headers"]).status_code == 404


def test_listing_cases_audits_each_full_record_shown_but_not_summaries(client, world):
    case = register(client, world)
    refer(client, world, case["id"], "screening")

    def list_reads(user):
        return db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.action == "case.read", AuditEntry.actor_user_id == user.id)).all()

    listing = client.get("/api/v1/cases", headers=world["social"]["headers"]).json
    assert [c["number"] for c in listing] == [case["number"]]
    reads = list_reads(world["social"]["user"])
    assert len(reads) == 1 and reads[0].object_id == str(case["id"]) and reads[0].detail == {"via": "list"}
    # The clinic has only been asked: it sees a summary with no names, and no full read is recorded.
    summaries = client.get("/api/v1/cases", headers=world["health"]["headers"]).json
    assert [(c["visibility"], "given_name" in str(c)) for c in summaries] == [("summary", False)]
    assert list_reads(world["health"]["user"]) == []


def test_the_timeline_is_paginated(client, world):
    case = register(client, world)
    refer(client, world, case["id"], "screening")
    path = f"/api/v1/cases/{case['id']}/timeline"
    first = client.get(path, query_string={"per_page": 1}, headers=world["social"]["headers"])
    assert [e["kind"] for e in first.json] == ["case.registered"]
    assert json.loads(first.headers["X-Pagination"])["total"] == 2
    assert client.get(path, query_string={"per_page": 201}, headers=world["social"]["headers"]).status_code == 422


def test_a_referral_cancelled_before_an_answer_leaves_every_list_of_the_asked_agency(client, world, login_as,
                                                                                      make_user):
    """Lists follow single reads: once the referral is 404 to the asked agency, no list of it holds it either."""
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    asked = world["health"]["headers"]
    listed = client.get("/api/v1/referrals", query_string={"box": "incoming"}, headers=asked).json
    assert [item["id"] for item in listed] == [referral["id"]]
    assert any(item["referral_id"] == referral["id"] for item in client.get("/api/v1/deadlines", headers=asked).json)

    assert act(client, world, "social", referral, "cancel", reason="Family moved to another region").status_code == 200
    assert client.get(f"/api/v1/referrals/{referral['id']}", headers=asked).status_code == 404
    for status in (None, "cancelled"):
        query = {"box": "incoming", **({"status": status} if status else {})}
        assert client.get("/api/v1/referrals", query_string=query, headers=asked).json == []
    deadlines = client.get("/api/v1/deadlines", query_string={"status": "cancelled"}, headers=asked).json
    assert [item for item in deadlines if item["referral_id"] == referral["id"]] == []

    supervisor = make_user(role="supervisor", agency=world["health"]["agency"])
    login_as(supervisor)
    page = client.get("/inbox/", query_string={"tab": "closed"}).get_data(as_text=True)
    assert case["number"] not in page and "Family moved" not in page
    page = client.get("/deadlines/", query_string={"status": "all"}).get_data(as_text=True)
    assert case["number"] not in page
    # The sender still sees its cancelled referral in its own lists.
    sent = client.get("/api/v1/referrals", query_string={"box": "outgoing", "status": "cancelled"},
                      headers=world["social"]["headers"]).json
    assert [item["id"] for item in sent] == [referral["id"]]


def test_reads_of_a_referral_and_of_the_timeline_are_audited(client, world, login_as):
    case = register(client, world)
    referral = refer(client, world, case["id"], "screening").json
    asked = world["health"]
    assert client.get(f"/api/v1/referrals/{referral['id']}", headers=asked["headers"]).status_code == 200
    assert client.get(f"/api/v1/cases/{case['id']}/timeline", headers=world["social"]["headers"]).status_code == 200
    login_as(asked["user"])
    assert client.get(f"/inbox/{referral['id']}").status_code == 200
    reads = db.session.execute(sa.select(AuditEntry.action, AuditEntry.actor_user_id, AuditEntry.detail)
                               .where(AuditEntry.action.in_(["referral.read", "case.read"]))).all()
    vias = {(action, user_id, detail.get("via")) for action, user_id, detail in reads}
    assert ("referral.read", asked["user"].id, "api") in vias
    assert ("referral.read", asked["user"].id, "web") in vias
    assert ("case.read", world["social"]["user"].id, "timeline") in vias
    # No read is audited when the referral is not the reader's to see.
    assert client.get(f"/api/v1/referrals/{referral['id']}", headers=world["ngo"]["headers"]).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "referral.read", AuditEntry.actor_user_id == world["ngo"]["user"].id)) == 0


def test_reading_the_audit_log_is_itself_audited(client, make_user, login_as):
    admin = make_user(role="admin")
    login_as(admin)
    assert client.get("/admin/audit/", query_string={"object_type": "case"}).status_code == 200
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "audit.read"))
    assert entry.actor_user_id == admin.id and entry.detail["filters"] == ["object_type"]


def test_an_answer_tells_every_active_user_of_the_sender_in_one_statement(asked):
    """The sender's active users hear of the accept, each once; an inactive user and the one who acted do not;
    the rows are written by one INSERT … SELECT, not a read of the users and then an insert."""
    sender = db.session.scalars(sa.select(User).where(User.agency_id == asked.from_agency_id,
                                                      User.is_active_account.is_(True)).order_by(User.id)).all()
    assert sender
    sender[-1].is_active_account = False
    db.session.commit()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - before_cursor_execute's statement
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        referrals.act(asked.id, "accept", asked.version, demo_actor("health@demo.kz"))
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    told = db.session.scalars(sa.select(Notification.user_id).where(Notification.referral_id == asked.id,
                                                                    Notification.kind == "referral.accepted")
                              .order_by(Notification.user_id)).all()
    assert told == [user.id for user in sender[:-1]]
    params = db.session.scalars(sa.select(Notification.params).where(Notification.referral_id == asked.id,
                                                                     Notification.kind == "referral.accepted")).all()
    assert all(p["case"] == asked.case.number for p in params)
    # The users are not read on their own (the actor's own row, read whole, is another statement).
    assert not any(s.split("FROM")[0].split() == ["SELECT", "users.id"] for s in statements)
    assert sum(s.lstrip().startswith("INSERT INTO notifications") for s in statements) == 1

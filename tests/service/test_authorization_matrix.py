"""An authorization matrix generated from the OpenAPI document (DESIGN §10, §17): every read operation on a case
or a referral, for every role at an agency in every relation to the case, answers 404 exactly where the
need-to-know rule hides it; and every list holds exactly what its reader could open one by one."""

import json
import re
from datetime import date

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.cases import service as cases
from referral.designer import service as designer
from referral.extensions import db
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.service.test_referrals import CHILD, WORKFLOW

RELATIONS = {
    "registering": ("social", "KZ-71"),   # holds the case
    "asked": ("health", "KZ-71"),         # a referral waits for its answer
    "refused": ("justice", "KZ-71"),      # rejected its referral: holds nothing
    "unrelated": ("civil_society", "KZ-71"),
    "other-region": ("health", "KZ-75"),
}
ROLES = ("staff", "supervisor", "coordinator", "admin")


@pytest.fixture
def matrix(client, make_agency, make_user, token_for):
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("care", Actor.system_actor("test"))
    agencies = {name: make_agency(type=kind, region=region, code=f"{name}-agency")
                for name, (kind, region) in RELATIONS.items()}
    callers = {(relation, role): token_for(make_user(role=role, agency=agencies[relation]))
               for relation in RELATIONS for role in ROLES}
    social = make_user(role="staff", agency=agencies["registering"])
    child = cases.ChildData(**{**CHILD, "birth_date": None}, estimated_age=11)
    case = cases.register_case("care", "high", child, Actor.of(social))
    consent = cases.ConsentData(given_by="Mother", relationship_to_child="mother", agency_types=["health", "justice"],
                                given_on=date.today())
    cases.record_consent(case.id, consent, Actor.of(social))
    referrals.refer(case.id, "screening", "asked-agency", "Check-up", Actor.of(social))
    refused = referrals.refer(case.id, "support", "unrelated-agency", "Support", Actor.of(social))
    db.session.commit()
    ngo = make_user(role="staff", agency=agencies["unrelated"])
    referrals.act(refused.id, "reject", refused.version, Actor.of(ngo), reason="No places")
    db.session.commit()
    return case, callers


def _read_operations(client):
    """Every GET of the document with a case or referral id in its path."""
    paths = client.get("/api/v1/openapi.json").json["paths"]
    return sorted(path for path, operations in paths.items()
                  if "get" in operations and re.search(r"\{(case_id|referral_id)\}", path))


def test_the_matrix_covers_every_read_of_a_case_or_referral(client):
    assert set(_read_operations(client)) >= {"/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/routes",
                                             "/api/v1/cases/{case_id}/timeline", "/api/v1/referrals/{referral_id}"}


def test_single_reads_follow_need_to_know_for_every_operation_role_and_relation(client, matrix):
    case, callers = matrix
    operations = _read_operations(client)
    referral_ids = [r.id for r in db.session.query(Referral).filter_by(case_id=case.id)]
    cells = 0
    for (relation, role), headers in callers.items():
        actor = Actor.of(_user_of(headers))
        visibility = cases.visibility_of(db.session.get(type(case), case.id), actor).value
        may_see = {target: referrals.may_see(db.session.get(Referral, target), actor) for target in referral_ids}
        db.session.commit()  # reading the token stamped its last use; SQLite allows one writer
        for path in operations:
            targets = referral_ids if "{referral_id}" in path else [case.id]
            for target in targets:
                url = path.replace("{case_id}", str(target)).replace("{referral_id}", str(target))
                response = client.get(url, headers=headers)
                status = response.status_code
                if "{referral_id}" in path:
                    expected = 200 if may_see[target] else 404
                elif path.endswith("{case_id}"):
                    expected = 404 if visibility == "none" else 200
                elif path.endswith("/routes"):
                    # Routes are offered only to full readers; one who was only asked gets none.
                    expected = 404 if visibility == "none" else 200
                    if visibility == "summary":
                        assert response.json == [], (relation, role)
                else:
                    expected = 200 if visibility == "full" else 404
                assert status == expected, (relation, role, url, visibility)
                cells += 1
        if relation in ("unrelated", "other-region") and role == "staff":
            assert visibility == "none"  # the matrix really has callers who see nothing
    assert cells == len(callers) * sum(len(referral_ids) if "{referral_id}" in p else 1 for p in operations)


@pytest.mark.parametrize("path, query, key", [
    ("/api/v1/referrals", {"box": "incoming"}, "id"),
    ("/api/v1/referrals", {"box": "outgoing"}, "id"),
    ("/api/v1/referrals", {"box": "incoming", "status": "rejected"}, "id"),
    ("/api/v1/deadlines", {"status": "cancelled"}, "referral_id"),
    ("/api/v1/deadlines", {}, "referral_id"),
])
def test_every_list_holds_only_what_its_reader_could_open(client, matrix, path, query, key):
    _, callers = matrix
    for (relation, role), headers in callers.items():
        response = client.get(path, query_string={**query, "per_page": 200}, headers=headers)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (relation, role, response.json)
        for item in response.json:
            assert client.get(f"/api/v1/referrals/{item[key]}", headers=headers).status_code == 200, (
                relation, role, path, query)


def test_the_case_list_holds_only_cases_its_reader_could_open(client, matrix):
    _, callers = matrix
    for (relation, role), headers in callers.items():
        listed = client.get("/api/v1/cases", headers=headers).json
        for item in listed:
            assert client.get(f"/api/v1/cases/{item['id']}", headers=headers).status_code == 200, (relation, role)


def _user_of(headers):
    from referral.auth import service as accounts

    return accounts.user_for_token(headers["Authorization"].split(" ", 1)[1])


def test_pagination_header_counts_what_the_list_holds(client, matrix):
    _, callers = matrix
    headers = callers[("asked", "staff")]
    response = client.get("/api/v1/referrals", query_string={"box": "incoming"}, headers=headers)
    assert json.loads(response.headers["X-Pagination"])["total"] == len(response.json)


def test_notifications_link_only_to_cases_their_reader_can_still_open(client, matrix, login_as):
    """The agency that refused its referral keeps its notice of the request, but no longer a link to the case."""
    from referral.auth.models import User
    from referral.notifications.models import Notification

    case, _ = matrix
    link = f'href="/cases/{case.id}"'
    readers = {}
    # Staff read what their agency may; a coordinator or an administrator of the agency may see more.
    for user in db.session.scalars(sa.select(User).join(Notification, Notification.user_id == User.id)
                                   .where(Notification.case_id == case.id, User.role == "staff")
                                   .order_by(Notification.id)):
        readers.setdefault(user.agency.code, user)
    assert {"unrelated-agency", "asked-agency"} <= set(readers)
    for code, can_open in (("unrelated-agency", False), ("asked-agency", True)):
        login_as(readers[code])
        page = client.get("/notifications/").get_data(as_text=True)
        assert page.count('class="list-group-item') >= 1
        assert (link in page) is can_open, code
        assert (client.get(f"/cases/{case.id}").status_code == 200) is can_open
        client.post("/logout")

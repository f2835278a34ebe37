"""Cases with nothing open on the case pages, and closing one through the form (issue 9)."""

import re

import pytest
import sqlalchemy as sa

from referral.cases.models import Case, CaseStatus, Event
from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.extensions import db
from referral.referrals import service as referrals
from tests.appfixtures import demo_actor, stuck_case

REASON = "The family left the country; the guardian confirmed it by phone."
NOTICE = 'id="nothing-open"'


def fresh(case: Case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def row_of(page: str, number: str) -> str:
    found = re.search(rf"<tr>\s*<td[^>]*><a [^>]*>{number}</a>.*?</tr>", page, re.S)
    return found.group(0) if found else ""


def test_the_holding_agency_and_the_coordinator_find_it_in_the_case_list(client, demo, sign_in):
    case = stuck_case()
    for email in ("social@demo.kz", "coordinator@demo.kz", "admin@demo.kz"):
        sign_in(email)
        page = text_of(client.get("/cases/"))
        assert "nothing open — refer onward or close" in row_of(page, case.number)
        assert 'id="nothing-open-cases"' in page and "1 open case has nothing open" in page
        filtered = text_of(client.get("/cases/?status=stuck"))
        assert case.number in filtered and 'value="stuck" selected' in filtered
        assert demo_number("Samplova") not in filtered  # waiting for the clinic's answer: not stuck
        assert 'id="home-nothing-open"' in text_of(client.get("/"))
    sign_in("school@demo.kz")
    assert 'id="home-nothing-open"' not in text_of(client.get("/"))
    assert case.number not in text_of(client.get("/cases/?status=stuck"))
    assert 'id="nothing-open-cases"' not in text_of(client.get("/cases/"))
    assert client.get(f"/cases/{case.id}").status_code == 404


def demo_number(family_name: str) -> str:
    return db.session.scalar(sa.select(Case.number).where(Case.family_name == f"{family_name} (demo)"))


def test_the_case_page_shows_the_two_ways_forward(client, demo, sign_in):
    case = stuck_case()
    sign_in("social@demo.kz")
    page = text_of(client.get(f"/cases/{case.id}"))
    assert NOTICE in page and "Nothing open — refer onward or close" in page
    assert 'id="refer-onward"' in page and 'href="#routes"' in page  # the agency where it stopped refers it
    assert 'class="card mb-2 route" data-stage="initial-assessment"' in page  # the existing refer form
    assert 'id="close-form"' not in page and 'id="ask-to-close"' in page  # staff ask a coordinator

    sign_in("coordinator@demo.kz")
    page = text_of(client.get(f"/cases/{case.id}"))
    assert 'id="close-form"' in page and f'action="/cases/{case.id}/close"' in page
    assert 'maxlength="2000"' in page

    sign_in("coordinator.almaty@demo.kz")
    almaty = stuck_case(region="KZ-75")
    page = text_of(client.get(f"/cases/{almaty.id}"))
    # Dana holds nothing of it: she may close it but not refer it, and is told who can.
    assert 'id="close-form"' in page and 'id="refer-onward"' not in page
    assert "Ask Astana Family Support Centre (demo): only the agency where it stopped can refer it onward." in page


def test_a_case_that_is_moving_has_no_notice(client, demo, sign_in):
    sign_in("coordinator@demo.kz")
    busy = db.session.scalar(sa.select(Case).where(Case.family_name == "Fictionov (demo)"))
    page = text_of(client.get(f"/cases/{busy.id}"))
    assert NOTICE not in page and 'id="close-form"' not in page


def test_a_coordinator_closes_the_case_through_the_form(client, demo, sign_in):
    case = stuck_case()
    sign_in("coordinator@demo.kz")
    response = client.post(f"/cases/{case.id}/close", data={"reason": REASON})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}")
    assert fresh(case).status is CaseStatus.closed
    page = text_of(client.get(f"/cases/{case.id}"))
    assert f"Case {case.number} closed." in page and NOTICE not in page and 'id="close-form"' not in page
    assert "Case closed" in page and f"Reason: {REASON}" in page  # on the timeline
    assert case.number not in text_of(client.get("/cases/?status=stuck"))
    assert "nothing open" not in row_of(text_of(client.get("/cases/")), case.number)


def test_staff_cannot_close_a_case(client, demo, sign_in):
    case = stuck_case()
    sign_in("social@demo.kz")
    assert client.post(f"/cases/{case.id}/close", data={"reason": REASON}).status_code == 403
    assert fresh(case).status is CaseStatus.open


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_closing_without_a_proper_reason_changes_nothing(client, demo, sign_in, reason):
    case = stuck_case()
    sign_in("coordinator@demo.kz")
    response = client.post(f"/cases/{case.id}/close", data={"reason": reason})
    page = text_of(response)
    assert response.status_code == 422
    assert "The case was not closed: say why, in at most 2000 characters." in page
    assert 'id="close-form"' in page and "is-invalid" in page
    assert fresh(case).status is CaseStatus.open


def test_a_stale_or_closed_case_gets_a_clear_message(client, demo, sign_in):
    case = stuck_case()
    sign_in("coordinator@demo.kz")
    # Referred onward by the agency while the coordinator had the page open.
    referrals.refer(case.id, "initial-assessment", "astana-family-support", "Assessment", demo_actor("social@demo.kz"))
    db.session.commit()
    response = client.post(f"/cases/{case.id}/close", data={"reason": REASON})
    page = text_of(response)
    assert response.status_code == 409 and "has an open referral again" in page
    assert "Cancel its open referrals first" in page
    assert fresh(case).status is CaseStatus.open

    other = stuck_case()
    assert client.post(f"/cases/{other.id}/close", data={"reason": REASON}).status_code == 302
    response = client.post(f"/cases/{other.id}/close", data={"reason": "Once more"})
    assert response.status_code == 409 and f"Case {other.number} is already closed." in text_of(response)
    kinds = db.session.scalars(sa.select(Event.kind).where(Event.case_id == other.id)).all()
    assert kinds.count("case.closed") == 1


def test_a_case_out_of_sight_is_404_and_out_of_region_is_403(client, demo, sign_in):
    astana = stuck_case(region="KZ-71")
    almaty = stuck_case(region="KZ-75")
    sign_in("coordinator.almaty@demo.kz")
    assert client.post(f"/cases/{astana.id}/close", data={"reason": REASON}).status_code == 404
    sign_in("coordinator@demo.kz")
    response = client.post(f"/cases/{almaty.id}/close", data={"reason": REASON})
    assert response.status_code == 403 and "Only a coordinator of the case&#39;s region can close it." in \
        text_of(response)
    assert fresh(astana).status is CaseStatus.open and fresh(almaty).status is CaseStatus.open


def test_the_form_needs_its_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        load_demo_data()
        db.session.commit()
        case = stuck_case()
        client = app.test_client()
        page = text_of(client.get("/login"))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"email": "coordinator@demo.kz", "password": DEMO_PASSWORD,
                                    "csrf_token": token})
        assert client.post(f"/cases/{case.id}/close", data={"reason": REASON}).status_code == 400
        assert fresh(case).status is CaseStatus.open
        page = text_of(client.get(f"/cases/{case.id}"))
        token = re.search(r'id="close-form".*?name="csrf_token" type="hidden" value="([^"]+)"', page, re.S).group(1)
        assert client.post(f"/cases/{case.id}/close", data={"reason": REASON, "csrf_token": token}).status_code == 302
        assert fresh(case).status is CaseStatus.closed

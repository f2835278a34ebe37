"""The case pages, the agency inbox and the notification centre, through the test client."""

import re
from datetime import timedelta

import sqlalchemy as sa

from referral.actors import Actor
from referral.auth.models import User
from referral.cases import service as cases_service
from referral.cases.models import Case, Consent, Event
from referral.demo import load_demo_data
from referral.extensions import db, utcnow
from referral.notifications.models import Notification
from referral.referrals.models import Referral
from referral.scheduler.sweep import sweep

CHILD_FORM = {"workflow": "returned-child", "risk_level": "high", "given_name": "Alua", "family_name": "Webformova",
              "patronymic": "", "birth_date": "2015-02-03", "estimated_age": "", "sex": "female", "region": "KZ-71",
              "languages": ["kk", "ru"]}


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def referral_of(case: Case, stage: str) -> Referral:
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id, Referral.to_stage == stage))


def fresh(referral: Referral) -> Referral:
    db.session.expire_all()
    return db.session.get(Referral, referral.id)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_register_a_case_through_the_form(client, demo, sign_in):
    sign_in("social@demo.kz")
    page = text_of(client.get("/cases/new"))
    assert 'value="returned-child"' in page and "Astana" in page
    before = count(Case)

    response = client.post("/cases/new", data={**CHILD_FORM, "given_name": "", "birth_date": ""})
    assert response.status_code == 422
    assert count(Case) == before

    response = client.post("/cases/new", data=CHILD_FORM)
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.family_name == "Webformova"))
    assert case.languages == ["kk", "ru"] and str(case.risk_level) == "high"
    page = text_of(client.get(response.headers["Location"]))
    assert case.number in page and "Webformova Alua" in page
    assert 'data-stage="registration"' in page and "active-stage" in page  # where the child is now
    assert "Case registered" in page  # the timeline


def test_health_agency_asked_sees_a_summary_without_names(client, demo, sign_in):
    case = demo_case("Samplova")
    sign_in("social@demo.kz")
    full = text_of(client.get(f"/cases/{case.id}"))
    assert "Samplova" in full and "Amina" in full and "Gulnara" in full  # the consent too

    sign_in("health@demo.kz")
    response = client.get(f"/cases/{case.id}")
    summary = text_of(response)
    assert response.status_code == 200 and case.number in summary
    assert "Samplova" not in summary and "Amina" not in summary and "Gulnara" not in summary
    assert "cough" in summary and "Astana" in summary  # the reason and the region
    listing = text_of(client.get("/cases/"))
    assert case.number in listing and "Samplova" not in listing and "summary only" in listing


def test_an_unrelated_agency_gets_404(client, demo, make_agency, make_user, login_as):
    case = demo_case("Samplova")
    stranger = make_user(role="staff", agency=make_agency(type="education", region="KZ-71"))
    login_as(stranger)
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert case.number not in text_of(client.get("/cases/"))


def test_inbox_lists_requested_referrals_and_accept_changes_the_status(client, demo, sign_in):
    case = demo_case("Samplova")
    referral = referral_of(case, "health-screening")
    sign_in("health@demo.kz")
    page = text_of(client.get("/inbox/"))
    assert case.number in page and 'data-action="accept"' in page and 'data-action="reject"' in page
    assert demo_case("Fictionov").number not in page  # in progress: on the active tab
    assert demo_case("Fictionov").number in text_of(client.get("/inbox/?tab=active"))
    # The clinic rejected Inventova's referral and holds nothing of her case: 404 to open, so in no list (§17).
    rejected = referral_of(demo_case("Inventova"), "health-screening")
    assert client.get(f"/inbox/{rejected.id}").status_code == 404
    assert demo_case("Inventova").number not in text_of(client.get("/inbox/?tab=closed"))
    assert case.number not in text_of(client.get("/inbox/?q=KZ-1999"))

    response = client.post(f"/inbox/{referral.id}/accept", data={"version": referral.version, "next": "/inbox/"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox/"
    assert fresh(referral).status.value == "accepted"
    page = text_of(client.get(f"/cases/{case.id}"))
    assert "Samplova" in page  # accepted: the full record opens


def test_a_stale_version_says_someone_changed_the_referral(client, demo, sign_in):
    referral = referral_of(demo_case("Samplova"), "health-screening")
    version = referral.version
    sign_in("health@demo.kz")
    assert client.post(f"/inbox/{referral.id}/accept", data={"version": version}).status_code == 302
    response = client.post(f"/inbox/{referral.id}/reject", data={"version": version, "reason": "Too late"})
    assert response.status_code == 409
    assert "Someone changed this referral" in text_of(response)
    assert fresh(referral).status.value == "accepted"


def test_reject_without_a_reason_is_refused_and_changes_nothing(client, demo, sign_in):
    referral = referral_of(demo_case("Samplova"), "health-screening")
    events = count(Event)
    sign_in("health@demo.kz")
    response = client.post(f"/inbox/{referral.id}/reject", data={"version": referral.version, "reason": "  "})
    assert response.status_code == 422
    assert "A reason is required" in text_of(response)
    assert fresh(referral).status.value == "requested" and count(Event) == events


def test_refer_through_a_route_form_and_consent_first_where_needed(client, demo, sign_in):
    sign_in("social@demo.kz")
    client.post("/cases/new", data=CHILD_FORM)
    case = db.session.scalar(sa.select(Case).where(Case.family_name == "Webformova"))
    page = text_of(client.get(f"/cases/{case.id}"))
    assert 'data-stage="health-screening"' in page and "consent-missing" in page

    response = client.post(f"/cases/{case.id}/referrals", data={
        "to_stage": "health-screening", "from_stage": "registration", "to_agency": "astana-childrens-clinic",
        "reason": "Check-up"})
    assert response.status_code == 422 and "consent" in text_of(response)
    assert referral_of(case, "health-screening") is None

    response = client.post(f"/cases/{case.id}/consents", data={
        "given_by": "Saule Webformova", "relationship_to_child": "mother", "agency_types": ["health", "justice"],
        "given_on": "2026-01-10", "expires_on": ""})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Consent.agency_types).where(Consent.case_id == case.id)) == [
        "health", "justice"]

    response = client.post(f"/cases/{case.id}/referrals", data={
        "to_stage": "health-screening", "from_stage": "registration", "to_agency": "astana-childrens-clinic",
        "reason": "Check-up"})
    assert response.status_code == 302
    assert referral_of(case, "health-screening").status.value == "requested"
    assert "Check-up" in text_of(client.get(f"/cases/{case.id}"))


def test_notification_centre_shows_the_acceptance_and_mark_read(client, demo, sign_in):
    case = demo_case("Samplova")
    referral = referral_of(case, "health-screening")
    sign_in("health@demo.kz")
    client.post(f"/inbox/{referral.id}/accept", data={"version": referral.version})

    sign_in("social@demo.kz")
    page = text_of(client.get("/notifications/"))
    assert f"Case {case.number}: Astana Children" in page and "accepted your referral" in page
    assert 'id="unread-count"' in page
    response = client.post("/notifications/read", data={})
    assert response.status_code == 302
    user_id = db.session.scalar(sa.text("SELECT id FROM users WHERE email = 'social@demo.kz'"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) == 0
    assert 'id="unread-count"' not in text_of(client.get("/notifications/"))


def test_staff_navigation_shows_the_inbox_with_a_count(client, demo, sign_in):
    sign_in("health@demo.kz")
    page = text_of(client.get("/"))
    waiting = db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.status == "requested", Referral.to_agency.has(code="astana-childrens-clinic")))
    assert waiting >= 1
    assert re.search(rf'href="/inbox/">Inbox <span class="badge[^"]*">{waiting}</span>', page)
    assert 'href="/cases/">Cases' in page and 'id="home-inbox"' in page


def test_the_demo_loader_runs_twice_without_duplicating(app, demo):
    cases, referrals = count(Case), count(Referral)
    assert cases >= 4
    statuses = set(db.session.scalars(sa.select(Referral.status)))
    assert {"requested", "in-progress", "rejected", "completed"} <= {s.value for s in statuses}
    closed = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.status == "closed"))
    assert closed == 4  # one of today's cases and three of the demo's history
    load_demo_data()
    db.session.commit()
    assert (count(Case), count(Referral)) == (cases, referrals)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.status == "closed")) == closed


def test_system_words_on_the_case_page_follow_the_readers_language(client, demo, sign_in):
    handed = db.session.scalar(sa.select(Referral).where(Referral.outcome == "handed over").limit(1))
    sign_in("admin@demo.kz")
    client.post("/language", data={"locale": "ru", "next": "/"})
    page = text_of(client.get(f"/cases/{handed.case_id}"))
    assert "→ Завершено)" in page and "(— → В работе)" in page
    assert "передано на следующий этап" in page
    assert "handed over" not in page and "in-progress →" not in page


def test_a_refused_action_keeps_what_the_user_typed(client, demo, sign_in):
    referral = referral_of(demo_case("Samplova"), "health-screening")
    sign_in("health@demo.kz")
    client.post(f"/inbox/{referral.id}/accept", data={"version": referral.version})
    stale = fresh(referral).version
    client.post(f"/inbox/{referral.id}/start", data={"version": stale})
    # Hold, naming the version before "start": refused, and the reason is still in the opened form.
    response = client.post(f"/inbox/{referral.id}/hold", data={"version": stale, "reason": "Waiting for lab results"})
    assert response.status_code == 409
    page = text_of(response)
    assert "Waiting for lab results</textarea>" in page and "<details class=\"action-details\" open>" in page
    assert fresh(referral).status.value == "in-progress"


def test_the_case_list_says_where_each_child_is_now_but_not_to_an_agency_only_asked(client, demo, sign_in):
    case = demo_case("Samplova")
    sign_in("social@demo.kz")
    row = re.search(rf"{case.number}.*?</tr>", text_of(client.get("/cases/")), re.S).group(0)
    assert "Registration and guardian identification" in row
    sign_in("justice@demo.kz")  # asked about the legal-status review, not yet accepted
    row = re.search(rf"{case.number}.*?</tr>", text_of(client.get("/cases/")), re.S).group(0)
    assert "Registration and guardian identification" not in row and "summary only" in row


def test_the_timeline_names_risk_changes_missed_deadlines_and_the_scheduler(client, demo, sign_in):
    case = demo_case("Samplova")
    actor = Actor.of(db.session.scalar(sa.select(User).where(User.email == "social@demo.kz")))
    cases_service.change_risk_level(case.id, "low", actor)
    db.session.commit()
    sweep(now=utcnow() + timedelta(days=30))
    sign_in("social@demo.kz")
    page = text_of(client.get(f"/cases/{case.id}"))
    assert "Risk level changed" in page and "The response deadline was missed" in page
    assert "the scheduler" in page and "deadline.missed" not in page and "case.risk_changed" not in page

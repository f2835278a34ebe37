"""Deadline pages and their neighbours: the dashboard, due phrases, preferences, calendar feed, webhooks, outbox."""

import hashlib
import re
from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.auth import service as accounts
from referral.auth.models import User
from referral.cases import service as cases
from referral.deadlines.models import Deadline
from referral.designer import service as designer
from referral.directory.models import Agency
from referral.extensions import db, utcnow
from referral.notifications.models import Delivery, DeliveryStatus
from referral.notifications.service import notify_users
from referral.referrals import service as referrals
from referral.web.timefmt import due_phrase

WORKFLOW = {
    "key": "clocks",
    "name": "Clocks",
    "stages": [
        {"key": "intake", "name": "Intake", "agency_type": "social", "start": True},
        {"key": "screening", "name": "Screening", "agency_type": "health", "respond_within": "PT24H",
         "reminders": ["PT4H"]},
        {"key": "legal", "name": "Legal", "agency_type": "justice", "respond_within": "PT48H"},
        {"key": "done", "name": "Done", "agency_type": "social", "terminal": True},
    ],
    "transitions": [
        {"from": "intake", "to": "screening"},
        {"from": "intake", "to": "legal", "mode": "parallel"},
        {"from": "screening", "to": "done"},
        {"from": "legal", "to": "done"},
    ],
}


@pytest.fixture
def world(app, make_agency, make_user):
    """Two cases referred to a clinic and to a prosecutor; the second case's clinic clock has run out."""
    system = Actor.system_actor("test")
    designer.save_draft(WORKFLOW, system)
    designer.publish("clocks", system)
    social = make_agency(type="social", region="KZ-71", code="social")
    health = make_agency(type="health", region="KZ-71", code="health", name="City Clinic")
    justice = make_agency(type="justice", region="KZ-71", code="justice", name="Prosecutor")
    users = {
        "social": make_user(agency=social), "health": make_user(agency=health),
        "supervisor": make_user(agency=health, role="supervisor"),
        "coordinator": make_user(agency=justice, role="coordinator"),
        "admin": make_user(agency=social, role="admin"),
    }
    found = []
    for given, family in (("Dana", "Clockova"), ("Arman", "Lateov")):
        child = cases.ChildData(given_name=given, family_name=family, sex="female", region="KZ-71",
                                estimated_age=11)
        case = cases.register_case("clocks", "high", child, Actor.of(users["social"]))
        db.session.commit()
        referrals.refer(case.id, "screening", "health", "Please see the child", Actor.of(users["social"]))
        db.session.commit()
        found.append(case)
    referrals.refer(found[0].id, "legal", "justice", "Status", Actor.of(users["social"]))
    db.session.commit()
    late = db.session.scalar(sa.select(Deadline).where(Deadline.case_id == found[1].id))
    late.due_at = utcnow() - timedelta(hours=5, minutes=10)
    db.session.commit()
    return found, users


def rows(html: str) -> list[str]:
    return re.findall(r'data-case="([^"]+)"', html)


def audit(action: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()


# -- the deadlines page ---------------------------------------------------------

def test_staff_may_not_open_the_deadlines_page(world, login_as, client):
    _, users = world
    login_as(users["health"])
    assert client.get("/deadlines/").status_code == 403
    assert 'href="/deadlines/"' not in client.get("/").get_data(as_text=True)


def test_a_supervisor_sees_the_agencys_deadlines_overdue_first(world, login_as, client):
    (first, second), users = world
    login_as(users["supervisor"])
    response = client.get("/deadlines/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/deadlines/"' in html
    assert rows(html) == [second.number, first.number]  # only the clinic's clocks; the late one on top
    assert "overdue by 5 hours" in html and "due in 1 day" in html
    assert f'href="/cases/{second.id}"' in html and "Screening" in html and "City Clinic" in html
    assert "Dana" not in html and "Clockova" not in html


def test_filters_narrow_the_list(world, login_as, client):
    (first, second), users = world
    login_as(users["coordinator"])
    assert rows(client.get("/deadlines/").get_data(as_text=True)) == [second.number, first.number, first.number]
    assert rows(client.get("/deadlines/?agency=justice").get_data(as_text=True)) == [first.number]
    assert rows(client.get("/deadlines/?overdue=1").get_data(as_text=True)) == [second.number]
    assert rows(client.get("/deadlines/?region=KZ-75").get_data(as_text=True)) == []
    assert rows(client.get("/deadlines/?region=KZ-71&kind=respond").get_data(as_text=True)) == \
        [second.number, first.number, first.number]
    assert rows(client.get("/deadlines/?kind=review").get_data(as_text=True)) == []
    referral = db.session.scalar(sa.select(Deadline).where(Deadline.case_id == second.id)).referral
    referrals.act(referral.id, "accept", referral.version, Actor.of(world[1]["health"]))
    db.session.commit()
    assert second.number not in rows(client.get("/deadlines/").get_data(as_text=True))
    assert second.number in rows(client.get("/deadlines/?status=met").get_data(as_text=True))
    assert second.number in rows(client.get("/deadlines/?status=all").get_data(as_text=True))


def test_region_filter_offers_region_names_in_the_readers_language(world, login_as, client):
    _, users = world
    login_as(users["supervisor"])
    client.post("/language", data={"locale": "ru", "next": "/"})
    assert "Алматы" in client.get("/deadlines/").get_data(as_text=True)


# -- due phrases ----------------------------------------------------------------

@pytest.mark.parametrize(("offset", "phrase"), [
    (timedelta(days=2, hours=1), "due in 2 days"),
    (timedelta(hours=3), "due in 3 hours"),
    (timedelta(minutes=1), "due in 1 minute"),
    (timedelta(hours=23, minutes=50), "due in 1 day"),
    (-timedelta(hours=5, minutes=10), "overdue by 5 hours"),
    (-timedelta(days=1), "overdue by 1 day"),
    (-timedelta(days=3, hours=2), "overdue by 3 days"),
    (-timedelta(minutes=40), "overdue by 40 minutes"),
])
def test_due_phrase_says_how_far_ahead_or_behind(app, offset, phrase):
    now = utcnow()
    with app.test_request_context(), force_locale("en"):
        assert due_phrase(now + offset, now=now) == phrase
        assert due_phrase(None) == ""


def test_inbox_rows_and_the_case_page_say_when_a_referral_is_due(world, login_as, client):
    (first, second), users = world
    login_as(users["health"])
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "due in 1 day" in inbox and "overdue by" not in inbox  # the moved clock is on the deadline row only
    client.post("/logout")
    login_as(users["social"])
    page = client.get(f"/cases/{first.id}").get_data(as_text=True)
    assert "due in 1 day" in page and "due in 2 days" in page


# -- notification preferences ---------------------------------------------------

def test_preferences_are_saved_audited_and_respected(world, app, login_as, client):
    _, users = world
    login_as(users["health"])
    page = client.get("/profile").get_data(as_text=True)
    assert 'name="wants_email"' in page and 'name="wants_digest"' in page
    response = client.post("/profile/preferences", data={"wants_digest": "y"})
    assert response.status_code == 302
    user = db.session.get(User, users["health"].id)
    db.session.refresh(user)
    assert user.wants_email is False and user.wants_digest is True
    [entry] = audit("user.preferences")
    assert entry.object_id == str(user.id) and entry.detail["changed"] == ["wants_email"]

    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:2525"
    notify_users([user.id, users["supervisor"].id], "case.closed", {"case": "KZ-2026-000009"})
    db.session.commit()
    emails = db.session.scalars(sa.select(Delivery).where(Delivery.channel == "email")).all()
    assert [delivery.user_id for delivery in emails] == [users["supervisor"].id]


def test_preferences_need_the_csrf_token(make_app, make_agency):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        agency = make_agency()
        accounts.create_user(accounts.UserData(email="csrf@example.org", name="C", agency_code=agency.code,
                                               role="staff", password="correct horse battery"),
                             Actor.system_actor("test"))
        db.session.commit()
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": "csrf@example.org", "password": "correct horse battery",
                                "csrf_token": token})
    assert client.post("/profile/preferences", data={}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(User.wants_email).where(User.email == "csrf@example.org")) is True


# -- the calendar feed ----------------------------------------------------------

def feed_path(html: str) -> str:
    url = re.search(r'id="calendar-url">([^<]+)<', html).group(1)
    assert url.startswith("http://127.0.0.1:5000/calendar/") and url.endswith(".ics")
    return url.removeprefix("http://127.0.0.1:5000")


def test_calendar_feed_lists_open_deadlines_without_the_childs_name(world, login_as, client, app):
    (first, second), users = world
    login_as(users["health"])
    path = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    user = db.session.get(User, users["health"].id)
    db.session.refresh(user)
    assert user.calendar_token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert len(audit("calendar.create")) == 1
    assert secret not in client.get("/profile").get_data(as_text=True)

    client.post("/logout")
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    for name in ("Dana", "Clockova", "Arman", "Lateov"):
        assert name not in text
    calendar = icalendar.Calendar.from_ical(response.data)
    events = {event.get("summary"): event for event in calendar.walk("VEVENT")}
    assert len(events) == 2  # the clinic's two clocks; the prosecutor's is another agency's
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.case_id == first.id,
                                                           Deadline.agency_id == users["health"].agency_id))
    event = next(event for summary, event in events.items() if first.number in summary)
    assert "Screening" in event["summary"] and "response" in event["summary"]
    assert event.decoded("dtstart") == deadline.due_at.replace(microsecond=0)
    assert str(event["url"]) == f"http://127.0.0.1:5000/cases/{first.id}"
    assert str(event["uid"]) == f"deadline-{deadline.id}@127.0.0.1"
    fetches = audit("calendar.fetch")
    assert len(fetches) == 1 and fetches[0].detail["events"] == 2


def test_a_revoked_or_replaced_feed_url_is_not_found(world, login_as, client):
    _, users = world
    login_as(users["health"])
    old = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    assert client.get(old).status_code == 200
    client.post("/profile/calendar/revoke")
    assert client.get(old).status_code == 404
    assert len(audit("calendar.revoke")) == 1
    new = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    assert client.get(new).status_code == 200
    again = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    assert client.get(new).status_code == 404 and client.get(again).status_code == 200
    assert client.get("/calendar/not-a-secret.ics").status_code == 404


def test_a_deactivated_users_feed_stops(world, login_as, client):
    _, users = world
    login_as(users["health"])
    path = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    user = db.session.get(User, users["health"].id)
    user.is_active_account = False
    db.session.commit()
    assert client.get(path).status_code == 404


# -- webhooks on the agency form ------------------------------------------------

def agency_form(agency: Agency, **changes) -> dict:
    return {"code": agency.code, "name": agency.name, "type": agency.type.value, "region": agency.region,
            "is_active": "y", **changes}


def test_an_admin_sets_the_webhook_and_the_secret_never_comes_back(world, login_as, client):
    _, users = world
    health = db.session.scalar(sa.select(Agency).where(Agency.code == "health"))
    login_as(users["admin"])
    response = client.post(f"/agencies/{health.id}/edit", data=agency_form(
        health, webhook_url="https://93.184.215.14/referrals", rotate_webhook_secret="y"))
    assert response.status_code == 200  # the page that shows the new secret, once
    db.session.refresh(health)
    secret = health.webhook_secret
    assert health.webhook_url == "https://93.184.215.14/referrals"
    assert secret.startswith("whsec_") and secret in response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
    entries = audit("agency.update") + audit("agency.webhook_secret_rotated")
    assert entries and all(secret not in str(entry.detail) for entry in entries)

    page = client.get(f"/agencies/{health.id}/edit").get_data(as_text=True)
    assert secret not in page and "https://93.184.215.14/referrals" in page
    assert re.search(r'id="webhook-secret-state">.*?>set<', page, re.S)

    client.post(f"/agencies/{health.id}/edit", data=agency_form(
        health, webhook_url="https://93.184.215.14/referrals", webhook_secret="typed-by-hand"))
    db.session.refresh(health)
    assert health.webhook_secret == secret  # a plain save keeps it; a typed one is not taken

    client.post(f"/agencies/{health.id}/edit", data=agency_form(
        health, webhook_url="https://93.184.215.14/referrals", clear_webhook_secret="y"))
    db.session.refresh(health)
    assert health.webhook_secret is None
    assert re.search(r'id="webhook-secret-state">.*?>not set<',
                     client.get(f"/agencies/{health.id}/edit").get_data(as_text=True), re.S)


@pytest.mark.parametrize("url", ["ftp://hooks.example.org/x", "javascript:alert(1)", "https://"])
def test_only_http_and_https_webhooks_are_accepted(world, login_as, client, url):
    _, users = world
    health = db.session.scalar(sa.select(Agency).where(Agency.code == "health"))
    login_as(users["admin"])
    response = client.post(f"/agencies/{health.id}/edit", data=agency_form(health, webhook_url=url))
    assert response.status_code == 422
    db.session.refresh(health)
    assert health.webhook_url is None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8080/", "http://[::1]/", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/", "http://0x7f000001/", "http://192.168.1.5/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://100.64.0.1/",
])
def test_webhooks_to_this_networks_own_hosts_are_refused_at_save(world, login_as, client, url):
    _, users = world
    health = db.session.scalar(sa.select(Agency).where(Agency.code == "health"))
    login_as(users["admin"])
    response = client.post(f"/agencies/{health.id}/edit", data=agency_form(health, webhook_url=url))
    assert response.status_code == 422
    assert "only go to public internet addresses" in response.get_data(as_text=True)
    db.session.refresh(health)
    assert health.webhook_url is None


def test_a_webhook_host_that_does_not_resolve_is_refused(world, login_as, client):
    _, users = world
    health = db.session.scalar(sa.select(Agency).where(Agency.code == "health"))
    login_as(users["admin"])
    response = client.post(f"/agencies/{health.id}/edit",
                           data=agency_form(health, webhook_url="https://no-such-host.invalid/hook"))
    assert response.status_code == 422
    assert "The host of this address cannot be found." in response.get_data(as_text=True)
    db.session.refresh(health)
    assert health.webhook_url is None


def test_private_webhooks_are_allowed_on_closed_networks(make_app, make_agency, make_user):
    app = make_app(REFERRAL_WEBHOOK_ALLOW_PRIVATE=True)
    with app.app_context():
        from referral.directory import service as directory
        assert directory.webhook_target_error("http://10.1.2.3/hook") is None
        assert directory.webhook_target_error("http://no-such-host.invalid/") is not None


# -- failed deliveries ----------------------------------------------------------

def test_failed_deliveries_are_listed_and_retried(world, login_as, client):
    _, users = world
    health = db.session.scalar(sa.select(Agency).where(Agency.code == "health"))
    now = utcnow()
    failed = Delivery(channel="webhook", status=DeliveryStatus.failed, agency_id=health.id, attempts=6,
                      payload={"event": "referral.requested", "case_number": "KZ-2026-000042"},
                      last_error="HTTP 500", next_attempt_at=now)
    retrying = Delivery(channel="email", status=DeliveryStatus.pending, user_id=users["health"].id, attempts=2,
                        payload={"to": users["health"].email, "subject": "Secret subject line",
                                 "body": "Body text of the message"},
                        last_error="SMTP: connection refused", next_attempt_at=now)
    sent = Delivery(channel="webhook", status=DeliveryStatus.sent, agency_id=health.id, attempts=1,
                    payload={"event": "referral.accepted"}, next_attempt_at=now)
    db.session.add_all([failed, retrying, sent])
    db.session.commit()

    login_as(users["health"])
    assert client.get("/admin/deliveries/").status_code == 403
    client.post("/logout")
    login_as(users["admin"])
    html = client.get("/admin/deliveries/").get_data(as_text=True)
    assert 'href="/admin/deliveries/"' in html
    assert re.findall(r'data-delivery="(\d+)"', html) == [str(failed.id), str(retrying.id)]
    assert "HTTP 500" in html and "referral.requested" in html and "KZ-2026-000042" in html
    assert "City Clinic" in html and "SMTP: connection refused" in html
    assert "Body text of the message" not in html and "Secret subject line" not in html

    response = client.post(f"/admin/deliveries/{failed.id}/retry")
    assert response.status_code == 302
    db.session.refresh(failed)
    assert failed.status is DeliveryStatus.pending and failed.attempts == 0
    assert len(audit("delivery.retry")) == 1
    assert client.post(f"/admin/deliveries/{sent.id}/retry").status_code == 404


def test_calendar_feed_alarms_at_the_workflows_reminders_and_says_how_often_to_refresh(world, login_as, client):
    """RFC 7986 NAME and REFRESH-INTERVAL; one VALARM per reminder, at the time the scheduler reminds."""
    (first, _), users = world
    login_as(users["health"])
    path = feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))
    calendar = icalendar.Calendar.from_ical(client.get(path).data)
    assert str(calendar["name"]).startswith("Deadlines of")
    assert calendar["name"] == calendar["x-wr-calname"]
    assert calendar.decoded("refresh-interval") == timedelta(hours=1)
    assert calendar["refresh-interval"].params["VALUE"] == "DURATION"
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.case_id == first.id,
                                                           Deadline.agency_id == users["health"].agency_id))
    assert len(deadline.remind_at) == 1  # the screening stage reminds PT4H before the response is due
    event = next(e for e in calendar.walk("VEVENT") if str(e["uid"]) == f"deadline-{deadline.id}@127.0.0.1")
    alarms = event.walk("VALARM")
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm["action"] == "DISPLAY"
    assert alarm.decoded("trigger") == deadline.due_at.replace(microsecond=0) - timedelta(hours=4)
    assert first.number in str(alarm["description"])
    # The prosecutor's stage sets no reminder: its deadline has no alarm.
    client.post("/logout")
    login_as(users["coordinator"])
    justice = icalendar.Calendar.from_ical(
        client.get(feed_path(client.post("/profile/calendar", follow_redirects=True).get_data(as_text=True))).data)
    assert [e.walk("VALARM") for e in justice.walk("VEVENT")] == [[]]

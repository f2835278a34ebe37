"""The oversight report against a hand-built history: every column, each role's scope, no names, the audit."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cases.models import Case
from referral.designer import service as designer
from referral.directory.models import Agency
from referral.extensions import db, utcnow
from referral.referrals.models import Referral
from referral.reports import tallies
from tests.appfixtures import PG_URL, demo_actor
from workflows.lifecycle import ReferralStatus

#: Last year's March, so that every deadline of the history is past whatever day the tests run.
YEAR = date.today().year - 1
FROM, TO = f"{YEAR}-03-01", f"{YEAR}-03-31"
URL = f"/api/v1/reports/referrals?from={FROM}&to={TO}"


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a moment of the history's year in UTC (Asia/Almaty is five hours ahead)."""
    return datetime(YEAR, month, day, hour, minute, tzinfo=UTC)


def agency(code: str) -> int:
    return db.session.scalar(sa.select(Agency.id).where(Agency.code == code))


def make_case(number: str, region: str, registered_by: str, created: datetime, closed: datetime | None):
    version = designer.latest_version("returned-child")
    case = Case(number=number, workflow_version_id=version.id, given_name="Aigerim", family_name="Secretova",
                sex="female", region=region, risk_level="medium", estimated_age=9, languages=[],
                registered_by_agency_id=agency(registered_by), created_at=created, updated_at=created)
    db.session.add(case)
    db.session.flush()
    make_referral(case, None, "registration", registered_by, created, responded=created, closed=closed,
                  status="completed" if closed else "in-progress")
    return case


def make_referral(case, from_stage, to_stage, to_agency, created, *, status, responded=None, closed=None,
                  reason=None, respond_by=None, complete_by=None):
    sender = None if from_stage is None else case.registered_by_agency_id
    referral = Referral(case_id=case.id, from_stage=from_stage, to_stage=to_stage, from_agency_id=sender,
                        to_agency_id=agency(to_agency), status=ReferralStatus(status), status_reason=reason,
                        created_at=created, responded_at=responded, closed_at=closed, respond_by=respond_by,
                        complete_by=complete_by,
                        outcome="done" if status == "completed" else None)
    db.session.add(referral)
    db.session.flush()
    return referral


#: How the reports count: from the referrals; on PostgreSQL also from tallies the triggers kept while the history
#: was written, and from tallies built over the history once written.
COUNTINGS = ["referrals"] + (["tallies followed", "tallies built"] if PG_URL else [])


@pytest.fixture(params=COUNTINGS)
def history(demo, request):
    """Three cases with referrals in the history's March, and some just outside it (local dates)."""
    if request.param == "tallies followed":
        assert tallies.build()
        db.session.commit()
    a = make_case(f"KZ-{YEAR}-900001", "KZ-71", "astana-family-support", at(3, 2, 10), closed=at(3, 2, 14))
    make_referral(a, "registration", "health-screening", "astana-childrens-clinic", at(3, 2, 12),
                  status="completed", responded=at(3, 2, 14), closed=at(3, 6, 12))
    make_referral(a, "registration", "legal-status-review", "astana-juvenile-prosecutor", at(3, 3),
                  status="rejected", responded=at(3, 3, 10), closed=at(3, 3, 10), reason="Not ours")
    b = make_case(f"KZ-{YEAR}-900002", "KZ-75", "almaty-rehab-centre", at(3, 10), closed=at(3, 10, 12))
    make_referral(b, "registration", "health-screening", "almaty-city-hospital", at(3, 10, 6),
                  status="requested", respond_by=at(3, 11, 6))
    make_referral(b, "registration", "initial-assessment", "astana-childrens-clinic", at(3, 12),
                  status="cancelled", closed=at(3, 15), reason="no-response")
    # 19:00 UTC on the last day of February is midnight of 1 March in Astana: inside the period.
    c = make_case(f"KZ-{YEAR}-900003", "KZ-71", "astana-family-support", at(2, 28, 19), closed=at(3, 1, 19))
    make_referral(c, "registration", "health-screening", "astana-childrens-clinic", at(3, 31, 18, 30),
                  status="accepted", responded=at(4, 1, 0, 30), complete_by=at(4, 5))
    # 19:00 UTC on 31 March is 1 April in Astana, and 18:59 UTC on 28 February is still February: outside.
    make_referral(c, "registration", "legal-status-review", "astana-juvenile-prosecutor", at(3, 31, 19),
                  status="requested", respond_by=at(4, 2))
    make_case(f"KZ-{YEAR}-900004", "KZ-71", "astana-family-support", at(2, 28, 18, 59), closed=None)
    db.session.commit()
    if request.param == "tallies built":
        assert tallies.build()
        db.session.commit()
    assert tallies.is_current() == (request.param != "referrals")
    db.session.rollback()
    return {"a": a, "b": b, "c": c}


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def report(api, email: str, url: str = URL) -> dict:
    response = api(email, "GET", url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_each_agency_column_counts_what_the_receiver_did(api, history):
    body = report(api, "admin@demo.kz")
    assert (body["from"], body["to"]) == (FROM, TO)
    agencies = by(body["agencies"], "agency")
    # Registration referrals are sent by no one: the registering agencies received nothing.
    assert set(agencies) == {"astana-childrens-clinic", "astana-juvenile-prosecutor", "almaty-city-hospital"}
    assert agencies["astana-childrens-clinic"] == {
        "agency": "astana-childrens-clinic", "received": 3, "accepted": 2, "rejected": 0,
        "cancelled_no_response": 1, "completed": 1, "failed": 0,
        # Answered after 2 and 6 hours: the median between them, p90 interpolated as percentile_cont does.
        "respond_median_hours": 4.0, "respond_p90_hours": 5.6, "overdue_now": 1}
    assert agencies["astana-juvenile-prosecutor"] == {
        "agency": "astana-juvenile-prosecutor", "received": 1, "accepted": 0, "rejected": 1,
        "cancelled_no_response": 0, "completed": 0, "failed": 0, "respond_median_hours": 10.0,
        "respond_p90_hours": 10.0, "overdue_now": 0}
    assert agencies["almaty-city-hospital"] == {
        "agency": "almaty-city-hospital", "received": 1, "accepted": 0, "rejected": 0, "cancelled_no_response": 0,
        "completed": 0, "failed": 0, "respond_median_hours": None, "respond_p90_hours": None, "overdue_now": 1}


def test_each_stage_column_counts_the_stage_with_the_registration(api, history):
    body = report(api, "admin@demo.kz")
    stages = by(body["stages"], "stage")
    assert set(stages) == {"registration", "health-screening", "legal-status-review", "initial-assessment"}
    # Registrations held their stage 4 hours, 12 hours and one day.
    assert stages["registration"] == {"stage": "registration", "entered": 3, "active_now": 0,
                                      "median_days_in_stage": 0.5, "overdue_now": 0}
    screening = stages["health-screening"]
    assert (screening["entered"], screening["active_now"], screening["overdue_now"]) == (3, 1, 2)
    # 4 days (completed), and two still there until now: the median is the later of the open two.
    still_there = (utcnow() - at(3, 31, 18, 30)).total_seconds() / 86400
    assert abs(screening["median_days_in_stage"] - still_there) <= 0.06
    # A rejected referral and one cancelled unanswered never held their stage.
    assert stages["legal-status-review"] == {"stage": "legal-status-review", "entered": 1, "active_now": 0,
                                             "median_days_in_stage": None, "overdue_now": 0}
    assert stages["initial-assessment"]["entered"] == 1
    assert stages["initial-assessment"]["median_days_in_stage"] is None


def test_routes_months_and_totals(api, history):
    body = report(api, "admin@demo.kz")
    assert body["flows"] == [
        {"from_stage": "registration", "to_stage": "health-screening", "count": 3},
        {"from_stage": "registration", "to_stage": "initial-assessment", "count": 1},
        {"from_stage": "registration", "to_stage": "legal-status-review", "count": 1},
    ]
    assert body["months"] == [{"month": f"{YEAR}-03", "registered": 3, "referred": 5}]
    assert body["totals"] == {"referrals": 8, "cases": 3, "received": 5, "accepted": 2, "rejected": 1,
                              "cancelled_no_response": 1, "completed": 1, "failed": 0,
                              "respond_median_hours": 6.0, "respond_p90_hours": 9.2, "overdue_now": 2,
                              "active_now": 1}


def test_months_cover_the_period_in_local_time_with_empty_months(api, history):
    body = report(api, "admin@demo.kz", f"/api/v1/reports/referrals?from={YEAR}-02-01&to={YEAR}-04-30")
    assert body["months"] == [{"month": f"{YEAR}-02", "registered": 1, "referred": 0},
                              {"month": f"{YEAR}-03", "registered": 3, "referred": 5},
                              {"month": f"{YEAR}-04", "registered": 0, "referred": 1}]


def test_a_supervisor_sees_their_agency_and_what_it_sent_or_received(api, history):
    body = report(api, "health.supervisor@demo.kz")
    assert [row["agency"] for row in body["agencies"]] == ["astana-childrens-clinic"]
    assert body["flows"] == [{"from_stage": "registration", "to_stage": "health-screening", "count": 2},
                             {"from_stage": "registration", "to_stage": "initial-assessment", "count": 1}]
    assert {row["stage"]: row["entered"] for row in body["stages"]} == {"health-screening": 2,
                                                                       "initial-assessment": 1}
    assert body["totals"]["referrals"] == 3


def test_a_supervisor_of_the_sender_sees_no_other_agency_row(api, history):
    body = report(api, "supervisor@demo.kz")
    # The family support centre registered and sent, but received nothing from anyone.
    assert body["agencies"] == []
    assert body["totals"]["referrals"] == 5
    assert body["totals"]["received"] == 3


def test_a_coordinator_sees_the_cases_of_their_region(api, history):
    body = report(api, "coordinator.almaty@demo.kz")
    agencies = by(body["agencies"], "agency")
    assert set(agencies) == {"almaty-city-hospital", "astana-childrens-clinic"}
    assert agencies["astana-childrens-clinic"]["received"] == 1
    assert agencies["astana-childrens-clinic"]["cancelled_no_response"] == 1
    assert body["totals"]["cases"] == 1
    # Another region's filter finds nothing inside the coordinator's own.
    other = report(api, "coordinator.almaty@demo.kz", URL + "&region=KZ-71")
    assert other["totals"]["referrals"] == 0 and other["agencies"] == []


def test_an_admin_narrows_by_region_and_by_agency(api, history):
    astana = report(api, "admin@demo.kz", URL + "&region=KZ-71")
    assert astana["totals"]["cases"] == 2
    assert astana["region"] == "KZ-71"
    clinic = report(api, "admin@demo.kz", URL + "&agency=astana-childrens-clinic")
    assert [row["agency"] for row in clinic["agencies"]] == ["astana-childrens-clinic"]
    assert clinic["totals"]["referrals"] == 3


def test_staff_are_refused(api, history):
    response = api("social@demo.kz", "GET", URL)
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "report.read")) == 0


def test_the_answer_holds_no_case_number_and_no_name(api, history):
    for email in ("admin@demo.kz", "coordinator.almaty@demo.kz", "health.supervisor@demo.kz"):
        text = api(email, "GET", URL).get_data(as_text=True)
        for case in history.values():
            assert case.number not in text
        assert "Aigerim" not in text and "Secretova" not in text


def test_every_read_is_audited_with_its_period_and_filters(api, history):
    report(api, "coordinator@demo.kz", URL + "&agency=astana-childrens-clinic")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "report.read"))
    assert entry.actor_label == "coordinator@demo.kz"
    assert entry.detail == {"from": FROM, "to": TO, "region": None, "agency": "astana-childrens-clinic"}


@pytest.mark.parametrize(("query", "field", "code"), [
    ("from=2026-13-01&to=2026-12-31", "from", None),
    ("from=2026-01-01", "to", None),
    ("from=2026-03-01&to=2026-02-01", "to", "period_reversed"),
    ("from=1990-01-01&to=2026-02-01", "from", "date_out_of_range"),
    ("from=2001-01-01&to=2026-02-01", "to", "period_too_long"),
    ("from=2026-01-01&to=2026-02-01&region=KZ-00", "region", "unknown_region"),
    ("from=2026-01-01&to=2026-02-01&agency=nobody", "agency", "unknown_agency"),
])
def test_a_bad_period_or_filter_is_a_clear_422_that_changes_nothing(api, history, query, field, code):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    response = api("admin@demo.kz", "GET", f"/api/v1/reports/referrals?{query}")
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"][field][0]
    if code is not None:
        assert [problem["code"] for problem in body["problems"]] == [code]
    db.session.rollback()
    # A token's first use is noted; no report was read.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "report.read")) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) >= before


def test_a_reversed_period_names_both_dates(api, history):
    message = api("admin@demo.kz", "GET", "/api/v1/reports/referrals?from=2026-03-01&to=2026-02-01").get_json()
    assert "2026-02-01" in message["message"] and "2026-03-01" in message["message"]


def test_the_report_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/reports/referrals"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"from", "to", "region", "agency"}
    assert "200" in operation["responses"] and "422" in operation["responses"]


def test_the_service_refuses_staff_whichever_door(app, history):
    from referral.errors import Forbidden
    from referral.reports.service import referral_report

    with pytest.raises(Forbidden):
        referral_report(demo_actor("social@demo.kz"), date(YEAR, 3, 1), date(YEAR, 3, 31))
    assert referral_report(demo_actor("admin@demo.kz"), date(YEAR, 3, 1),
                           date(YEAR, 3, 31)).totals["referrals"] == 8

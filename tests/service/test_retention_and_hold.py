"""Data that does not outlive its purpose (DESIGN §13): a closed case's personal data are erased after the
workflow's retention period (default P5Y) unless a legal hold keeps them; the numbers stay for statistics."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.cases import retention
from referral.cases.models import Case, CaseNote, Event, Interview
from referral.cli import cli
from referral.extensions import db
from referral.referrals.models import ReferralMessage
from tests.appfixtures import demo_actor

CLI = Actor.system_actor("test")


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


@pytest.fixture
def closed(demo):
    """The demo's closed case, with a note of the agency that closed it."""
    case = demo_case("Madeupov")
    author = demo_actor("shymkent@demo.kz").user
    # Written while it was open (a closed case takes no new notes).
    db.session.add(CaseNote(case_id=case.id, agency_id=author.agency_id, author_user_id=author.id,
                            author_name=author.name, text="Met the grandmother at home; she asked about school.",
                            shared=True))
    db.session.commit()
    return case


def in_years(years: int, days: int = 0) -> date:
    today = date.today()
    return today.replace(year=today.year + years) + timedelta(days=days)


def test_nothing_is_erased_before_the_period_ends(closed):
    result = retention.run_retention(in_years(5, -2), CLI)
    assert result.erased == []
    assert retention.retention_ends(closed) == in_years(5)


def test_a_dry_run_lists_and_changes_nothing(closed, runner):
    result = runner.invoke(cli, ["retention", "run", "--dry-run", "--as-of", in_years(6).isoformat()])
    assert result.exit_code == 0, result.output
    assert f"would erase\t{closed.number}" in result.output
    db.session.expire_all()
    case = db.session.get(Case, closed.id)
    assert case.erased_at is None and case.family_name == "Madeupov (demo)"
    assert not db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.erase"))


def test_erasure_keeps_the_numbers_and_drops_the_person(closed, runner):
    referrals = [(r.to_stage, r.status, r.created_at) for r in closed.referrals]
    result = runner.invoke(cli, ["retention", "run", "--as-of", in_years(6).isoformat()])
    assert result.exit_code == 0, result.output
    assert f"erased\t{closed.number}" in result.output
    db.session.expire_all()
    case = db.session.get(Case, closed.id)
    assert case.erased_at is not None
    assert "Madeupov" not in case.family_name and "Ruslan" not in case.given_name
    assert case.patronymic is None and case.birth_date is None and case.guardians == []
    assert case.estimated_age == 15  # not a birth date: kept for statistics, as the stages and dates are
    assert [(r.to_stage, r.status, r.created_at) for r in case.referrals] == referrals
    assert all("grandmother" not in note.text for note in db.session.scalars(
        sa.select(CaseNote).where(CaseNote.case_id == case.id)))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "case.erase"))
    assert entry.object_id == str(case.id) and entry.detail["notes"] == 1
    assert "Madeupov" not in str(entry.detail)
    assert db.session.scalar(sa.select(Event).where(Event.case_id == case.id, Event.kind == "case.erased"))
    # A name search no longer finds the child; a second run erases nothing more.
    assert retention.run_retention(in_years(6), CLI).erased == []


def test_interview_findings_and_messages_are_erased_and_the_birth_year_kept(api, demo):
    busy = demo_case("Fictionov")
    referral = busy.referrals[0]
    assert api("social@demo.kz", "POST", f"/api/v1/referrals/{referral.id}/messages",
               json={"text": "Daniyar's uncle will bring him."}).status_code == 201
    busy.status = busy.status.closed
    busy.closed_at = busy.created_at
    db.session.commit()
    assert busy.number in [number for number, _ in retention.run_retention(in_years(6), CLI).erased]
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, busy.id)
    assert case.birth_date is None and case.birth_year == 2013
    assert {i.summary for i in db.session.scalars(sa.select(Interview).where(Interview.case_id == case.id))} \
        == {retention.ERASED}
    assert {m.text for m in db.session.scalars(sa.select(ReferralMessage))} == {retention.ERASED}
    assert all(consent.given_by == retention.ERASED for consent in case.consents)


def test_a_legal_hold_keeps_the_data_until_it_is_lifted(closed, api):
    url = f"/api/v1/cases/{closed.id}/hold"
    # Staff of an agency that sees the case may not, nor a coordinator of another region whose agency held it;
    # an agency that never had the case does not see it.
    assert api("shymkent@demo.kz", "POST", url, json={"reason": "Court"}).status_code == 403
    assert api("coordinator.almaty@demo.kz", "POST", url, json={"reason": "Court"}).status_code == 403
    assert api("school@demo.kz", "POST", url, json={"reason": "Court"}).status_code == 404
    assert api("admin@demo.kz", "POST", url, json={"reason": " "}).status_code == 422

    placed = api("admin@demo.kz", "POST", url, json={"reason": "Shymkent court, case 2-145/2027"})
    assert placed.status_code == 200, placed.json
    assert placed.json["legal_hold"] == "Shymkent court, case 2-145/2027"
    result = retention.run_retention(in_years(6), CLI)
    # The demo's history closed other cases three months ago: they go; the one under hold stays.
    assert closed.number not in [number for number, _ in result.erased] and result.held == [closed.number]
    db.session.commit()

    lifted = api("admin@demo.kz", "DELETE", url)
    assert lifted.status_code == 200 and lifted.json["legal_hold"] is None
    assert api("admin@demo.kz", "DELETE", url).status_code == 200  # nothing to lift is no error
    assert [number for number, _ in retention.run_retention(in_years(6), CLI).erased] == [closed.number]
    db.session.commit()
    erased = api("admin@demo.kz", "GET", f"/api/v1/cases/{closed.id}").json
    assert erased["erased_at"] and erased["legal_hold"] is None
    assert api("admin@demo.kz", "POST", url, json={"reason": "Too late"}).status_code == 409
    actions = [e.action for e in db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_id == str(closed.id), AuditEntry.action.like("case.%hold%")))]
    assert actions == ["case.hold", "case.hold_lift"]


def test_a_workflow_may_say_its_own_retention(app, make_agency, make_user):
    from referral.cases import service as cases
    from referral.designer import service as designer
    from referral.referrals import service as referrals

    designer.save_draft({"key": "short", "name": "Short", "retention": "P30D", "stages": [
        {"key": "intake", "name": "Intake", "agency_type": "social", "start": True},
        {"key": "done", "name": "Done", "agency_type": "social", "terminal": True}],
        "transitions": [{"from": "intake", "to": "done"}]}, CLI)
    designer.publish("short", CLI)
    social = make_agency(type="social")
    worker = Actor.of(make_user(agency=social))
    case = cases.register_case("short", "low", cases.ChildData(
        given_name="Aru", family_name="Testova", sex="female", region="KZ-71", estimated_age=7), worker)
    last = referrals.refer(case.id, "done", social.code, "Done", worker)
    referrals.act(last.id, "accept", last.version, worker)
    referrals.act(last.id, "complete", last.version, worker, outcome="Home")
    db.session.commit()
    assert case.status.value == "closed"
    assert retention.retention_ends(case) == date.today() + timedelta(days=30)
    assert retention.run_retention(date.today() + timedelta(days=29), CLI).erased == []
    assert [n for n, _ in retention.run_retention(date.today() + timedelta(days=30), CLI).erased] == [case.number]


def test_the_scheduler_runs_it_daily(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from referral.scheduler.jobs import add_jobs

    jobs = {job.id: job for job in add_jobs(BackgroundScheduler(), app, 60).get_jobs()}
    assert "retention" in jobs and "cron" in str(jobs["retention"].trigger)


def test_the_case_page_offers_the_hold_to_its_coordinator_in_russian(client, sign_in, closed):
    sign_in("admin@demo.kz", locale="ru")
    page = client.get(f"/cases/{closed.id}").get_data(as_text=True)
    assert 'id="hold-form"' in page
    refused = client.post(f"/cases/{closed.id}/hold", data={"reason": ""})
    assert refused.status_code == 422
    assert client.post(f"/cases/{closed.id}/hold", data={"reason": "Суд"}).status_code == 302
    page = client.get(f"/cases/{closed.id}").get_data(as_text=True)
    assert "Суд" in page and 'id="lift-hold-form"' in page
    sign_in("shymkent@demo.kz")
    page = client.get(f"/cases/{closed.id}").get_data(as_text=True)
    assert 'id="hold-form"' not in page and 'id="lift-hold-form"' not in page and "Суд" in page


def test_the_case_page_says_when_the_data_will_be_erased(closed, client, sign_in, api):
    sign_in("shymkent@demo.kz")  # staff of the agency that closed it: no hold to place, the date all the same
    page = client.get(f"/cases/{closed.id}").get_data(as_text=True)
    ends = retention.retention_ends(closed)
    assert 'id="retention-ends"' in page and str(ends.year) in page
    assert api("admin@demo.kz", "POST", f"/api/v1/cases/{closed.id}/hold", json={"reason": "Court"}).status_code \
        == 200
    db.session.commit()
    page = client.get(f"/cases/{closed.id}").get_data(as_text=True)
    assert 'id="retention-ends"' not in page  # kept under the hold instead
    assert "until the hold is lifted" in page

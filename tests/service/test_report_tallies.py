"""The report tallies on PostgreSQL: the triggers follow every write as a fresh count would, folding and building
twice at once count nothing twice, tallies in another time zone are never read, and percentiles read from the
histograms are within 2.5 % of the exact ones."""

import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from referral.auth.models import Setting
from referral.cases.models import Case
from referral.cli import cli
from referral.extensions import db, utcnow
from referral.referrals.models import Referral
from referral.reports import tallies
from referral.reports.models import referral_case_tallies, referral_duration_tallies, referral_tallies
from referral.reports.service import _plan_months, compute_report
from referral.scheduler.jobs import add_jobs, tallies_job
from referral.scheduler.sweep import sweep
from tests.appfixtures import PG_URL, demo_actor
from workflows.lifecycle import ReferralStatus

pytestmark = pytest.mark.skipif(not PG_URL, reason="the tallies are kept on PostgreSQL only")


sums = tallies.totals


def rows(table) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(table))


def rebuilt() -> dict:
    """Return ``sums()`` of tallies counted afresh from the referrals (the current ones are rolled back)."""
    nested = db.session.begin_nested()
    tallies.rebuild()
    fresh = sums()
    nested.rollback()
    return fresh


@pytest.fixture
def built(demo):
    assert tallies.build()
    db.session.commit()
    assert tallies.is_current()


def test_the_command_line_checks_the_tallies_counts_them_afresh_and_folds_them(built, runner):
    assert runner.invoke(cli, ["reports", "check-tallies"]).output == "Report tallies match the referrals.\n"
    # A row nobody's write explains: a count afresh finds the group it changed.
    db.session.execute(sa.insert(referral_case_tallies).values(day=date(2026, 1, 5), region="KZ-71", n=1))
    db.session.commit()
    result = runner.invoke(cli, ["reports", "check-tallies"])
    assert result.exit_code == 1 and "differ from the referrals in 1 groups" in result.output
    assert runner.invoke(cli, ["reports", "rebuild-tallies"]).exit_code == 0
    assert runner.invoke(cli, ["reports", "fold-tallies"]).output == "Report tallies folded.\n"
    assert runner.invoke(cli, ["reports", "check-tallies"]).exit_code == 0
    db.session.expire_all()
    assert rows(referral_case_tallies) == len(sums()["referral_case_tallies"])


def test_building_counts_every_referral_of_the_demo_once(built):
    counted = sums()
    total = sum(values[0] for values in counted["referral_tallies"].values())
    assert total == db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) > 0
    assert not tallies.build()  # built already: nothing done


def test_the_triggers_follow_every_write_as_a_count_afresh_would(built, api, app):
    # The service's writes: the scheduler's sweep over the demo's missed deadlines (escalations, cancellations
    # of unanswered referrals), an acceptance and a rejection through the API.
    sweep(batch_size=50)
    incoming = api("health@demo.kz", "GET", "/api/v1/referrals?box=incoming&status=requested").json
    assert len(incoming) >= 2, incoming
    accepted = api("health@demo.kz", "POST", f"/api/v1/referrals/{incoming[0]['id']}/accept",
                   json={"version": incoming[0]["version"]})
    assert accepted.status_code == 200, accepted.json
    rejected = api("health@demo.kz", "POST", f"/api/v1/referrals/{incoming[1]['id']}/reject",
                   json={"version": incoming[1]["version"], "reason": "No paediatrician this month"})
    assert rejected.status_code == 200, rejected.json
    # Writes no service makes, but a person with the database might: a case moved to another region, a
    # referral moved to another stage and day, one written and deleted.
    case = db.session.get(Case, accepted.json["case_id"])
    case.region = "KZ-75" if case.region != "KZ-75" else "KZ-71"
    other = db.session.scalar(sa.select(Referral).where(Referral.status == ReferralStatus.completed).limit(1))
    other.to_stage, other.created_at = "elsewhere", other.created_at - timedelta(days=40)
    written = Referral(case_id=case.id, from_stage=None, from_agency_id=None, to_stage="registration",
                       to_agency_id=other.to_agency_id, status=ReferralStatus.cancelled, status_reason="no-response",
                       closed_at=utcnow())
    db.session.add(written)
    db.session.flush()
    db.session.execute(sa.delete(Referral).where(Referral.id == written.id))
    db.session.commit()
    followed = sums()
    assert followed == rebuilt()
    assert followed["referral_tallies"] and followed["referral_duration_tallies"] and followed["referral_case_tallies"]


def test_one_statement_writing_several_referrals_of_a_case_counts_each_after_the_one_before(built):
    # The case tallies count each referral by its case's previous one: a statement's rows, back-dated and out
    # of order, are counted as a count afresh would, not each as if it came last.
    case = db.session.scalar(sa.select(Case).order_by(Case.id).limit(1))
    agency_id = db.session.scalar(sa.select(Referral.to_agency_id).where(Referral.case_id == case.id).limit(1))
    now = utcnow()
    db.session.execute(sa.insert(Referral).values([  # one INSERT with three rows
        {"case_id": case.id, "to_stage": "elsewhere", "to_agency_id": agency_id, "status": ReferralStatus.cancelled,
         "status_reason": "no-response", "created_at": now - timedelta(days=days), "closed_at": now, "version": 1,
         "mode": "handover"} for days in (3, 400, 30)]))
    db.session.commit()
    assert sums() == rebuilt()


def test_folding_leaves_one_row_per_group_and_every_sum_as_it_was(built, api):
    before = sums()
    for referral in db.session.scalars(sa.select(Referral).where(Referral.status == ReferralStatus.requested)
                                       .limit(5)):
        referral.status, referral.responded_at = ReferralStatus.accepted, utcnow()
    db.session.commit()
    after_writes = sums()
    assert after_writes != before
    assert rows(referral_tallies) > len(after_writes["referral_tallies"])
    tallies.compact()
    db.session.commit()
    assert sums() == after_writes
    assert rows(referral_tallies) == len(after_writes["referral_tallies"])
    assert rows(referral_duration_tallies) == len(after_writes["referral_duration_tallies"])


def at_once(app, work, count: int = 2) -> list:
    """Run ``work()`` in ``count`` threads with their own sessions, started together; return what each returned."""
    barrier, results, errors = threading.Barrier(count), [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
                db.session.commit()
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_schedulers_folding_at_once_count_nothing_twice(built, app):
    for referral in db.session.scalars(sa.select(Referral).where(Referral.status == ReferralStatus.requested)
                                       .limit(5)):
        referral.status, referral.responded_at = ReferralStatus.accepted, utcnow()
    db.session.commit()
    expected = sums()
    at_once(app, tallies.compact)
    db.session.expire_all()
    assert sums() == expected


def test_two_schedulers_building_at_once_build_once(demo, app):
    assert sorted(at_once(app, tallies.build)) == [False, True]
    db.session.expire_all()
    assert tallies.is_current()
    assert sums() == rebuilt()


def test_a_build_gives_way_to_a_writer_and_comes_back_at_the_next_run(demo, app, runner):
    # A writer holds a case (and would go on to its referrals): the build does not wait past half a second,
    # so it never deadlocks with it, and leaves the counting to the scheduler's next run.
    with db.engine.connect() as writer:
        writer.execute(sa.update(Case).where(Case.id == db.session.scalar(sa.select(sa.func.min(Case.id))))
                       .values(updated_at=Case.updated_at))
        started = time.monotonic()
        assert tallies.build() is False
        assert time.monotonic() - started < 5
        db.session.rollback()
        result = runner.invoke(cli, ["reports", "rebuild-tallies"])
        assert result.exit_code == 1 and "try again in a moment" in result.output
        writer.rollback()
    assert tallies.build() is True
    db.session.commit()
    assert tallies.is_current()


def test_the_scheduler_builds_the_tallies_every_interval_and_folds_them_nightly(app):
    jobs = {job.id: job for job in add_jobs(BackgroundScheduler(), app, 60).get_jobs()}
    assert "interval" in str(jobs["report-tallies"].trigger)
    assert "cron" in str(jobs["report-tallies-compaction"].trigger) and "hour='3'" in str(
        jobs["report-tallies-compaction"].trigger)


def test_tallies_in_another_time_zone_are_never_read_and_the_scheduler_counts_them_again(built, app):
    setting = db.session.get(Setting, tallies.ZONE_KEY)
    setting.value = "UTC"
    db.session.commit()
    assert not tallies.is_current()
    # The triggers keep writing in the zone the tallies say; the report reads the referrals meanwhile.
    today = utcnow().date()
    assert compute_report(demo_actor("admin@demo.kz"), today - timedelta(days=364), today).totals["referrals"] > 0
    db.session.rollback()
    assert tallies_job(app) is True
    db.session.expire_all()
    assert tallies.is_current()
    assert tallies_job(app) is False


def close(found: float | None, exact: float | None) -> bool:
    """Whether a percentile read from the histograms is the exact one within 2.5 % (half a bucket; below 0.01
    the first bucket is read as 0 to 0.01), both rounded to 0.1."""
    if exact is None:
        return found is None
    return found is not None and abs(found - exact) <= 0.025 * abs(exact) + 0.01 + 0.05 + 1e-9


def periods(today: date) -> list[tuple[date, date]]:
    """Periods of each shape the histograms' months make up: a year to today, whole months, a part of a month at
    either end (added, or its other days taken away), within one month."""
    month = today.replace(day=1)
    three_back = (month - timedelta(days=80)).replace(day=1)
    return [(today - timedelta(days=364), today), (three_back, month - timedelta(days=1)),
            (three_back + timedelta(days=3), month - timedelta(days=10)),
            (three_back + timedelta(days=25), today), (three_back + timedelta(days=2), three_back + timedelta(days=20))]


@pytest.mark.parametrize("shape", range(5))
def test_percentiles_read_from_the_histograms_are_within_two_and_a_half_percent(built, app, shape):
    actor = demo_actor("admin@demo.kz")
    first, last = periods(utcnow().date())[shape]
    exact = compute_report(actor, first, last)
    app.config["REFERRAL_REPORT_EXACT_UP_TO"] = 0
    try:
        found = compute_report(actor, first, last)
    finally:
        app.config["REFERRAL_REPORT_EXACT_UP_TO"] = 20000
    assert [row.agency.code for row in found.agencies] == [row.agency.code for row in exact.agencies]
    compared = 0
    for mine, theirs in zip(found.agencies, exact.agencies, strict=True):
        for name in ("respond_median_hours", "respond_p90_hours"):
            assert close(getattr(mine, name), getattr(theirs, name)), (mine, theirs)
            compared += getattr(theirs, name) is not None
    for mine, theirs in zip(found.stages, exact.stages, strict=True):
        assert close(mine.median_days_in_stage, theirs.median_days_in_stage), (mine, theirs)
        compared += theirs.median_days_in_stage is not None
    for name in ("respond_median_hours", "respond_p90_hours"):
        assert close(found.totals[name], exact.totals[name])
    assert compared >= (5 if shape == 0 else 1)
    # Everything but the percentiles is the same count.
    assert [(row.agency.code, row.received, row.overdue_now) for row in found.agencies] == \
        [(row.agency.code, row.received, row.overdue_now) for row in exact.agencies]
    assert {k: v for k, v in found.totals.items() if "hours" not in k} == \
        {k: v for k, v in exact.totals.items() if "hours" not in k}


def test_a_period_is_made_of_months_and_the_fewer_days_of_its_partial_ones():
    today = date(2026, 12, 7)
    # A year to today: December 2025's first week taken away, the rest of December 2026 (to come) too.
    plan = _plan_months(date(2025, 12, 8), today, today)
    assert plan.months == (date(2025, 12, 1), date(2027, 1, 1)) and plan.added == []
    assert plan.taken == [(date(2025, 12, 1), date(2025, 12, 8)), (date(2026, 12, 8), date(2027, 1, 1))]
    # The last week of a month added rather than its first three weeks taken away.
    plan = _plan_months(date(2026, 3, 25), date(2026, 6, 30), today)
    assert plan.months == (date(2026, 4, 1), date(2026, 7, 1)) and plan.added == [(date(2026, 3, 25), date(2026, 4, 1))]
    assert _plan_months(date(2026, 3, 1), date(2026, 3, 31), today).months == (date(2026, 3, 1), date(2026, 4, 1))
    assert _plan_months(date(2026, 3, 2), date(2026, 3, 30), today).added == [(date(2026, 3, 2), date(2026, 3, 31))]

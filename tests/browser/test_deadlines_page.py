"""A supervisor opens the deadlines page in a real browser: overdue work first, filters that narrow it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from referral.cases.models import Case
from referral.deadlines.models import Deadline, DeadlineStatus
from referral.demo import DEMO_PASSWORD
from referral.directory.models import Agency
from referral.extensions import db, utcnow

pytestmark = pytest.mark.browser


def make_one_deadline_overdue(make_app) -> str:
    """Move the latest open deadline of the supervisor's agency into the past; return its case number."""
    app = make_app()
    with app.app_context():
        deadline = db.session.scalar(
            sa.select(Deadline).join(Agency, Agency.id == Deadline.agency_id)
            .where(Agency.code == "astana-family-support", Deadline.status == DeadlineStatus.pending)
            .order_by(Deadline.due_at.desc()))
        deadline.due_at = utcnow() - timedelta(hours=5, minutes=10)
        db.session.commit()
        return db.session.scalar(sa.select(Case.number).where(Case.id == deadline.case_id))


def test_a_supervisor_sees_overdue_deadlines_first(live_server, page, make_app, tmp_path):
    late_case = make_one_deadline_overdue(make_app)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "supervisor@demo.kz")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{live_server}/")

    page.wait_for_load_state("load")  # the menu opens by Bootstrap's script
    page.locator("#nav-oversight").click()  # deadlines and reports share one menu
    page.locator("#mainnav a", has_text="Deadlines").click()
    page.wait_for_url(f"{live_server}/deadlines/")
    rows = page.locator("#deadlines tbody tr.deadline-row")
    assert rows.count() >= 2
    # The demo's history has overdue deadlines of its own: all of them come before the open ones.
    first = rows.nth(0)
    assert "overdue" in (first.get_attribute("class") or "")
    overdue = page.locator("#deadlines tbody tr.deadline-row.overdue")
    late = page.locator(f"#deadlines tbody tr.deadline-row[data-case='{late_case}']").first
    assert "overdue" in (late.get_attribute("class") or "")
    assert "overdue by 5 hours" in late.locator(".due-phrase").inner_text()
    assert "due in" in rows.nth(overdue.count()).locator(".due-phrase").inner_text()
    overdue_count, first_case = overdue.count(), first.get_attribute("data-case")
    page.screenshot(path=str(tmp_path / "deadlines.png"), full_page=True)

    page.select_option("#deadline-filter select[name=status]", "all")
    page.check("#overdue-only")
    with page.expect_navigation():
        page.click("#deadline-filter button[type=submit]")
    assert "overdue=1" in page.url
    assert page.locator("#deadlines tbody tr.deadline-row").count() == overdue_count

    page.goto(f"{live_server}/deadlines/")
    with page.expect_navigation():
        page.locator("#deadlines tbody tr.deadline-row").nth(0).locator("a").click()
    assert page.locator("#case-number").inner_text() == first_case

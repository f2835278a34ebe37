"""One way to write days and moments on every page, in every language: "12 Feb 2026", "12 Feb 2026, 23:30"."""

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from referral.auth.models import User
from referral.cases.models import Case
from referral.extensions import db
from referral.i18n import show_date, show_moment
from referral.notifications.models import Notification
from referral.notifications.service import render
from referral.referrals.models import Referral

#: 20:30 UTC on 12 February 2026 is 23:30 in Moscow; "2/12/26" in the old short format could be read two ways.
MOMENT = datetime(2026, 2, 12, 20, 30, tzinfo=UTC)
WRITTEN = {
    "en": ("12 Feb 2026, 23:30", "14 May 2013"),
    "ru": ("12 февр. 2026, 23:30", "14 мая 2013"),
    "kk": ("12 ақп. 2026, 23:30", "14 мам. 2013"),
}
#: Ways of writing a day that the pages must no longer use: 12/2/26, 12.02.2026, Dec 1, 2026, 2026 ж., 2026 г., 5:21 PM.
OTHER_FORMATS = [r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b", r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b",
                 r"\d{4} ж\.", r"\d{4} г\.", r"\b\d{1,2}:\d{2} ?[AP]M\b"]


def visible_text(response) -> str:
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)))


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


def set_timezone(email: str, zone: str) -> None:
    db.session.scalar(sa.select(User).where(User.email == email)).timezone = zone
    db.session.commit()


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_days_and_moments_are_written_one_way_in_each_language(make_app, language):
    moment, day = WRITTEN[language]
    with make_app(REFERRAL_TIMEZONE="Europe/Moscow").app_context(), force_locale(language):
        assert show_moment(MOMENT) == moment
        assert show_date(date(2013, 5, 14)) == day
        assert show_date(None) == show_moment(None) == "—"


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_case_page_writes_moments_in_the_readers_time_zone_and_days_the_same_way(client, demo, sign_in,
                                                                                     language):
    case = demo_case("Fictionov")
    case.created_at = MOMENT
    db.session.commit()
    set_timezone("social@demo.kz", "Europe/Moscow")
    sign_in("social@demo.kz", language)
    text = visible_text(client.get(f"/cases/{case.id}"))
    moment, birthday = WRITTEN[language]
    assert moment in text and birthday in text


#: Pages that write days, and who reads them.
PAGES = [("/case", "social@demo.kz"), ("/cases/", "social@demo.kz"), ("/inbox/", "health@demo.kz"),
         ("/referral", "health@demo.kz"), ("/notifications/", "social@demo.kz"),
         ("/deadlines/", "health.supervisor@demo.kz"), ("/admin/users/", "admin@demo.kz"),
         ("/admin/audit/", "admin@demo.kz"), ("/profile", "admin@demo.kz"), ("/designer/", "coordinator@demo.kz")]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
@pytest.mark.parametrize("path, email", PAGES, ids=[path for path, _email in PAGES])
def test_no_page_writes_a_day_another_way(client, demo, sign_in, language, path, email):
    case = demo_case("Fictionov")
    if path == "/case":
        path = f"/cases/{case.id}"
    elif path == "/referral":
        path = f"/inbox/{db.session.scalar(sa.select(Referral.id).where(Referral.case_id == case.id))}"
    sign_in(email, language)
    sign_in(email, language)  # signed in before, so that the users list has a last sign-in to write
    client.post("/profile", data={"label": "laptop"})  # and the profile a token with its creation
    text = visible_text(client.get(path))
    for pattern in OTHER_FORMATS:
        assert not re.search(pattern, text), (pattern, re.search(pattern, text).group(0))
    assert re.search(r"\b\d{1,2} \w{3,5}\.? 20\d\d\b", text), "no day written on the page"


def test_a_notification_writes_its_due_moment_the_same_way(make_app):
    notification = Notification(kind="deadline.reminder", params={
        "case": "KZ-1", "stage": "Health screening", "deadline_kind": "respond", "due_at": MOMENT.isoformat()})
    with make_app(REFERRAL_TIMEZONE="Europe/Moscow").app_context(), force_locale("ru"):
        assert "12 февр. 2026, 23:30" in render(notification)

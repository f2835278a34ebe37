"""The working calendar (DESIGN.md section 15): the package's days merged with overrides that move deadlines."""

import copy
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from referral.audit.models import AuditEntry
from referral.cases import service as cases
from referral.deadlines import service as clocks
from referral.deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from referral.designer import service as designer
from referral.errors import Conflict, Forbidden, Invalid, NotFound
from referral.extensions import db
from referral.notifications.models import Channel, Delivery, Notification
from referral.notifications.service import render
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from referral.working_calendar import service as calendar
from referral.working_calendar.models import CalendarOverride
from tests.appfixtures import demo_actor
from tests.service.test_one_commit_per_entry_point import commits
from workflows import WorkingCalendar, is_working_day, shift_working_days

KEY = "returned-child"
ALMATY = ZoneInfo("Asia/Almaty")
#: A Friday with no holiday near it: one working day later is Monday 7 December.
FRIDAY = datetime(2026, 12, 4, 10, 30, tzinfo=ALMATY)


def test_overrides_correct_the_package_both_ways():
    plain = WorkingCalendar("KZ")
    corrected = WorkingCalendar("KZ", days_off=frozenset({date(2026, 12, 7)}),
                                working_days=frozenset({date(2026, 12, 5)}))
    assert not is_working_day(date(2026, 12, 5), plain) and is_working_day(date(2026, 12, 5), corrected)
    assert is_working_day(date(2026, 12, 7), plain) and not is_working_day(date(2026, 12, 7), corrected)
    assert shift_working_days(date(2026, 12, 4), 1, plain) == date(2026, 12, 7)
    assert shift_working_days(date(2026, 12, 4), 2, corrected) == date(2026, 12, 8)


def one_working_day_to_answer(document):
    next(stage for stage in document["stages"] if stage["key"] == "health-screening")["respond_within"] = \
        "1 working day"


@pytest.fixture
def waiting(demo):
    """A clinic referral with one working day to answer, sent (as the clock says) on a Friday morning."""
    document = copy.deepcopy(designer.latest_version(KEY).document)
    one_working_day_to_answer(document)
    designer.save_draft(document, demo_actor("coordinator@demo.kz"))
    designer.publish(KEY, demo_actor("coordinator@demo.kz"))
    child = cases.ChildData(given_name="Kalen", family_name="Darova", sex="male", region="KZ-71", estimated_age=7)
    case = cases.register_case(KEY, "high", child, demo_actor("social@demo.kz"))
    cases.record_consent(case.id, cases.ConsentData(given_by="Guardian", relationship_to_child="aunt",
                                                    agency_types=["health"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    referral = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                               demo_actor("social@demo.kz"))
    db.session.flush()
    deadline = respond_clock(referral.id)
    deadline.started_at = FRIDAY
    clocks.reschedule(deadline, cases.definition_of(case), "high")
    db.session.commit()
    return referral


def respond_clock(referral_id) -> Deadline:
    return db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == referral_id,
                                                       Deadline.kind == DeadlineKind.respond,
                                                       Deadline.status == DeadlineStatus.pending))


def pending_dues() -> dict[int, datetime]:
    return dict(db.session.execute(sa.select(Deadline.id, Deadline.due_at)
                                   .where(Deadline.status == DeadlineStatus.pending)).all())


def moved_between(before: dict, after: dict) -> int:
    return sum(before[key] != after[key] for key in before)


def due_local(referral_id) -> datetime:
    return respond_clock(referral_id).due_at.astimezone(ALMATY)


def test_a_day_off_moves_a_one_working_day_deadline_and_removing_it_moves_it_back(waiting):
    assert due_local(waiting.id) == datetime(2026, 12, 7, 10, 30, tzinfo=ALMATY)
    version = db.session.get(Referral, waiting.id).version
    before = pending_dues()

    change = calendar.add_override("KZ", date(2026, 12, 7), "day_off", "Day off moved by decree",
                                   demo_actor("admin@demo.kz"))
    db.session.commit()

    # The demo's own working-day clocks may run over that Monday too: the count is of every one that moved.
    assert change.moved == moved_between(before, pending_dues()) >= 1
    assert due_local(waiting.id) == datetime(2026, 12, 8, 10, 30, tzinfo=ALMATY)
    referral = db.session.get(Referral, waiting.id)
    assert referral.respond_by == respond_clock(waiting.id).due_at
    assert referral.version == version  # a due date that follows the calendar is nobody's change

    change = calendar.remove_override("KZ", date(2026, 12, 7), demo_actor("admin@demo.kz"))
    db.session.commit()
    assert pending_dues() == before and change.moved >= 1
    assert due_local(waiting.id) == datetime(2026, 12, 7, 10, 30, tzinfo=ALMATY)


def test_a_working_saturday_brings_the_deadline_forward(waiting):
    calendar.add_override("KZ", date(2026, 12, 5), "working_day", "Working Saturday", demo_actor("admin@demo.kz"))
    db.session.commit()
    assert due_local(waiting.id) == datetime(2026, 12, 5, 10, 30, tzinfo=ALMATY)
    assert db.session.get(Referral, waiting.id).respond_by.astimezone(ALMATY).date() == date(2026, 12, 5)


def test_an_override_outside_a_clock_leaves_it_and_new_clocks_count_it(waiting):
    before = pending_dues()
    change = calendar.add_override("KZ", date(2026, 12, 21), "day_off", "Later", demo_actor("admin@demo.kz"))
    db.session.commit()
    assert change.moved == moved_between(before, pending_dues())
    assert due_local(waiting.id) == datetime(2026, 12, 7, 10, 30, tzinfo=ALMATY)
    definition = cases.definition_of(waiting.case)
    assert clocks.planned_due(definition, "health-screening", DeadlineKind.respond, "high",
                              datetime(2026, 12, 18, 9, 0, tzinfo=ALMATY)).astimezone(ALMATY).date() \
        == date(2026, 12, 22)


def test_a_second_override_of_a_date_is_a_conflict_and_bad_input_changes_nothing(demo):
    admin = demo_actor("admin@demo.kz")
    calendar.add_override("KZ", date(2027, 1, 4), "day_off", "Moved from Saturday", admin)
    db.session.commit()
    with pytest.raises(Conflict):
        calendar.add_override("KZ", date(2027, 1, 4), "working_day", "Again", admin)
    db.session.rollback()
    for args, error in [(("KZ", date(2027, 1, 5), "holiday", "x"), Invalid),
                        (("KZ", date(2027, 1, 5), "day_off", "  "), Invalid),
                        (("KZ", date(2027, 1, 5), "day_off", "x" * 201), Invalid),
                        (("KZ", date(1999, 1, 5), "day_off", "x"), Invalid),
                        (("XX", date(2027, 1, 5), "day_off", "x"), NotFound)]:
        with pytest.raises(error):
            calendar.add_override(*args, admin)
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarOverride)) == 1
    with pytest.raises(NotFound):
        calendar.remove_override("KZ", date(2027, 1, 5), admin)


def test_only_admins_change_the_calendar(demo):
    for email in ("coordinator@demo.kz", "supervisor@demo.kz", "social@demo.kz"):
        with pytest.raises(Forbidden):
            calendar.add_override("KZ", date(2027, 1, 4), "day_off", "x", demo_actor(email))
    calendar.add_override("KZ", date(2027, 1, 4), "day_off", "x", demo_actor("admin@demo.kz"))
    db.session.commit()
    with pytest.raises(Forbidden):
        calendar.remove_override("KZ", date(2027, 1, 4), demo_actor("coordinator@demo.kz"))


def test_the_api_merges_the_package_and_the_overrides(demo, api):
    url = "/api/v1/calendars/KZ/days"
    days = api("social@demo.kz", "GET", url + "?year=2026").get_json()
    new_year = next(day for day in days if day["date"] == "2026-01-01")
    assert new_year["kind"] == "day_off" and new_year["source"] == "package"
    assert new_year["package_version"] == holidays.__version__
    assert all(day["date"].startswith("2026-") for day in days)

    body = {"date": "2026-05-27", "kind": "day_off", "name": "Kurban ait (confirmed)"}
    assert api("coordinator@demo.kz", "POST", url, json=body).status_code == 403
    created = api("admin@demo.kz", "POST", url, json=body)
    assert created.status_code == 201
    assert created.get_json()["source"] == "override" and created.get_json()["moved_deadlines"] == 0
    assert api("admin@demo.kz", "POST", url, json=body).status_code == 409
    saturday = api("admin@demo.kz", "POST", url, json={"date": "2026-12-05", "kind": "working_day",
                                                        "name": "Working Saturday"})
    assert saturday.status_code == 201
    bad = api("admin@demo.kz", "POST", url, json={"date": "2026-13-01", "kind": "day", "name": ""})
    assert bad.status_code == 422 and {"date", "kind", "name"} <= set(bad.get_json()["errors"])

    days = {day["date"]: day for day in api("health@demo.kz", "GET", url + "?year=2026").get_json()}
    assert days["2026-05-27"]["source"] == "override"
    assert days["2026-05-27"]["replaces"] == "Eid al-Adha (estimated)"
    assert days["2026-05-27"]["created_by"] == "Demo Administrator"
    assert days["2026-12-05"] == {**days["2026-12-05"], "kind": "working_day", "source": "override"}

    assert api("coordinator@demo.kz", "DELETE", url + "/2026-12-05").status_code == 403
    removed = api("admin@demo.kz", "DELETE", url + "/2026-12-05")
    assert removed.status_code == 200
    assert api("admin@demo.kz", "DELETE", url + "/2026-12-05").status_code == 404
    assert api("admin@demo.kz", "DELETE", url + "/not-a-day").status_code == 404
    assert api("social@demo.kz", "GET", "/api/v1/calendars/XX/days").status_code == 404
    assert api("social@demo.kz", "GET", url + "?year=1800").status_code == 422
    assert "2026-12-05" not in {day["date"] for day in api("social@demo.kz", "GET", url + "?year=2026").get_json()}
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("calendar.%"))))
    assert actions.count("calendar.override_added") == 2 and actions.count("calendar.override_removed") == 1


def test_the_year_defaults_to_this_year(demo, api):
    days = api("social@demo.kz", "GET", "/api/v1/calendars/kz/days").get_json()
    assert days and all(day["date"].startswith(f"{date.today().year}-") for day in days)


def test_the_calendar_page_shows_the_merged_year_and_admins_change_it(demo, sign_in):
    client = sign_in("admin@demo.kz")
    page = client.get("/calendar/?year=2026")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and holidays.__version__ in text and 'data-date="2026-01-01"' in text
    refused = client.post("/calendar/KZ/days", data={"date": "2026-12-05", "kind": "working_day", "name": ""})
    assert refused.status_code == 422 and "Say what the day is" in refused.get_data(as_text=True)
    added = client.post("/calendar/KZ/days", data={"date": "2026-12-05", "kind": "working_day",
                                                   "name": "Working Saturday"}, follow_redirects=True)
    assert added.status_code == 200 and 'data-date="2026-12-05" data-source="override"' in added.get_data(as_text=True)
    again = client.post("/calendar/KZ/days", data={"date": "2026-12-05", "kind": "day_off", "name": "Twice"})
    assert again.status_code == 409 and "already has an override" in again.get_data(as_text=True)

    reader = sign_in("social@demo.kz")
    assert reader.get("/calendar/?year=2026").status_code == 200
    assert 'id="add-override"' not in reader.get("/calendar/?year=2026").get_data(as_text=True)
    assert reader.post("/calendar/KZ/days", data={"date": "2026-12-06", "kind": "day_off",
                                                  "name": "x"}).status_code == 403
    assert reader.post("/calendar/KZ/days/2026-12-05/remove").status_code == 403
    removed = sign_in("admin@demo.kz").post("/calendar/KZ/days/2026-12-05/remove", follow_redirects=True)
    assert 'data-date="2026-12-05"' not in removed.get_data(as_text=True)


def calendar_notices(email: str | None = None) -> list[Notification]:
    statement = sa.select(Notification).where(Notification.kind == "calendar.deadlines_moved")
    if email is not None:
        statement = statement.where(Notification.user_id == demo_actor(email).user_id)
    return list(db.session.scalars(statement.order_by(Notification.id)))


def test_the_agency_holding_a_moved_deadline_is_told_how_many_and_to_when_without_the_child(waiting):
    with commits() as seen:
        change = calendar.add_override("KZ", date(2026, 12, 7), "day_off", "Day off moved by decree",
                                       demo_actor("admin@demo.kz"))
    assert seen == []  # the notices are written in the override's transaction, which its entry point commits
    db.session.commit()
    assert change.moved >= 1

    notice = next(n for n in calendar_notices("health@demo.kz") if n.case_id == waiting.case_id)
    assert notice.referral_id == waiting.id  # one referral's clock moved: the notice leads to it
    assert notice.params["count"] == 1 and notice.params["moves"] == [
        {"deadline_kind": "respond", "due_at": respond_clock(waiting.id).due_at.isoformat(),
         "referral_id": waiting.id}]
    with force_locale("en"):
        text = render(notice)
    assert waiting.case.number in text and "7 Dec 2026 became a day off" in text
    assert "(1): response to 8 Dec 2026" in text
    with force_locale("ru"):
        russian = render(notice)
    assert waiting.case.number in russian and "стал выходным днём" in russian
    assert "перенесены (1): срок ответа — теперь 8 дек. 2026" in russian
    for written in (text, russian, str(notice.params)):
        assert "Kalen" not in written and "Darova" not in written
    # Whoever sent the referral does not hold its clock: the sender hears nothing of this case.
    assert waiting.case_id not in {n.case_id for n in calendar_notices("social@demo.kz")}
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "case.notified",
                                                            AuditEntry.object_id == str(waiting.case_id)))

    calendar.remove_override("KZ", date(2026, 12, 7), demo_actor("admin@demo.kz"))
    db.session.commit()
    back = [n for n in calendar_notices("health@demo.kz") if n.case_id == waiting.case_id][-1]
    with force_locale("en"):
        assert "the override of 7 Dec 2026 was removed" in render(back) and "response to 7 Dec 2026" in render(back)


def test_the_holding_agency_also_hears_by_e_mail(app, waiting):
    app.config["REFERRAL_SMTP_URL"] = "smtp://127.0.0.1:1"  # queued only: the outbox sends it later
    user = demo_actor("health@demo.kz").user
    user.wants_email = True
    db.session.commit()
    calendar.add_override("KZ", date(2026, 12, 7), "day_off", "Day off moved by decree", demo_actor("admin@demo.kz"))
    db.session.commit()
    mail = db.session.scalar(sa.select(Delivery).where(Delivery.channel == Channel.email, Delivery.user_id == user.id,
                                                       Delivery.payload["subject"].as_string().contains(
                                                           waiting.case.number)))
    assert mail is not None and "Kalen" not in mail.payload["body"]
    assert f"/inbox/{waiting.id}" in mail.payload["body"]


def test_an_override_that_moves_nothing_tells_nobody(waiting):
    before = pending_dues()
    change = calendar.add_override("KZ", date(2030, 6, 4), "day_off", "Far away", demo_actor("admin@demo.kz"))
    db.session.commit()
    assert change.moved == 0 and pending_dues() == before
    calendar.remove_override("KZ", date(2030, 6, 4), demo_actor("admin@demo.kz"))
    db.session.commit()
    assert calendar_notices() == []


def test_holiday_names_are_in_the_readers_language(demo):
    def names(language: str) -> dict[str, str]:
        with force_locale(language):
            return {day.date.isoformat(): day.name for day in calendar.calendar_days("KZ", 2026, language)}

    english, russian, kazakh = names("en"), names("ru"), names("kk")
    assert english["2026-05-09"] == "Victory Day" and english["2026-05-11"] == "Victory Day (observed)"
    assert russian["2026-05-09"] == "День Победы"
    assert russian["2026-05-11"] == "День Победы (перенесённый выходной)"
    assert russian["2026-01-01"] == "Новый год" and russian["2026-05-27"] == "Курбан айт (предварительная дата)"
    assert kazakh["2026-05-09"] == "Жеңіс күні"  # the package's own Kazakh
    with force_locale("ru"):
        moved = {day.date: day.name for day in calendar.calendar_days("KZ", 2025, "ru")}
    assert moved[date(2025, 1, 3)] == "Выходной день (перенесён с 5 янв. 2025)"


def test_the_calendar_page_and_api_name_holidays_in_russian_for_a_russian_reader(demo, sign_in, client, token_for):
    page = sign_in("social@demo.kz", "ru").get("/calendar/?year=2026").get_data(as_text=True)
    assert "День Победы" in page and "Victory Day" not in page
    reader = demo_actor("health@demo.kz").user
    reader.locale = "ru"  # the API answers in the caller's own language
    db.session.commit()
    days = client.get("/api/v1/calendars/KZ/days?year=2026", headers=token_for(reader))
    assert {day["date"]: day["name"] for day in days.get_json()}["2026-05-09"] == "День Победы"


def test_the_api_commits_the_override_and_its_notices_once_and_the_webhook_names_no_child(waiting, client, token_for):
    clinic = waiting.to_agency
    clinic.webhook_url = "https://clinic.example.kz/hook"
    db.session.commit()
    headers = token_for(demo_actor("admin@demo.kz").user)
    with commits() as seen:
        answer = client.post("/api/v1/calendars/KZ/days", headers=headers,
                             json={"date": "2026-12-07", "kind": "day_off", "name": "Day off moved by decree"})
    assert answer.status_code == 201 and answer.get_json()["moved_deadlines"] >= 1
    assert len(seen) == 1
    assert any(n.case_id == waiting.case_id for n in calendar_notices("health@demo.kz"))
    event = next(d.payload for d in db.session.scalars(sa.select(Delivery).where(Delivery.channel == Channel.webhook))
                 if d.payload["event"] == "calendar.deadlines_moved" and d.payload["case_id"] == waiting.case_id)
    assert event["referral_id"] == waiting.id and event["deadline_kind"] == "respond"
    assert event["due_at"] == respond_clock(waiting.id).due_at.isoformat()
    assert "Kalen" not in str(event) and "Darova" not in str(event)

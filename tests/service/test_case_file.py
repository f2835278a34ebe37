"""The printable case file (DESIGN.md §12): each section as far as the viewer may see it, audited as an export.

The demo's busy case (Fictionov) is held by the family support centre, the clinic and the prosecutor; the
waiting one (Samplova) has been sent to the clinic and the prosecutor, neither of which has answered yet.
"""

from datetime import date

import pytest
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.cases import case_file, interviews, notes
from referral.cases.models import Case
from referral.errors import NotFound
from referral.extensions import db
from tests.appfixtures import demo_actor

OWN_NOTE = "Uncle asks that the school is not told about the father."
SHARED_NOTE = "Vaccination card handed to the clinic."
CLINIC_NOTE = "Weighed again: 27 kg; the nurse will call the uncle."
CLINIC_ONLY = "The boy draws well; the psychologist may use it."


def demo_case(family_name: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.family_name == f"{family_name} (demo)"))


@pytest.fixture
def busy(demo):
    """The busy demo case with a note of each kind and an assessment whose findings only the clinic may read."""
    case = demo_case("Fictionov")
    social, clinic = demo_actor("social@demo.kz"), demo_actor("health@demo.kz")
    notes.add_note(case.id, OWN_NOTE, False, social)
    notes.add_note(case.id, SHARED_NOTE, True, social)
    notes.add_note(case.id, CLINIC_NOTE, False, clinic)
    interviews.record_interview(case.id, interviews.InterviewData(
        kind="assessment", topic="Drawing and sleep", held_on=date.today(), summary=CLINIC_ONLY,
        shared_with=["health"]), social)
    db.session.commit()
    return case


def exports(case: Case) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "case.export", AuditEntry.object_id == str(case.id)).order_by(AuditEntry.id)))


def test_an_agency_holding_the_case_prints_every_section_with_shared_notes_only(busy):
    printed = case_file.case_file(busy.id, demo_actor("social@demo.kz"))
    assert printed.full and printed.sections == ("child", "consents", "referrals", "interviews", "notes", "timeline")
    assert printed.case.given_name == "Daniyar" and printed.number == busy.number
    assert [consent.given_by for consent in printed.consents] == ["Marat Fictionov (demo)"]
    assert [(r.to_stage, r.status.value) for r in printed.referrals] == [
        ("registration", "in-progress"), ("health-screening", "in-progress"), ("legal-status-review", "accepted")]
    assert [note.text for note in printed.notes] == [SHARED_NOTE]
    assert {interview.topic for interview, _agency in printed.interviews} >= {"Drawing and sleep"}
    assert all(interview.summary for interview, _agency in printed.interviews)  # it recorded or is shared them all
    assert [event.kind for event in printed.events][:2] == ["case.registered", "consent.recorded"]
    assert printed.printed_by == "Timur Social-Worker (demo)" and printed.printed_for.code == "astana-family-support"


def test_an_agency_adds_its_own_notes_on_request_but_never_another_agencys(busy):
    printed = case_file.case_file(busy.id, demo_actor("social@demo.kz"), agency_notes=True)
    assert {note.text for note in printed.notes} == {SHARED_NOTE, OWN_NOTE}
    clinic = case_file.case_file(busy.id, demo_actor("health@demo.kz"), agency_notes=True)
    assert {note.text for note in clinic.notes} == {SHARED_NOTE, CLINIC_NOTE}
    assert [note.text for note in case_file.case_file(busy.id, demo_actor("justice@demo.kz")).notes] == [SHARED_NOTE]


def test_findings_not_shared_with_the_viewers_agency_type_are_withheld(busy):
    prosecutor = case_file.case_file(busy.id, demo_actor("justice@demo.kz"))
    withheld = [interview for interview, _agency in prosecutor.interviews if interview.topic == "Drawing and sleep"]
    assert len(withheld) == 1 and withheld[0].summary is None
    clinic = case_file.case_file(busy.id, demo_actor("health@demo.kz"))
    assert [i.summary for i, _agency in clinic.interviews if i.topic == "Drawing and sleep"] == [CLINIC_ONLY]


def test_an_agency_only_asked_prints_the_summary_and_its_own_referral(demo):
    case = demo_case("Samplova")
    printed = case_file.case_file(case.id, demo_actor("justice@demo.kz"))
    assert not printed.full and printed.sections == ("summary", "referrals")
    assert printed.case is None and printed.summary.child.age == 9 and printed.summary.child.sex.value == "female"
    assert [(r.to_stage, r.to_agency.code) for r in printed.referrals] == [
        ("legal-status-review", "astana-juvenile-prosecutor")]
    assert printed.consents == [] and printed.interviews == [] and printed.notes == [] and printed.events == []


def test_an_unrelated_agency_gets_nothing_and_nothing_is_recorded(demo):
    case = demo_case("Samplova")
    with pytest.raises(NotFound):
        case_file.case_file(case.id, demo_actor("school@demo.kz"))
    with pytest.raises(NotFound):
        case_file.case_file(999_999, demo_actor("social@demo.kz"))
    assert exports(case) == []


def test_coordinators_print_the_cases_of_their_region_only(demo):
    case = demo_case("Samplova")  # Astana
    assert case_file.case_file(case.id, demo_actor("coordinator@demo.kz")).full
    with pytest.raises(NotFound):
        case_file.case_file(case.id, demo_actor("coordinator.almaty@demo.kz"))
    assert case_file.case_file(case.id, demo_actor("admin@demo.kz")).full


def test_printing_is_audited_as_an_export_without_the_childs_data(busy):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    case_file.case_file(busy.id, demo_actor("justice@demo.kz"))
    case_file.case_file(demo_case("Samplova").id, demo_actor("justice@demo.kz"))
    db.session.commit()
    # One entry per print, and no separate read of the case or its notes beside it.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before + 2
    [entry] = exports(busy)
    assert entry.actor_label == "justice@demo.kz" and entry.object_type == "case"
    assert entry.detail == {"format": "print", "visibility": "full", "notes": 1, "agency_notes": False,
                            "sections": ["child", "consents", "referrals", "interviews", "notes", "timeline"]}
    [summary] = exports(demo_case("Samplova"))
    assert summary.detail["visibility"] == "summary"
    for text in ("Daniyar", "Fictionov", SHARED_NOTE):
        assert text not in str(entry.detail)


# -- the page ------------------------------------------------------------------------


def test_the_print_view_shows_what_the_viewer_may_see_in_russian(busy, sign_in):
    page = sign_in("justice@demo.kz", "ru").get(f"/cases/{busy.id}/print")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for expected in (busy.number, "Материалы случая", "Ребёнок", "Согласия", "Направления",
                     "Проведённые беседы и оценки", "Общие заметки", "Хронология", "Daniyar", SHARED_NOTE,
                     "Officer Demo-Justice", "Ювенальная прокуратура Астаны (демо)"):
        assert expected in text, expected
    for hidden in (OWN_NOTE, CLINIC_NOTE, CLINIC_ONLY):
        assert hidden not in text
    assert "navbar" not in text and 'id="mainnav"' not in text  # laid out for paper: no navigation
    assert "case-file.css" in text and "case-file.js" in text
    assert "<script>" not in text and "style=" not in text
    assert page.headers["Cache-Control"] == "no-store"
    assert [entry.detail["visibility"] for entry in exports(busy)] == ["full"]


def test_an_asked_agency_prints_no_name_and_an_unrelated_one_gets_404(demo, sign_in):
    case = demo_case("Samplova")
    text = sign_in("justice@demo.kz").get(f"/cases/{case.id}/print").get_data(as_text=True)
    assert case.number in text and "Summary" in text and "victim" in text  # its own referral's reason
    for hidden in ("Amina", "Samplova", "Gulnara", "vaccinated", "Children's Clinic"):
        assert hidden not in text, hidden
    assert sign_in("school@demo.kz").get(f"/cases/{case.id}/print").status_code == 404
    assert sign_in("school@demo.kz").get("/cases/2147483647/print").status_code == 404
    assert [entry.actor_label for entry in exports(case)] == ["justice@demo.kz"]


def test_the_case_page_and_the_summary_link_to_the_print_view(demo, sign_in):
    case = demo_case("Samplova")
    link = f'href="/cases/{case.id}/print"'
    assert link in sign_in("social@demo.kz").get(f"/cases/{case.id}").get_data(as_text=True)
    assert link in sign_in("justice@demo.kz").get(f"/cases/{case.id}").get_data(as_text=True)
    assert exports(case) == []  # only opening the print view is an export


def test_the_own_notes_link_adds_them_and_is_recorded(busy, sign_in):
    client = sign_in("social@demo.kz")
    assert OWN_NOTE not in client.get(f"/cases/{busy.id}/print").get_data(as_text=True)
    text = client.get(f"/cases/{busy.id}/print?agency_notes=1").get_data(as_text=True)
    assert OWN_NOTE in text and SHARED_NOTE in text and CLINIC_NOTE not in text
    assert [entry.detail["agency_notes"] for entry in exports(busy)] == [False, True]


def test_someone_not_signed_in_is_sent_to_the_login_and_nothing_is_recorded(demo, client):
    case = demo_case("Samplova")
    response = client.get(f"/cases/{case.id}/print")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert exports(case) == []

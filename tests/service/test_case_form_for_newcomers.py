"""The case form as a newcomer meets it (issue 11): offered only where a workflow lets the agency register, in
words otherwise; no sex chosen for the user; required fields marked before sending."""

import sqlalchemy as sa

from referral.cases.models import Case
from referral.extensions import db

CHILD = {"workflow": "returned-child", "risk_level": "high", "given_name": "Alua", "family_name": "Newcomerova",
         "patronymic": "", "birth_date": "2015-02-03", "estimated_age": "", "region": "KZ-71"}


def test_an_agency_that_does_not_register_is_told_why_in_words_and_not_offered_the_form(client, demo, sign_in):
    sign_in("health@demo.kz")
    assert 'id="register-case"' not in client.get("/cases/").get_data(as_text=True)
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'id="case-form"' not in page and "opened by Social protection" in page
    assert "social" not in page.split('id="not-registering"')[1].split("</div>")[0]  # no raw type codes
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    assert client.post("/cases/new", data={**CHILD, "sex": "female"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == before


def test_the_form_chooses_no_sex_and_marks_what_is_required(client, demo, sign_in):
    sign_in("social@demo.kz", "ru")
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'id="register-case"' in client.get("/cases/").get_data(as_text=True)
    assert '<select class="form-select" id="sex" name="sex" required><option value="">Выберите…</option>' in page
    assert "Поля, отмеченные *, обязательны." in page and 'class="mb-3 required"><label class="form-label"' in page
    assert "или, если она неизвестна, предполагаемый возраст" in page
    response = client.post("/cases/new", data=CHILD)  # sex not chosen
    assert response.status_code == 422
    assert db.session.scalar(sa.select(Case).where(Case.family_name == "Newcomerova")) is None
    assert client.post("/cases/new", data={**CHILD, "sex": "female"}).status_code == 302

"""A referral's card says what matters in its status: answer by, finish by, or when and why it ended."""

import re

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.cases.models import Case
from referral.extensions import db
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from tests.appfixtures import demo_actor


def demo_referral(family_name: str, stage: str) -> Referral:
    case_id = db.session.scalar(sa.select(Case.id).where(Case.family_name == f"{family_name} (demo)"))
    return db.session.scalar(sa.select(Referral).where(Referral.case_id == case_id, Referral.to_stage == stage))


def acted(family_name: str, stage: str, *steps) -> Referral:
    """Return a demo referral after each (action, e-mail, text) step."""
    referral = demo_referral(family_name, stage)
    for action, email, text in steps:
        actor = Actor.system_actor("scheduler") if email is None else demo_actor(email)
        referral = referrals.act(referral.id, action, referral.version, actor,
                                 reason=text if action != "complete" else None,
                                 outcome=text if action == "complete" else None)
    db.session.commit()
    return referral


#: Each status, how a demo referral gets there, the card's lines (by key) and what they say, in English.
CARDS = {
    "requested": (lambda: demo_referral("Samplova", "health-screening"),
                  ["answer-by"], ["Answer by:"]),
    "accepted": (lambda: demo_referral("Fictionov", "legal-status-review"),
                 ["accepted-at", "finish-by"], ["Accepted:", "Finish by:"]),
    "in-progress": (lambda: demo_referral("Fictionov", "health-screening"),
                    ["accepted-at", "finish-by"], ["Accepted:", "Finish by:"]),
    "on-hold": (lambda: acted("Fictionov", "health-screening", ("hold", "health@demo.kz", "Waiting for the X-ray.")),
                ["accepted-at", "finish-by", "reason"], ["Finish by:", "Reason: Waiting for the X-ray."]),
    "completed": (lambda: acted("Fictionov", "health-screening",
                                ("complete", "health@demo.kz", "Healthy; vaccinations caught up.")),
                  ["closed-at", "outcome"], ["Completed:", "Outcome: Healthy; vaccinations caught up."]),
    "failed": (lambda: acted("Fictionov", "health-screening", ("fail", "health@demo.kz", "The family moved away.")),
               ["closed-at", "reason"], ["Failed:", "Reason: The family moved away."]),
    "rejected": (lambda: demo_referral("Inventova", "health-screening"),
                 ["closed-at", "reason"], ["Rejected:", "Reason: No paediatric dentist until next month"]),
    "cancelled": (lambda: acted("Samplova", "health-screening", ("cancel", "social@demo.kz", "Sent by mistake.")),
                  ["closed-at", "reason"], ["Cancelled:", "Reason: Sent by mistake."]),
    "cancelled for no answer": (lambda: acted("Samplova", "health-screening", ("cancel", None, "no-response")),
                                ["closed-at", "reason"], ["Cancelled:", "Reason: no response in time"]),
}


def card_of(page: str, referral_id: int) -> str:
    match = re.search(rf'data-referral="{referral_id}".*?</li>', page, flags=re.S)
    assert match, f"no card of referral {referral_id}"
    return match.group(0)


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" :", ":")


@pytest.mark.parametrize("status", list(CARDS))
def test_the_case_page_and_the_referral_page_show_what_matters_in_each_status(client, demo, sign_in, status):
    make, keys, texts = CARDS[status]
    referral = make()
    assert referral.status.value == status.split()[0]
    sign_in("admin@demo.kz", "en")
    card = card_of(client.get(f"/cases/{referral.case_id}").get_data(as_text=True), referral.id)
    detail = client.get(f"/inbox/{referral.id}").get_data(as_text=True)
    assert re.findall(r'class="card-line[^"]*" data-line="([a-z-]+)"', card) == keys
    assert re.findall(r'<dt class="col-sm-4" data-line="([a-z-]+)"', detail) == keys
    for text in texts:
        assert text in words(card), (text, words(card))
    # Nothing shows what no longer matters: no empty due date, no answer-by once accepted, no "finish by" once ended.
    assert "Due:" not in words(card) and "—" not in words(card)
    if status != "requested":
        assert "Answer by" not in words(card) and "Answer by" not in words(detail)
    if referral.closed_at is not None:
        assert "Finish by" not in words(card) and "overdue" not in words(card)


def test_a_running_deadline_says_how_far_away_it_is(client, demo, sign_in):
    referral = demo_referral("Samplova", "health-screening")
    sign_in("health@demo.kz", "ru")
    card = words(card_of(client.get("/inbox/").get_data(as_text=True), referral.id))
    assert "Ответить до:" in card and "срок через" in card


@pytest.mark.parametrize("language, completed, outcome", [("ru", "Завершено:", "Результат:"),
                                                          ("kk", "Аяқталды:", "Нәтижесі:")])
def test_a_completed_card_is_labelled_in_the_readers_language(client, demo, sign_in, language, completed, outcome):
    referral = CARDS["completed"][0]()
    sign_in("health@demo.kz", language)
    page = client.get("/inbox/", query_string={"tab": "closed"}).get_data(as_text=True)
    card = words(card_of(page, referral.id))
    assert completed in card and f"{outcome} Healthy; vaccinations caught up." in card

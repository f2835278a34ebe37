"""Demo cases at different points of the returned-child workflow, made through the real services."""

from datetime import date, timedelta

import sqlalchemy as sa

from ..actors import Actor
from ..auth.models import User
from ..cases import interviews, stuck
from ..cases import service as cases
from ..cases.models import Case
from ..extensions import db
from ..referrals import service as referrals
from .history import backdate_case, backdate_referral, failed_webhook

WORKFLOW = "returned-child"
#: Every demo child's family name ends with this, so the loader can tell it already ran.
MARK = "(demo)"


def _actor(email: str) -> Actor:
    return Actor.of(db.session.scalar(sa.select(User).where(User.email == email)))


def _register(risk: str, given: str, family: str, sex: str, region: str, languages: list[str],
              birth_date: date | None = None, estimated_age: int | None = None) -> Case:
    child = cases.ChildData(given_name=given, family_name=f"{family} {MARK}", sex=sex, region=region,
                            birth_date=birth_date, estimated_age=estimated_age, languages=languages)
    return cases.register_case(WORKFLOW, risk, child, _actor("social@demo.kz"))


def _consent(case: Case, given_by: str, relationship: str, types: list[str]) -> None:
    data = cases.ConsentData(given_by=given_by, relationship_to_child=relationship, agency_types=types,
                             given_on=date.today() - timedelta(days=2))
    cases.record_consent(case.id, data, _actor("social@demo.kz"))


def _interview(case: Case, who: str, kind: str, topic: str, days_ago: int, summary: str) -> None:
    data = interviews.InterviewData(kind=kind, topic=topic, held_on=date.today() - timedelta(days=days_ago),
                               summary=summary, shared_with=["health", "justice", "social"])
    interviews.record_interview(case.id, data, _actor(who))


def _refer(case: Case, stage: str, agency: str, reason: str, sender: str = "social@demo.kz"):
    return referrals.refer(case.id, stage, agency, reason, _actor(sender))


def _act(referral, action: str, who: str, **text) -> None:
    referrals.act(referral.id, action, referral.version, _actor(who), **text)


def load_demo_cases() -> list[Case]:
    """Create the demo cases unless they exist; return the cases created (none on a second run)."""
    if db.session.scalar(sa.select(Case.id).where(Case.family_name.like(f"%{MARK}")).limit(1)) is not None:
        return []

    # Waiting in the clinic's inbox (and the prosecutor's): asked, not yet answered.
    waiting = _register("high", "Amina", "Samplova", "female", "KZ-71", ["kk", "ru", "ar"], estimated_age=9)
    _consent(waiting, "Gulnara Samplova (demo)", "grandmother", ["health", "justice", "civil_society"])
    _refer(waiting, "health-screening", "astana-childrens-clinic",
           "Arrived last week; cough, thin, has not been vaccinated. Speaks some Kazakh, Arabic at home.")
    _refer(waiting, "legal-status-review", "astana-juvenile-prosecutor",
           "Returned with the mother; please confirm the child's status as a victim.")

    # Accepted and under way.
    busy = _register("medium", "Daniyar", "Fictionov", "male", "KZ-71", ["ru"], birth_date=date(2013, 5, 14))
    _consent(busy, "Marat Fictionov (demo)", "uncle, temporary guardian", ["health", "justice"])
    screening = _refer(busy, "health-screening", "astana-childrens-clinic", "Routine screening after return.")
    _act(screening, "accept", "health@demo.kz")
    _act(screening, "start", "health@demo.kz")
    # What the child has already told and been examined for, so that the prosecutor does not ask again.
    _interview(busy, "social@demo.kz", "interview", "The journey back and who he lives with now", 3,
               "Came back by bus with his uncle. Lives with the uncle's family; feels safe there. Does not want "
               "to talk about his father; do not press.")
    _interview(busy, "health@demo.kz", "medical_examination", "General health, vaccinations", 1,
               "Underweight, otherwise healthy. Vaccinations to be caught up over three months.")
    review = _refer(busy, "legal-status-review", "astana-juvenile-prosecutor", "Victim status to be confirmed.")
    _act(review, "accept", "justice@demo.kz")

    # Refused by the clinic, with the reason the sender needs to re-route.
    refused = _register("low", "Zarina", "Inventova", "female", "KZ-71", ["kk"], birth_date=date(2016, 9, 1))
    _consent(refused, "Aliya Inventova (demo)", "mother", ["health"])
    screening = _refer(refused, "health-screening", "astana-childrens-clinic", "Needs a dental and eye check.")
    _act(screening, "reject", "health.supervisor@demo.kz",
         reason="No paediatric dentist until next month; please refer to the city hospital.")

    # All the way home and closed.
    done = _register("medium", "Ruslan", "Madeupov", "male", "KZ-79", ["kk", "ru"], estimated_age=15)
    assessment = _refer(done, "initial-assessment", "astana-family-support", "Joint assessment on arrival.")
    _act(assessment, "accept", "social@demo.kz")
    plan = _refer(done, "rehabilitation-plan", "almaty-rehab-centre", "Assessment done; plan needed.")
    _act(plan, "accept", "rehab@demo.kz")
    handover = _refer(done, "home-district-handover", "shymkent-social-services",
                      "Family found in Shymkent; return home directly.", sender="rehab@demo.kz")
    _act(handover, "accept", "shymkent@demo.kz")
    review = _refer(done, "periodic-review", "shymkent-social-services", "Settled at home and at school.",
                    sender="shymkent@demo.kz")
    _act(review, "accept", "shymkent@demo.kz")
    closing = _refer(done, "closed", "shymkent-social-services", "Reintegration achieved.", sender="shymkent@demo.kz")
    _act(closing, "accept", "shymkent@demo.kz")
    _act(closing, "complete", "shymkent@demo.kz", outcome="Living with the family, attending school.")
    db.session.flush()
    return [waiting, busy, refused, done, *_history()]


def _history() -> list[Case]:
    """Cases of the last three months, back-dated: met and missed deadlines, a refusal, a failed webhook."""
    made = []
    # Answered within hours and completed: deadlines met.
    for days_ago, risk, hours, given in ((85, "medium", 5, "Alibek"), (70, "low", 20, "Madina"),
                                         (40, "high", 3, "Yerlan")):
        case = _register(risk, given, "Historova", "male" if given != "Madina" else "female", "KZ-71", ["kk"],
                         estimated_age=11)
        backdate_case(case, days_ago + 0.5)
        _consent(case, "Guardian (demo)", "mother", ["health", "justice"])
        screening = _refer(case, "health-screening", "astana-childrens-clinic", "Health check after return.")
        _act(screening, "accept", "health@demo.kz")
        _act(screening, "complete", "health@demo.kz", outcome="Healthy; vaccinations planned.")
        backdate_referral(screening, days_ago, answered_after_hours=hours, closed_after_days=4)
        registration = case.referrals[0]
        _act(registration, "complete", "social@demo.kz", outcome="Registered; guardian found.")
        backdate_referral(registration, days_ago + 0.5, answered_after_hours=0, closed_after_days=1)
        # Nothing is left open: the region's coordinator closes it, as a finished case should be.
        stuck.close_case(case.id, "Health check done; the family needs nothing more.", _actor("coordinator@demo.kz"))
        made.append(case)
    # Answered two days late, then refused: the respond deadline was missed.
    late = _register("high", "Samat", "Historov", "male", "KZ-71", ["ru"], estimated_age=14)
    backdate_case(late, 60.5)
    _consent(late, "Guardian (demo)", "father", ["health", "justice"])
    review = _refer(late, "legal-status-review", "astana-juvenile-prosecutor", "Status as a victim to confirm.")
    _act(review, "reject", "justice@demo.kz", reason="Belongs to the regional office; please refer there.")
    backdate_referral(review, 60, answered_after_hours=72)
    made.append(late)
    # Never answered: overdue for weeks; the scheduler escalates it on its first sweep. Its webhook failed.
    silent = _register("high", "Dilnaz", "Historova", "female", "KZ-71", ["kk"], estimated_age=8)
    backdate_case(silent, 21.5)
    _consent(silent, "Guardian (demo)", "grandmother", ["health"])
    asked = _refer(silent, "health-screening", "astana-childrens-clinic", "Fever and cough since arrival.")
    backdate_referral(asked, 21)
    failed_webhook("astana-childrens-clinic", silent, asked, 21)
    made.append(silent)
    # Accepted in time, but the work is past its completion deadline: overdue now.
    slow = _register("medium", "Arman", "Historov", "male", "KZ-75", ["kk", "ru"], estimated_age=12)
    backdate_case(slow, 35.5)
    assessment = _refer(slow, "initial-assessment", "almaty-rehab-centre", "Joint assessment on arrival.")
    _act(assessment, "accept", "rehab@demo.kz")
    backdate_referral(assessment, 35, answered_after_hours=30)
    made.append(slow)
    db.session.flush()
    return made

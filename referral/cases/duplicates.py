"""Possible duplicates (DESIGN.md §12): never open a second file for a child who is already known.

Before a case is registered, the child is compared with every case in the system, whoever holds it: the
names folded across scripts as search folds them (``names.fold``), one typo allowed in one name — one
insert, delete, substitution or swap of neighbours, counted by rapidfuzz's OSA distance at each step of
folding (``names.spellings``) — and the same birth date, or ages within a year where one side only has an
estimate. A match says what a summary says (number, age, sex, region, status) and which agencies hold the
case, never a name or a birth date, so that the user asks the holding agency instead of starting again
(``ask_holders``).

SQL narrows the candidates first: one name at most has the typo, so the other one is the same once folded
and is found on the indexed ``given_key`` or ``family_key``; the sex and the years of birth narrow them
further. Python then compares the few that are left. Every check is audited, and so is each case it showed.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from rapidfuzz.distance import OSA

from agencies import Permission
from agencies.visibility import HOLDING_STATUSES
from workflows.lifecycle import ACTIVE_STATUSES

from ..actors import Actor, require
from ..audit.models import AuditEntry
from ..audit.service import record
from ..directory.models import Agency
from ..errors import Conflict, Forbidden, NotFound
from ..extensions import db, utcnow
from ..notifications.service import notify_agency
from ..referrals.models import Referral
from .models import Case, CaseStatus, Sex
from .names import NAME_KEY_LENGTH, spellings
from .service import ChildData, register_case, years_between

#: The most matches one check returns, best first.
MAX_MATCHES = 20
#: How long after a check showed a case the user may ask its holders about it.
INQUIRY_WINDOW = timedelta(days=1)

#: What each kind of evidence leaves of a perfect score of 1.
ONE_TYPO = 0.9  # one name one edit away
SWAPPED_NAMES = 0.9  # the given and family names written in each other's field
DAY_MONTH_SWAPPED = 0.85  # 03.05 written for 05.03
SAME_AGE = 0.85  # no common birth date: the ages (one of them estimated) agree
AGE_ONE_YEAR_APART = 0.75
SEX_UNKNOWN = 0.9  # one side does not know the sex
PATRONYMIC_DIFFERS = 0.85  # both have one and they differ (ұлы / -ович forms of one father's name do)


@dataclass(frozen=True)
class Match:
    """A case whose child may be the one being registered, as far as a summary tells: no name, no birth date."""

    case_id: int
    number: str
    #: 1 when the names, the birth date and the sex all agree; lower for each piece of weaker evidence.
    score: float
    region: str
    age: int | None
    sex: Sex
    status: CaseStatus
    #: Codes of the agencies that work on the case now (or, where none does, that held it).
    held_by: list[str]


@dataclass(frozen=True)
class Registration:
    """A case just registered, and the possible duplicates known before it was."""

    case: Case
    possible_duplicates: list[Match]


@dataclass(frozen=True)
class Inquiry:
    """The holding agencies of a case, asked to get in touch with the agency that is registering a child."""

    case_id: int
    number: str
    asked: list[str]
    asked_at: datetime


def _edits(one: tuple[str, ...], other: tuple[str, ...]) -> int:
    """Return 0 or 1 edits between two names' spellings (``names.spellings``), or 2 for anything further.

    The fewest edits at any step of folding count: a typo in Cyrillic is one edit in Cyrillic, while the
    same name in Latin letters is the same once folded.
    """
    best = 2
    for mine, theirs in zip(one, other, strict=True):
        if mine and theirs:
            best = min(best, OSA.distance(mine, theirs, score_cutoff=1))
    return best


def names_score(given: tuple, family: tuple, other_given: tuple, other_family: tuple) -> float | None:
    """Return how well two pairs of names agree, each given as its ``names.spellings``: one typo in one name at
    most, or None if they do not."""
    best = None
    for factor, (first, last) in ((1.0, (other_given, other_family)), (SWAPPED_NAMES, (other_family, other_given))):
        edits = _edits(given, first) + _edits(family, last)
        if edits <= 1:
            score = factor * (ONE_TYPO if edits else 1.0)
            best = score if best is None else max(best, score)
    return best


def _day_month_swapped(day: date) -> date | None:
    if day.day > 12 or day.day == day.month:
        return None
    return date(day.year, day.day, day.month)


def age_now(birth_date: date | None, estimated_age: int | None, estimated_on: date | None, today: date) -> int | None:
    """Return a child's age in whole years today: from the birth date, or the estimate aged since it was made."""
    if birth_date is not None:
        return years_between(birth_date, today)
    if estimated_age is None:
        return None
    return estimated_age + (years_between(estimated_on, today) if estimated_on is not None else 0)


def birth_score(birth_date: date | None, age: int | None, other_birth_date: date | None, other_age: int | None
                ) -> float | None:
    """Return how well two children's births agree: the same date, or ages within a year where one is estimated."""
    if birth_date is not None and other_birth_date is not None:
        if birth_date == other_birth_date:
            return 1.0
        return DAY_MONTH_SWAPPED if _day_month_swapped(birth_date) == other_birth_date else None
    if age is None or other_age is None:
        return None
    return {0: SAME_AGE, 1: AGE_ONE_YEAR_APART}.get(abs(age - other_age))


def sex_score(sex: str, other_sex: str) -> float | None:
    """Return how well two recorded sexes agree: None when both are known and differ."""
    if Sex.unknown in (sex, other_sex):
        return SEX_UNKNOWN
    return 1.0 if sex == other_sex else None


def _patronymic_factor(patronymic: tuple, other_patronymic: str | None) -> float:
    if not patronymic[-1] or not other_patronymic:
        return 1.0  # not written down on one side: no evidence either way
    return 1.0 if _edits(patronymic, spellings(other_patronymic)) <= 1 else PATRONYMIC_DIFFERS


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _candidates(child: ChildData, names: list[str], age: int, today: date) -> sa.Select:
    """Return a select of the cases that could match: one of the names the same, a compatible sex and birth.

    The indexes on (``given_key``, ``born_about``) and (``family_key``, ``born_about``) find them: either
    name may stand in either field (a registration that swapped them is still the child), and a window of
    three years around the child's year of birth holds every birth the rules below may accept.
    """
    keys = [name[:NAME_KEY_LENGTH] for name in names]
    born = today.year - age
    window = Case.born_about.between(born - 3, born + 3)
    named = sa.or_(sa.and_(Case.given_key.in_(keys), window), sa.and_(Case.family_key.in_(keys), window))
    statement = sa.select(Case.id, Case.number, Case.given_name, Case.family_name, Case.patronymic,
                          Case.birth_date, Case.estimated_age, Case.created_at, Case.sex, Case.region,
                          Case.status).where(named)
    if child.sex != Sex.unknown:
        statement = statement.where(Case.sex.in_([Sex(child.sex), Sex.unknown]))
    lowest, highest = age - 1, age + 1
    if child.birth_date is not None:
        dated = Case.birth_date.in_([day for day in (child.birth_date, _day_month_swapped(child.birth_date)) if day])
    else:
        dated = sa.and_(Case.birth_date > _years_ago(today, highest + 1), Case.birth_date <= _years_ago(today, lowest))
    # An estimate ages with the case: the year it was made less the estimate is about the year of birth.
    estimated = sa.and_(Case.birth_date.is_(None),
                        Case.born_about.between(today.year - highest - 1, today.year - lowest))
    return statement.where(sa.or_(dated, estimated))


def holders(case_ids) -> dict[int, list[Agency]]:
    """Return, by case, the agencies working on it now (an active referral), or those that held it if none does."""
    working: dict[int, dict[int, Agency]] = {case_id: {} for case_id in case_ids}
    held: dict[int, dict[int, Agency]] = {case_id: {} for case_id in case_ids}
    if not working:
        return {}
    for case_id, agency in db.session.execute(sa.select(Case.id, Agency).join(
            Agency, Agency.id == Case.registered_by_agency_id).where(Case.id.in_(working))):
        held[case_id][agency.id] = agency
    for case_id, status, agency in db.session.execute(sa.select(Referral.case_id, Referral.status, Agency).join(
            Agency, Agency.id == Referral.to_agency_id).where(Referral.case_id.in_(working))):
        if status in ACTIVE_STATUSES:
            working[case_id][agency.id] = agency
        if status.value in HOLDING_STATUSES:
            held[case_id][agency.id] = agency
    return {case_id: sorted((working[case_id] or held[case_id]).values(), key=lambda agency: agency.code)
            for case_id in working}


def find_matches(child: ChildData, actor: Actor, *, via: str = "check", today: date | None = None) -> list[Match]:
    """Return the cases whose child may be this one, best first, as summaries only; audit the check.

    Every case in the system is compared, whoever holds it. Raise Forbidden for a role that does not
    register cases.
    """
    require(actor, Permission.register_cases)
    today = today or date.today()
    given, family = spellings(child.given_name), spellings(child.family_name)
    patronymic = spellings(child.patronymic)
    age = age_now(child.birth_date, child.estimated_age, today, today)
    names = sorted({name[-1] for name in (given, family) if name[-1]})
    found: list[tuple[float, object]] = []
    spelled: dict[str, tuple] = {}  # candidates share names: each is spelled once per check

    def spelling(name: str) -> tuple:
        if name not in spelled:
            spelled[name] = spellings(name)
        return spelled[name]

    if names and age is not None:
        for row in db.session.execute(_candidates(child, names, age, today)):
            other_age = age_now(row.birth_date, row.estimated_age, row.created_at.date(), today)
            factors = (names_score(given, family, spelling(row.given_name), spelling(row.family_name)),
                       birth_score(child.birth_date, age, row.birth_date, other_age),
                       sex_score(child.sex, row.sex))
            if None in factors:
                continue
            score = factors[0] * factors[1] * factors[2] * _patronymic_factor(patronymic, row.patronymic)
            found.append((round(score, 2), other_age, row))
    found.sort(key=lambda item: (-item[0], item[2].number))
    found = found[:MAX_MATCHES]
    held = holders([row.id for _, _, row in found])
    matches = [Match(case_id=row.id, number=row.number, score=score, region=row.region, age=other_age, sex=row.sex,
                     status=row.status, held_by=[agency.code for agency in held[row.id]])
               for score, other_age, row in found]
    # The names typed are the child's: the log keeps how many were found and which cases were shown.
    record(actor, "case.matches", None, None, {"via": via, "count": len(matches),
                                               "cases": [match.case_id for match in matches]})
    for match in matches:
        record(actor, "case.matched", "case", match.case_id, {"score": match.score, "via": via})
    db.session.flush()  # the entries of one check in one statement
    return matches


def register_checked(workflow_key: str, risk_level: str, child: ChildData, actor: Actor) -> Registration:
    """Register a case (see ``register_case``) and return it with the possible duplicates found just before.

    A possible duplicate never stops a registration: the caller decides.
    """
    matches = find_matches(child, actor, via="register")
    return Registration(case=register_case(workflow_key, risk_level, child, actor), possible_duplicates=matches)


def _shown_to(case_id: int, actor: Actor, since: datetime) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(
        AuditEntry.action == "case.matched", AuditEntry.object_type == "case",
        AuditEntry.object_id == str(case_id), AuditEntry.actor_user_id == actor.user_id,
        AuditEntry.occurred_at >= since)))


def ask_holders(case_id: int, actor: Actor) -> Inquiry:
    """Ask the agencies holding a case that a check showed as a possible duplicate to get in touch.

    Their staff are told the case number and the asking agency, never the child's name. Raise Forbidden
    (a role that does not register cases, or no person), NotFound (no such case shown to the actor by a
    check in the last day) or Conflict (the actor's agency holds the case itself).
    """
    require(actor, Permission.register_cases)
    if actor.user is None:
        raise Forbidden(_l("Only a person asks another agency about a child."))
    now = utcnow()
    case = db.session.get(Case, case_id)
    if case is None or not _shown_to(case.id, actor, now - INQUIRY_WINDOW):
        raise NotFound(_l("No such case among the possible duplicates shown to you in the last day."))
    asked = holders([case.id])[case.id]
    if any(agency.id == actor.agency_id for agency in asked):
        raise Conflict(_l("Your agency holds case %(number)s: open it from the case list.", number=case.number),
                       problems=[{"code": "already_holding",
                                  "message": _l("Your agency works on this case; there is no one else to ask.")}])
    for agency in asked:
        # Pressed twice in a day, the holders still hear once.
        notify_agency(agency.id, "case.inquiry", {"case": case.number, "agency": actor.user.agency.name},
                      case_id=case.id, dedupe=f"inquiry:{case.id}:{actor.agency_id}:{agency.id}:{now.date()}")
    codes = [agency.code for agency in asked]
    record(actor, "case.inquiry", "case", case.id, {"asked": codes})
    return Inquiry(case_id=case.id, number=case.number, asked=codes, asked_at=now)

"""Open cases with nothing open: no referral of them waits for an answer or is being worked on.

Nothing happens to such a case until a person acts: the agency where it stopped refers it onward
(routing lets it go on from the stage it ended, see ``where_it_stopped``), or a coordinator of its
region closes it with a reason. Lists of them obey the rule of a single read, like every list.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies.visibility import HOLDING_STATUSES
from workflows.lifecycle import OPEN_STATUSES, ReferralStatus

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db, utcnow
from ..locking import lock_case
from ..notifications.service import notify_agency
from ..referrals.models import Referral
from . import service as cases
from .models import Case, CaseStatus

#: The longest reason a coordinator may give for closing a case, in characters.
MAX_CLOSE_REASON = 2000

#: A referral that ended with the work done or given up: the case stays where that stage left it.
_ENDED = frozenset({ReferralStatus.completed, ReferralStatus.failed})
_HOLDING = frozenset(ReferralStatus(status) for status in HOLDING_STATUSES)


def stuck_condition():
    """Return a SQL condition on Case: the case is open and none of its referrals is."""
    return sa.and_(Case.status == CaseStatus.open,
                   ~sa.exists().where(Referral.case_id == Case.id, Referral.status.in_(OPEN_STATUSES)))


def is_stuck(case: Case) -> bool:
    """Return whether a case is open with no referral open, so that no one can act on it as it is."""
    return case.status is CaseStatus.open and not any(r.status in OPEN_STATUSES for r in case.referrals)


def stuck_cases_query(actor: Actor, *, text: str = "", **filters) -> sa.Select:
    """Return a select of the stuck cases the actor may see (as a single read allows), newest first."""
    return cases.cases_query(actor, text=text, status=CaseStatus.open.value, **filters).where(stuck_condition())


def stuck_count(actor: Actor) -> int:
    """Return how many stuck cases the actor may see."""
    listed = stuck_cases_query(actor).order_by(None).with_only_columns(Case.id).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(listed))


def where_it_stopped(case: Case) -> list[Referral]:
    """Return the referrals of a stuck case that ended with no one carrying the case on from them.

    Their agencies may refer the case onward from their stages. Empty for a case that is not stuck,
    and for one whose referrals were all cancelled or rejected (only closing is left).
    """
    if not is_stuck(case):
        return []
    carried_on = {r.parent_id for r in case.referrals if r.parent_id is not None and r.status in _HOLDING}
    return [r for r in case.referrals if r.status in _ENDED and r.id not in carried_on]


def may_close(case: Case, actor: Actor) -> bool:
    """Return whether the actor may close the case by hand now: a stuck case, its region's coordinator or an admin."""
    return is_stuck(case) and cases.oversees(case, actor)


def close_case(case_id: int, reason: str, actor: Actor) -> Case:
    """Close an open case on which no referral is open, with the coordinator's reason.

    The reason goes on the case's timeline only: it may name people, so the audit entry, the
    notifications and their e-mails and webhooks carry the case number alone. Raise NotFound (a case
    the actor may not see), Forbidden (not a coordinator of the case's region, nor an admin),
    Conflict (closed already, or a referral still open) or Invalid (no reason, or a reason too long).
    """
    case = cases.full_case(case_id, actor)
    if not cases.oversees(case, actor):
        raise Forbidden(_l("Only a coordinator of the case's region can close it."))
    case = lock_case(case.id)
    if case.status is CaseStatus.closed:
        raise Conflict(_l("Case %(number)s is already closed.", number=case.number))
    still_open = db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.case_id == case.id, Referral.status.in_(OPEN_STATUSES)))
    if still_open:
        raise Conflict(
            _l("Case %(number)s has an open referral again, so it cannot be closed by hand.", number=case.number),
            problems=[{"code": "open_referrals",
                       "message": _l("Cancel its open referrals first (each with a reason, so that both agencies "
                                     "are told), or let them finish.")}])
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise Invalid(_l("Say why the case is closed."), errors={"reason": [str(_l("Say why the case is closed."))]})
    if len(reason) > MAX_CLOSE_REASON:
        message = _l("Keep the reason under %(count)s characters.", count=MAX_CLOSE_REASON)
        raise Invalid(message, errors={"reason": [str(message)]})

    # The state it changes is in the WHERE: of two coordinators closing at once, one closes it.
    closed = db.session.execute(sa.update(Case).where(Case.id == case.id, Case.status == CaseStatus.open)
                                .values(status=CaseStatus.closed, closed_at=utcnow()))
    if closed.rowcount != 1:
        raise Conflict(_l("Case %(number)s is already closed.", number=case.number))
    cases.add_event(case, actor, "case.closed", from_status=CaseStatus.open, to_status=CaseStatus.closed,
                    reason=reason)
    record(actor, "case.close", "case", case.id, {"number": case.number, "nothing_open": True})
    for agency_id in sorted(cases.facts_of(case).holding_agencies):
        notify_agency(agency_id, "case.closed", {"case": case.number}, case_id=case.id,
                      exclude_user_id=actor.user_id)
    db.session.flush()
    return case

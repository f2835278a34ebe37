"""Who inside the receiving agency works a referral (DESIGN.md §12, FHIR Task ``owner``).

Staff take an open referral themselves or give it back; supervisors (and the roles above them) of the
receiving agency give it to any of its active users. Assigning is a change of the referral: it raises the
version, goes on the timeline and in the audit log, and tells the new assignee.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Permission, has_permission
from workflows.lifecycle import TERMINAL_STATUSES

from ..actors import Actor
from ..audit.service import record
from ..auth.models import User
from ..cases import service as cases
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..locking import lock_case_of_referral
from ..notifications.service import notify_users
from .lifecycle import check_version, flush_or_conflict
from .models import Referral
from .reading import get_referral, notice_params


def may_assign(referral: Referral, actor: Actor, *, others: bool = False) -> bool:
    """Return whether the actor may assign the referral (to someone else, with ``others``) now."""
    if actor.user is None or referral.status in TERMINAL_STATUSES or actor.agency_id != referral.to_agency_id:
        return False
    if not has_permission(actor.role, Permission.act_on_referrals):
        return False
    return not others or has_permission(actor.role, Permission.assign_referrals)


def assignable_users(referral: Referral) -> list[User]:
    """Return the receiving agency's active users, by name: whom a supervisor may assign the referral to."""
    return list(db.session.scalars(sa.select(User).where(User.agency_id == referral.to_agency_id,
                                                         User.is_active_account.is_(True))
                                   .order_by(User.name, User.id)))


def assign(referral_id: int, assignee_email: str | None, version: int | None, actor: Actor) -> Referral:
    """Give the referral to a user of the receiving agency, or to nobody (None); return it.

    Raise NotFound (not visible), Conflict (stale version, or the referral is closed), Forbidden (not the
    receiving agency, or staff assigning someone else) or Invalid (problem ``assignee_not_in_agency``).
    """
    # Kept while the action runs: the case holds the referrals the lock read, so that none is read again.
    locked = lock_case_of_referral(referral_id)  # noqa: F841
    referral = get_referral(referral_id, actor)
    check_version(referral, version)
    if referral.status in TERMINAL_STATUSES:
        raise Conflict(_l("The referral is closed; it can no longer be assigned."))
    if not may_assign(referral, actor):
        raise Forbidden(_l("Only the receiving agency assigns its referrals."))
    assignee = None
    if assignee_email is not None:
        assignee = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == assignee_email.lower()))
        if assignee is None or assignee.agency_id != referral.to_agency_id or not assignee.is_active_account:
            raise Invalid(_l("This referral cannot be assigned to that person."), problems=[{
                "code": "assignee_not_in_agency",
                "message": str(_l("Only an active user of the receiving agency can be assigned its referral."))}])
    # Staff take a referral or give it back; giving it to, or taking it from, someone else is a supervisor's.
    touches_others = (assignee is not None and assignee.id != actor.user_id) or (
        assignee is None and referral.assignee_user_id not in (None, actor.user_id))
    if touches_others and not may_assign(referral, actor, others=True):
        raise Forbidden(_l("Only a supervisor assigns a referral to someone else."))
    new_id = assignee.id if assignee is not None else None
    if new_id == referral.assignee_user_id:
        return referral
    referral.assignee_user_id = new_id
    flush_or_conflict()
    case = referral.case
    cases.add_event(case, actor, "referral.assigned" if assignee is not None else "referral.unassigned",
                    referral=referral, stage=referral.to_stage,
                    assignee=assignee.name if assignee is not None else None)
    record(actor, "referral.assign", "referral", referral.id,
           {"case": case.number, "assignee_user_id": new_id})
    if assignee is not None and assignee.id != actor.user_id:
        stage = cases.definition_of(case).stage(referral.to_stage)
        notify_users([assignee.id], "referral.assigned", notice_params(case, stage, referral.to_agency),
                     case_id=case.id, referral_id=referral.id)
    db.session.flush()
    return referral

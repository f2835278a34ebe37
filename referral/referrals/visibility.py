"""Which referrals an actor may see, as one SQL condition: the rule of a single read, for every list."""

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from agencies import Permission, has_permission
from agencies.visibility import ASKED_STATUSES, HOLDING_STATUSES
from workflows.lifecycle import ReferralStatus

from ..actors import Actor
from ..cases.models import Case
from .models import Referral

_HOLDING = [ReferralStatus(status) for status in HOLDING_STATUSES]
_ASKED = [ReferralStatus(status) for status in ASKED_STATUSES]
#: Another referral of the same case; built once, as adapting a fresh alias's columns costs more than the query.
_OTHER = aliased(Referral)


def visible_condition(actor: Actor):
    """Return a SQL condition on Referral (joined with Case) true exactly when ``may_see`` is.

    Every list of referrals uses it, so a list never holds a referral that is 404 when opened.
    """
    if actor.user is None or has_permission(actor.role, Permission.view_all_cases):
        return sa.true()
    mine = actor.agency_id
    other = _OTHER
    holds = sa.or_(
        Case.registered_by_agency_id == mine,
        sa.exists().where(other.case_id == Case.id, other.to_agency_id == mine, other.status.in_(_HOLDING)),
    )
    full = holds
    if has_permission(actor.role, Permission.view_region_cases):
        full = sa.or_(holds, Case.region == actor.user.agency.region)
    asked_here = sa.and_(
        Referral.to_agency_id == mine,
        sa.exists().where(other.case_id == Case.id, other.to_agency_id == mine, other.status.in_(_ASKED)),
    )
    return sa.or_(full, asked_here, Referral.from_agency_id == mine)

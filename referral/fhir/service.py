"""Which referrals a caller may read as FHIR Tasks: the same rule as a single read, in SQL for searches."""

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager

from agencies import Permission, has_permission
from agencies.visibility import ASKED_STATUSES, HOLDING_STATUSES
from workflows.lifecycle import ReferralStatus

from ..actors import Actor
from ..audit.service import record
from ..cases.models import Case
from ..directory.models import Agency
from ..extensions import db
from ..referrals import service as referrals
from ..referrals.models import Referral

_HOLDING = [ReferralStatus(status) for status in HOLDING_STATUSES]
_ASKED = [ReferralStatus(status) for status in ASKED_STATUSES]


def readable_condition(actor: Actor):
    """Return a SQL condition on Referral (joined with Case) true exactly when ``referrals.may_see`` is."""
    if actor.user is None or has_permission(actor.role, Permission.view_all_cases):
        return sa.true()
    mine = actor.agency_id
    other = aliased(Referral)
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


def read_task(referral_id: int, actor: Actor) -> Referral:
    """Return a referral the actor may read, audited as a read through FHIR; raise NotFound otherwise."""
    referral = referrals.get_referral(referral_id, actor)
    record(actor, "referral.read", "referral", referral.id, {"via": "fhir", "case": referral.case.number})
    return referral


def search_tasks(actor: Actor, owner_code: str | None, status: ReferralStatus | None,
                 offset: int, limit: int) -> tuple[list[Referral], int]:
    """Return one page of the referrals the actor may read, by receiving agency and status, and their total.

    Each Task returned is audited as a read.
    """
    conditions = [readable_condition(actor)]
    if owner_code is not None:
        conditions.append(Referral.to_agency_id.in_(sa.select(Agency.id).where(Agency.code == owner_code)))
    if status is not None:
        conditions.append(Referral.status == status)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(Referral).join(Case, Case.id == Referral.case_id).where(*conditions))
    rows = list(db.session.scalars(
        sa.select(Referral).join(Case, Case.id == Referral.case_id).options(contains_eager(Referral.case))
        .where(*conditions).order_by(Referral.id).offset(offset).limit(limit)
    ))
    for referral in rows:
        record(actor, "referral.read", "referral", referral.id, {"via": "fhir-search", "case": referral.case.number})
    return rows, total

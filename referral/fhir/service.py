"""Which referrals a caller may read as FHIR Tasks: the same rule as a single read, in SQL for searches."""

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from workflows.lifecycle import ReferralStatus

from ..actors import Actor
from ..audit.service import record
from ..cases.models import Case
from ..directory.models import Agency
from ..extensions import db
from ..referrals import service as referrals
from ..referrals.models import Referral
from ..referrals.visibility import visible_condition


def read_task(referral_id: int, actor: Actor) -> Referral:
    """Return a referral the actor may read, audited as a read through FHIR; raise NotFound otherwise."""
    return referrals.read_referral(referral_id, actor, via="fhir")


def search_tasks(actor: Actor, owner_code: str | None, status: ReferralStatus | None,
                 offset: int, limit: int) -> tuple[list[Referral], int]:
    """Return one page of the referrals the actor may read, by receiving agency and status, and their total.

    Each Task returned is audited as a read.
    """
    conditions = [visible_condition(actor)]
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

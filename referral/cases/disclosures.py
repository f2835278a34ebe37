"""Disclosures: who read or received a child's record, and when, from the audit log (DESIGN §13).

A guardian or an inspector may ask who saw the file; the answer is one row per agency, role and kind of
disclosure, with how often and when last.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..actors import Actor
from ..audit.models import AuditEntry
from ..audit.service import record
from ..auth.models import User
from ..directory.models import Agency
from ..extensions import db
from ..referrals.models import Referral
from .service import full_case

#: What each audited action disclosed of the child's record.
DISCLOSED = {
    "case.read": "full",
    "case.notes.read": "full",
    "case.read_summary": "summary",
    "referral.read": "summary",
    "referral.messages.read": "summary",
    "case.export": "export",
    "case.notified": "notification",
    "case.webhook_sent": "webhook",
}
#: Disclosures the system made to an agency (the agency is in the entry's detail), not reads by a user.
SENT = frozenset({"case.notified", "case.webhook_sent"})
KINDS = ("summary", "full", "export", "notification", "webhook")


@dataclass(frozen=True)
class Disclosure:
    """What an agency's users of one role (or the agency itself, for what was sent to it) had of the record."""

    agency: str
    role: str | None
    what: str
    count: int
    at: datetime


def disclosures_of(case_id: int, actor: Actor) -> list[Disclosure]:
    """Return who read or received the case's record, latest first, for a reader of the full record (audited);
    raise NotFound."""
    case = full_case(case_id, actor)
    referral_ids = [str(row) for row in db.session.scalars(sa.select(Referral.id).where(Referral.case_id == case.id))]
    about_case = sa.and_(AuditEntry.object_type == "case", AuditEntry.object_id == str(case.id))
    about_referrals = sa.and_(AuditEntry.object_type == "referral", AuditEntry.object_id.in_(referral_ids))
    rows = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.occurred_at, AuditEntry.detail, User.role, Agency.code)
        .outerjoin(User, User.id == AuditEntry.actor_user_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .where(AuditEntry.action.in_(DISCLOSED), sa.or_(about_case, about_referrals) if referral_ids else about_case)
    )
    grouped: dict[tuple, list] = {}
    for action, occurred_at, detail, role, agency_code in rows:
        if action in SENT:
            agency_code, role = (detail or {}).get("agency"), None
        elif agency_code is None:
            continue  # a system process read it, not an agency
        key = (agency_code, getattr(role, "value", role), DISCLOSED[action])
        seen = grouped.setdefault(key, [0, occurred_at])
        seen[0] += 1
        seen[1] = max(seen[1], occurred_at)
    found = [Disclosure(agency=agency, role=role, what=what, count=count, at=at)
             for (agency, role, what), (count, at) in grouped.items()]
    found.sort(key=lambda d: (-d.at.timestamp(), d.agency or "", KINDS.index(d.what)))
    record(actor, "case.disclosures.read", "case", case.id, {"rows": len(found)})
    return found

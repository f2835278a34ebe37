"""Data that does not outlive its purpose: erasing a closed case's personal data after the workflow's retention
period, unless a legal hold keeps it (DESIGN §13).

What identifies the child goes — names, birth date (the year stays), guardians, where the child lives, who
signed the consents — and so do the notes, the messages and the interview findings. The case number, the
stages, the dates and the counts stay, for the statistics an oversight body needs.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workflows.durations import parse_duration

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db, utcnow
from ..locking import lock_case
from ..referrals.models import Referral, ReferralMessage
from .models import Case, CaseNote, CaseStatus, Interview
from .service import add_event, definition_of, full_case, oversees

#: How long a closed case keeps its personal data when its workflow does not say.
DEFAULT_RETENTION = parse_duration("P5Y")
#: What an erased text reads as; the page says in words that the data were erased, and when.
ERASED = "—"
MAX_REASON = 2000


@dataclass
class RetentionRun:
    """What a retention run erased (or, in a dry run, would erase), and what a legal hold kept."""

    as_of: date
    dry_run: bool
    #: ``(case number, the day its retention period ended)``
    erased: list[tuple[str, date]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        return f"retention as of {self.as_of.isoformat()}: {verb} {len(self.erased)}, kept under hold {len(self.held)}"


def retention_ends(case: Case) -> date | None:
    """Return the day the closed case's retention period ends (None while it is open)."""
    if case.closed_at is None:
        return None
    period = definition_of(case).retention or DEFAULT_RETENTION
    return period.add_to(case.closed_at).date()


def run_retention(as_of: date, actor: Actor, *, dry_run: bool = False, batch_size: int = 200) -> RetentionRun:
    """Erase the personal data of every closed case whose retention period ended by ``as_of`` and that is not
    under legal hold; with ``dry_run``, only list them. Each erasure is audited."""
    result = RetentionRun(as_of=as_of, dry_run=dry_run)
    # A case closed after as_of cannot have its (positive) period end by then.
    latest = datetime.combine(as_of, time.max, tzinfo=UTC)
    after = 0
    while True:
        ids = list(db.session.scalars(
            sa.select(Case.id).where(Case.status == CaseStatus.closed, Case.erased_at.is_(None),
                                     Case.closed_at <= latest, Case.id > after)
            .order_by(Case.id).limit(batch_size)))
        if not ids:
            return result
        after = ids[-1]
        for case_id in ids:
            case = db.session.get(Case, case_id)
            ends = retention_ends(case)
            if ends is None or ends > as_of:
                continue
            if case.legal_hold is not None:
                result.held.append(case.number)
                continue
            if not dry_run:
                case = lock_case(case_id)
                if case.erased_at is not None or case.legal_hold is not None:
                    continue  # another scheduler, or a hold placed a moment ago
                erase(case, actor, ends)
            result.erased.append((case.number, ends))


def erase(case: Case, actor: Actor, ended_on: date) -> None:
    """Erase a closed case's personal data in place; the case's number, stages, dates and counts stay."""
    if case.birth_date is not None:
        case.birth_year = case.birth_date.year
    case.given_name = ERASED
    case.family_name = ERASED
    case.patronymic = None
    case.birth_date = None
    case.guardians = []
    case.settlement = None
    case.erased_at = utcnow()
    for consent in case.consents:
        consent.given_by = ERASED
    counts = {
        "notes": _blank(sa.update(CaseNote).where(CaseNote.case_id == case.id).values(text=ERASED)),
        "messages": _blank(sa.update(ReferralMessage).where(ReferralMessage.referral_id.in_(
            sa.select(Referral.id).where(Referral.case_id == case.id))).values(text=ERASED)),
        "interviews": _blank(sa.update(Interview).where(Interview.case_id == case.id).values(summary=ERASED)),
    }
    add_event(case, actor, "case.erased", retention_ended_on=ended_on.isoformat())
    record(actor, "case.erase", "case", case.id,
           {"number": case.number, "retention_ended_on": ended_on.isoformat(), **counts})
    db.session.flush()


def _blank(statement) -> int:
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def place_hold(case_id: int, reason: str | None, actor: Actor) -> Case:
    """Keep a case's data past its retention period (a court, an inquiry), with a reason; raise NotFound,
    Forbidden (not a coordinator of its region nor an admin), Conflict (erased already) or Invalid."""
    case = _overseen(case_id, actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        message = (_l("Say why the case's data must be kept.") if not reason
                   else _l("At most %(count)s characters.", count=MAX_REASON))
        raise Invalid(_l("The legal hold could not be placed."), errors={"reason": [str(message)]})
    if case.erased_at is not None:
        raise Conflict(_l("The case's personal data were already erased."))
    changed = case.legal_hold != reason
    case.legal_hold = reason
    case.legal_hold_at = utcnow()
    add_event(case, actor, "case.hold_placed")
    record(actor, "case.hold", "case", case.id, {"number": case.number, "changed": changed})
    db.session.flush()
    return case


def lift_hold(case_id: int, actor: Actor) -> Case:
    """Lift a case's legal hold (nothing to lift is no error); raise NotFound or Forbidden."""
    case = _overseen(case_id, actor)
    if case.legal_hold is not None:
        case.legal_hold = None
        case.legal_hold_at = None
        add_event(case, actor, "case.hold_lifted")
        record(actor, "case.hold_lift", "case", case.id, {"number": case.number})
        db.session.flush()
    return case


def _overseen(case_id: int, actor: Actor) -> Case:
    case = full_case(case_id, actor)
    if not oversees(case, actor):
        raise Forbidden(_l("Only a coordinator of the case's region or an administrator may place or lift a "
                           "legal hold."))
    return lock_case(case.id)

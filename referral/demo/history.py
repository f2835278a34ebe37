"""A few months of demo history: back-dated referrals with met and missed deadlines, and a failed webhook.

The cases are made through the real services, then their referrals and clocks are moved back in time as if
the work had happened then. Pending clocks that fell due stay pending: the demo's scheduler finds them on its
first sweep and escalates them, so the deadlines page, the notifications and the reports tell a true story.
Timeline events and audit entries are append-only and keep the moment the demo was loaded.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..cases.models import Case
from ..deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from ..directory.models import Agency
from ..extensions import db, utcnow
from ..notifications.models import Channel, Delivery, DeliveryStatus
from ..referrals.models import Referral


def _moved(value: datetime | None, delta: timedelta) -> datetime | None:
    return None if value is None else value - delta


def backdate_case(case: Case, days_ago: float) -> None:
    """Move a case and its registration back by ``days_ago`` days."""
    delta = case.created_at - (utcnow() - timedelta(days=days_ago))
    db.session.execute(sa.update(Case).where(Case.id == case.id).values(
        created_at=case.created_at - delta, updated_at=case.updated_at - delta))
    first = db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id, Referral.from_stage.is_(None)))
    backdate_referral(first, days_ago, answered_after_hours=0)


def backdate_referral(referral: Referral, days_ago: float, *, answered_after_hours: float | None = None,
                      closed_after_days: float | None = None) -> None:
    """Move a referral back so it was sent ``days_ago`` days ago, answered and closed after the delays given.

    Its clocks keep their lengths from the moments that start them; a clock that ran out before its answer
    is missed, one answered in time met; pending ones stay pending for the scheduler.
    """
    now = utcnow()
    created = now - timedelta(days=days_ago)
    responded = None if referral.responded_at is None or answered_after_hours is None else \
        created + timedelta(hours=answered_after_hours)
    closed = None if referral.closed_at is None else (
        created + timedelta(days=closed_after_days) if closed_after_days is not None else responded or created)
    shift_respond = referral.created_at - created
    shift_complete = (referral.responded_at - responded) if responded is not None and referral.responded_at else None
    values = {"created_at": created, "responded_at": responded, "closed_at": closed,
              "respond_by": _moved(referral.respond_by, shift_respond),
              "complete_by": _moved(referral.complete_by, shift_complete) if shift_complete else referral.complete_by}
    values["due_at"] = values["respond_by"] if referral.status.value == "requested" else (
        values["complete_by"] if referral.status.value in ("accepted", "in-progress", "on-hold") else None)
    db.session.execute(sa.update(Referral).where(Referral.id == referral.id).values(**values)
                       .execution_options(synchronize_session=False))
    for deadline in db.session.scalars(sa.select(Deadline).where(Deadline.referral_id == referral.id)):
        shift = shift_respond if deadline.kind is DeadlineKind.respond else (shift_complete or shift_respond)
        due = deadline.due_at - shift
        ended = responded if deadline.kind is DeadlineKind.respond else closed
        update = {"started_at": deadline.started_at - shift, "due_at": due, "created_at": deadline.created_at - shift,
                  "remind_at": [(datetime.fromisoformat(at) - shift).isoformat() for at in deadline.remind_at]}
        if deadline.status is DeadlineStatus.pending:
            update["next_check_at"] = min([datetime.fromisoformat(at) for at in update["remind_at"]] + [due])
        else:
            update["closed_at"] = ended or closed or created
            if deadline.status is DeadlineStatus.met and update["closed_at"] > due:
                update["status"] = DeadlineStatus.missed
        db.session.execute(sa.update(Deadline).where(Deadline.id == deadline.id).values(**update)
                           .execution_options(synchronize_session=False))


def failed_webhook(agency_code: str, case: Case, referral: Referral, days_ago: float) -> None:
    """Record a webhook event the agency's system never took: six attempts refused, given up."""
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == agency_code))
    at = utcnow() - timedelta(days=days_ago)
    event = {"id": f"demo-{referral.id}", "event": "referral.requested", "occurred_at": at.isoformat(),
             "agency": agency.code, "case_id": case.id, "case_number": case.number, "referral_id": referral.id,
             "stage": referral.to_stage, "deadline_kind": None, "due_at": None}
    db.session.add(Delivery(channel=Channel.webhook, status=DeliveryStatus.failed, agency_id=agency.id, payload=event,
                            dedupe_key=f"webhook:demo-history:{referral.id}", attempts=6, next_attempt_at=at,
                            last_error="Connection refused (demo: the agency's receiver was down)", created_at=at))

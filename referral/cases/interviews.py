"""Interviews, assessments, examinations and hearings an agency held with the child.

The case page shows them first, so that nobody plans another interview without reading what the child was
already asked. Their findings are shared only with the agency types the recording agency chose.
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Permission, Visibility, has_permission

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden
from ..extensions import db
from .models import Case, CaseStatus, Interview, InterviewKind
from .service import add_event, full_case, visibility_of


@dataclass(frozen=True)
class InterviewData:
    kind: str
    topic: str
    held_on: date | None
    summary: str
    shared_with: list[str]


def record_interview(case_id: int, data: InterviewData, actor: Actor) -> Interview:
    """Record an interview or assessment (checked by ``InterviewCreateSchema``) the actor's agency held; raise
    NotFound, Forbidden or Conflict."""
    case = full_case(case_id, actor)
    if actor.user is None or not has_permission(actor.role, Permission.record_interviews):
        raise Forbidden(_l("Your role does not allow this."))
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    interview = Interview(case_id=case.id, agency_id=actor.agency_id, conducted_by_user_id=actor.user_id,
                          kind=InterviewKind(data.kind), topic=data.topic, held_on=data.held_on,
                          summary=data.summary, shared_with=data.shared_with)
    db.session.add(interview)
    db.session.flush()
    # The timeline and the audit log say that it happened, never what the child said.
    add_event(case, actor, "interview.recorded", interview_kind=interview.kind.value, agency=actor.user.agency.code)
    record(actor, "interview.create", "case", case.id, {"interview_id": interview.id, "kind": interview.kind.value})
    db.session.flush()
    return interview


def interviews_for(case: Case, actor: Actor) -> list[Interview]:
    """Return the case's interviews and assessments the actor may see, latest first (none below a full view)."""
    if visibility_of(case, actor) is not Visibility.full:
        return []
    return list(db.session.scalars(sa.select(Interview).where(Interview.case_id == case.id)
                                   .order_by(Interview.held_on.desc(), Interview.id.desc())))


@dataclass(frozen=True)
class InterviewRead:
    """An interview as one agency reads it: the findings only where they were shared with it."""

    id: int
    kind: InterviewKind
    agency_code: str
    topic: str
    held_on: date
    summary: str | None
    shared_with: list[str]
    recorded_at: datetime


def as_read_by(interview: Interview, actor: Actor) -> InterviewRead:
    """Return an interview as the actor's agency may read it: its summary withheld unless shared with it."""
    return InterviewRead(id=interview.id, kind=interview.kind, agency_code=interview.agency.code,
                         topic=interview.topic, held_on=interview.held_on,
                         summary=interview.summary if may_read_summary(interview, actor) else None,
                         shared_with=interview.shared_with, recorded_at=interview.recorded_at)


def may_read_summary(interview: Interview, actor: Actor) -> bool:
    """Return whether the actor's agency recorded the interview or is of a type its summary is shared with."""
    if actor.user is None or interview.agency_id == actor.agency_id:
        return True
    return actor.user.agency.type.value in interview.shared_with

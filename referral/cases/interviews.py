"""Interviews, assessments, examinations and hearings an agency held with the child.

The case page shows them first, so that nobody plans another interview without reading what the child was
already asked. Their findings are shared only with the agency types the recording agency chose.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Permission, Visibility, has_permission

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from .models import Case, CaseStatus, Interview, InterviewKind
from .service import AGENCY_TYPES, add_event, full_case, visibility_of


@dataclass(frozen=True)
class InterviewData:
    kind: str
    topic: str
    held_on: date | None
    summary: str
    shared_with: list[str]


def _check_interview(data: InterviewData) -> None:
    errors = {}
    if data.kind not in {k.value for k in InterviewKind}:
        errors["kind"] = [str(_l("Choose an interview, an assessment, a medical examination or a court hearing."))]
    if not (data.topic or "").strip():
        errors["topic"] = [str(_l("Say what the child was asked about or assessed for."))]
    elif len(data.topic.strip()) > 200:
        errors["topic"] = [str(_l("Keep the topic under 200 characters."))]
    if data.held_on is None:
        errors["held_on"] = [str(_l("Give the date it took place."))]
    elif data.held_on > date.today():
        errors["held_on"] = [str(_l("The date cannot be in the future."))]
    if not (data.summary or "").strip():
        errors["summary"] = [str(_l("Write down what the next agency needs to know, so that it does not ask again."))]
    if not data.shared_with or set(data.shared_with) - AGENCY_TYPES:
        errors["shared_with"] = [str(_l("Choose the types of agency that may read the summary."))]
    if errors:
        raise Invalid(_l("The interview record has errors."), errors=errors)


def record_interview(case_id: int, data: InterviewData, actor: Actor) -> Interview:
    """Record an interview or assessment the actor's agency held; raise NotFound, Forbidden, Conflict or Invalid."""
    case = full_case(case_id, actor)
    if actor.user is None or not has_permission(actor.role, Permission.record_interviews):
        raise Forbidden(_l("Your role does not allow this."))
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    _check_interview(data)
    interview = Interview(case_id=case.id, agency_id=actor.agency_id, conducted_by_user_id=actor.user_id,
                          kind=InterviewKind(data.kind), topic=data.topic.strip(), held_on=data.held_on,
                          summary=data.summary.strip(), shared_with=sorted(set(data.shared_with)))
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


def may_read_summary(interview: Interview, actor: Actor) -> bool:
    """Return whether the actor's agency recorded the interview or is of a type its summary is shared with."""
    if actor.user is None or interview.agency_id == actor.agency_id:
        return True
    return actor.user.agency.type.value in interview.shared_with

"""Interviews, assessments, examinations and hearings an agency held with the child.

The case page shows them first, so that nobody plans another interview without reading what the child was
already asked. Their findings are shared only with the agency types the recording agency chose.
"""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from agencies import Permission, Visibility, has_permission

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..locking import lock_case
from .models import Case, CaseStatus, Interview, InterviewKind
from .service import add_event, full_case, visibility_of

#: From this many earlier interviews on, another one needs a justification by a supervisor or above.
JUSTIFIED_FROM = 2


@dataclass(frozen=True)
class InterviewData:
    kind: str
    topic: str
    held_on: date | None
    summary: str
    shared_with: list[str]
    #: The recorder read the earlier interviews and another one is still needed.
    acknowledged_prior: bool = False
    #: Why a third or later interview was needed.
    justification: str | None = None


@dataclass(frozen=True)
class Guard:
    """What recording another forensic interview of the child takes, given the earlier ones."""

    #: The case's earlier interviews (kind ``interview``), latest first.
    prior: list[Interview]
    #: The actor's role may justify a third or later interview.
    may_justify: bool

    @property
    def count(self) -> int:
        return len(self.prior)

    @property
    def needs_acknowledgement(self) -> bool:
        return self.count >= 1

    @property
    def needs_justification(self) -> bool:
        return self.count >= JUSTIFIED_FROM

    @property
    def suggested_agency(self):
        """The agency of the latest earlier interview: the one to ask for a follow-up instead."""
        return self.prior[0].agency if self.prior else None


def guard_of(case: Case, actor: Actor) -> Guard:
    """Return what another forensic interview of the case's child takes for the actor."""
    prior = list(db.session.scalars(
        sa.select(Interview).where(Interview.case_id == case.id, Interview.kind == InterviewKind.interview)
        .order_by(Interview.held_on.desc(), Interview.id.desc())))
    return Guard(prior=prior, may_justify=actor.user is None
                 or has_permission(actor.role, Permission.justify_repeat_interviews))


def _earlier(guard: Guard) -> list[dict]:
    return [{"kind": interview.kind.value, "topic": interview.topic, "held_on": interview.held_on.isoformat(),
             "agency": interview.agency.code} for interview in guard.prior]


def _check_guard(guard: Guard, data: InterviewData) -> None:
    """Raise Invalid (problem ``prior_interview`` or ``interview_limit``) unless the guard lets the interview be
    recorded: the acknowledgement is checked first, then the justification and the role."""
    if not guard.needs_acknowledgement:
        return
    listed = "; ".join(f"{interview.topic} ({interview.held_on.isoformat()}, {interview.agency.code})"
                       for interview in guard.prior)
    if not data.acknowledged_prior:
        message = lazy_ngettext(
            "The child has already been interviewed once: %(interviews)s. Read what was found and confirm that "
            "another interview is needed, or ask %(agency)s to follow up.",
            "The child has already been interviewed %(num)d times: %(interviews)s. Read what was found and "
            "confirm that another interview is needed, or ask %(agency)s to follow up.",
            guard.count, interviews=listed, agency=guard.suggested_agency.code)
        raise Invalid(message, errors={"acknowledged_prior": [str(_l(
            "Confirm that you read the earlier interviews and another one is needed."))]},
            problems=[{"code": "prior_interview", "message": message, "interviews": _earlier(guard),
                       "suggested_agency": guard.suggested_agency.code}])
    if not guard.needs_justification:
        return
    if not guard.may_justify:
        message = _l("The child has already been interviewed %(count)d times: only a supervisor, a coordinator or "
                     "an administrator may record another interview, with a justification.", count=guard.count)
        raise Invalid(message, problems=[{"code": "interview_limit", "message": message,
                                          "interviews": _earlier(guard)}])
    if not (data.justification or "").strip():
        message = _l("The child has already been interviewed %(count)d times: say why another interview is "
                     "needed.", count=guard.count)
        raise Invalid(message, errors={"justification": [str(_l("Say why another interview is needed."))]},
                      problems=[{"code": "interview_limit", "message": message, "interviews": _earlier(guard)}])


def record_interview(case_id: int, data: InterviewData, actor: Actor) -> Interview:
    """Record an interview or assessment (checked by ``InterviewCreateSchema``) the actor's agency held; raise
    NotFound, Forbidden, Conflict, or Invalid with problem ``prior_interview`` (another forensic interview not
    acknowledged) or ``interview_limit`` (a third or later one without a justification by a supervisor or above).
    """
    case = full_case(case_id, actor)
    if actor.user is None or not has_permission(actor.role, Permission.record_interviews):
        raise Forbidden(_l("Your role does not allow this."))
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    justification = None
    if data.kind == InterviewKind.interview.value:
        # Two agencies recording at once must both count the other's interview.
        lock_case(case.id)
        guard = guard_of(case, actor)
        _check_guard(guard, data)
        if guard.needs_justification:
            justification = data.justification.strip()
    interview = Interview(case_id=case.id, agency_id=actor.agency_id, conducted_by_user_id=actor.user_id,
                          kind=InterviewKind(data.kind), topic=data.topic, held_on=data.held_on,
                          summary=data.summary, shared_with=data.shared_with)
    db.session.add(interview)
    db.session.flush()
    # The timeline and the audit log say that it happened, never what the child said.
    extra = {"justification": justification} if justification else {}
    add_event(case, actor, "interview.recorded", interview_kind=interview.kind.value, agency=actor.user.agency.code,
              **extra)
    record(actor, "interview.create", "case", case.id,
           {"interview_id": interview.id, "kind": interview.kind.value, **extra})
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

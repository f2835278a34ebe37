"""Routing a case along its workflow: the stages an agency may refer it to, and referring it (DESIGN.md §6)."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import AgencyType, Permission
from workflows import Stage, Transition
from workflows.lifecycle import ACTIVE_STATUSES, OPEN_STATUSES, ReferralStatus

from ..actors import Actor, require
from ..audit.service import record
from ..cases import service as cases
from ..cases import stuck
from ..cases.models import Case, CaseStatus
from ..deadlines import service as clocks
from ..deadlines.models import DeadlineKind
from ..directory.models import Agency
from ..directory.service import agency_by_code
from ..errors import Invalid
from ..extensions import db, utcnow
from ..locking import lock_case
from ..notifications.service import notify_agency
from .models import Referral
from .reading import notice_params

_RULE_MESSAGES = {
    "route_not_allowed": _l("The workflow has no route from a stage your agency holds to stage %(stage)s."),
    "agency_type_mismatch": _l("Stage %(stage)s is taken by agencies of type %(type)s; %(agency)s is not one."),
    "agency_inactive": _l("%(agency)s is not active and cannot receive referrals."),
    "consent_required": _l("This route needs a recorded consent that covers agencies of type %(type)s."),
    "duplicate_open_referral": _l("This case already has an open referral to %(agency)s for stage %(stage)s."),
}


@dataclass(frozen=True)
class Route:
    """A next stage the actor's agency may refer the case to, with the agencies that could take it."""

    from_stage: str
    stage: Stage
    transition: Transition
    consent_ok: bool
    candidates: list[Agency]

    @property
    def label(self) -> str | None:
        return self.transition.label

    @property
    def mode(self) -> str:
        return str(self.transition.mode)

    @property
    def requires(self) -> tuple[str, ...]:
        return tuple(self.transition.requires)

    def label_in(self, locale: str | None) -> str | None:
        """Return the route's label in a language, falling back to English (None if it has none)."""
        return self.transition.label_in(locale)


def _problem(code: str, **params) -> dict:
    return {"code": code, "message": _RULE_MESSAGES[code] % params}


def _held_referrals(case: Case, agency_id: int) -> list[Referral]:
    held = [r for r in case.referrals if r.to_agency_id == agency_id and r.status in ACTIVE_STATUSES]
    # A case with nothing open goes on from where it stopped, or nobody could ever refer it again.
    return held or [r for r in stuck.where_it_stopped(case) if r.to_agency_id == agency_id]


def _open_targets(case: Case) -> set[tuple[str, int]]:
    return {(r.to_stage, r.to_agency_id) for r in case.referrals if r.status in OPEN_STATUSES}


def _candidates(case: Case, stage: Stage) -> list[Agency]:
    agencies = db.session.scalars(
        sa.select(Agency).where(Agency.type == AgencyType(stage.agency_type), Agency.is_active.is_(True))
        .order_by((Agency.region != case.region), Agency.name)
    ).all()
    taken = _open_targets(case)
    return [agency for agency in agencies if (stage.key, agency.id) not in taken]


def routes_for(case: Case, actor: Actor) -> list[Route]:
    """Return the stages the actor's agency may refer an open case to, each with candidate agencies."""
    if case.status is not CaseStatus.open or actor.user is None:
        return []
    definition = cases.definition_of(case)
    routes, seen = [], set()
    for held in _held_referrals(case, actor.agency_id):
        for transition in definition.outgoing(held.to_stage):
            if transition.to_stage in seen or not definition.has_stage(transition.to_stage):
                continue
            seen.add(transition.to_stage)
            stage = definition.stage(transition.to_stage)
            consent_ok = "consent" not in transition.requires or cases.has_consent(case, stage.agency_type)
            routes.append(Route(from_stage=held.to_stage, stage=stage, transition=transition,
                                consent_ok=consent_ok, candidates=_candidates(case, stage)))
    return routes


def refer(case_id: int, to_stage: str, to_agency_code: str, reason: str, actor: Actor,
          from_stage: str | None = None) -> Referral:
    """Refer a case to an agency for a stage along an allowed route.

    Raise NotFound for a case the actor may not see, Forbidden without the
    role, Invalid with the rule violations (DESIGN.md section 6 codes).
    """
    # Locked first, then checked: the check reads the case, its referrals and consents once, after the lock
    # (a lock on a case the actor may not see reveals nothing, and the NotFound rolls it back).
    locked = lock_case(case_id)  # noqa: F841 - kept while the call runs: the session holds it weakly
    case = cases.full_case(case_id, actor)
    require(actor, Permission.refer_cases)
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = [str(_l("Say why you refer the case."))]
    agency = agency_by_code(to_agency_code) if isinstance(to_agency_code, str) else None
    if agency is None:
        errors["to_agency"] = [str(_l("No agency has this code."))]
    if errors:
        raise Invalid(_l("The referral has errors."), errors=errors)

    definition = cases.definition_of(case)
    problems = []
    parent = None
    if case.status is CaseStatus.open and definition.has_stage(to_stage):
        parent = next((held for held in _held_referrals(case, actor.agency_id)
                       if (from_stage is None or held.to_stage == from_stage)
                       and definition.transition(held.to_stage, to_stage) is not None), None)
    if parent is None:
        problems.append(_problem("route_not_allowed", stage=to_stage))
        raise Invalid(_l("This referral is not allowed."), problems=problems)
    stage = definition.stage(to_stage)
    transition = definition.transition(parent.to_stage, to_stage)
    if agency.type.value != stage.agency_type:
        problems.append(_problem("agency_type_mismatch", stage=stage.key, type=stage.agency_type,
                                 agency=agency.code))
    if not agency.is_active:
        problems.append(_problem("agency_inactive", agency=agency.code))
    if "consent" in transition.requires and not cases.has_consent(case, stage.agency_type):
        problems.append(_problem("consent_required", type=stage.agency_type))
    if (stage.key, agency.id) in _open_targets(case):
        problems.append(_problem("duplicate_open_referral", agency=agency.code, stage=stage.key))
    if problems:
        raise Invalid(_l("This referral is not allowed."), problems=problems)

    now = utcnow()
    referral = Referral(case_id=case.id, from_stage=parent.to_stage, to_stage=stage.key,
                        from_agency_id=actor.agency_id, to_agency_id=agency.id, parent_id=parent.id,
                        mode=str(transition.mode), status=ReferralStatus.requested, reason=reason.strip(),
                        created_by_user_id=actor.user_id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(referral)
            clocks.open_deadline(referral, definition, DeadlineKind.respond, case.risk_level.value, now)
            db.session.flush()
    except sa.exc.IntegrityError:
        # Someone else referred the case to this agency and stage a moment ago.
        raise Invalid(_l("This referral is not allowed."),
                      problems=[_problem("duplicate_open_referral", agency=agency.code, stage=stage.key)]) from None
    case.referrals.append(referral)
    cases.add_event(case, actor, "referral.requested", referral=referral, to_status=referral.status,
                    from_stage=parent.to_stage, to_stage=stage.key, to_agency=agency.code, reason=referral.reason)
    record(actor, "referral.create", "referral", referral.id,
           {"case": case.number, "to_stage": stage.key, "to_agency": agency.code})
    notify_agency(agency.id, "referral.requested", notice_params(case, stage, actor.user.agency),
                  case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    db.session.flush()
    return referral

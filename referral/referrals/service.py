"""Routing a case along its workflow and moving referrals through their lifecycle."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from agencies import AgencyType, Permission, has_permission, may_see_referral
from workflows import Definition, Stage, Transition
from workflows.lifecycle import (
    ACTIVE_STATUSES,
    HANDED_OVER,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    Action,
    Party,
    ReferralStatus,
    TransitionRefused,
    allowed_actions,
)
from workflows.lifecycle import apply as apply_action

from ..actors import Actor
from ..audit.service import record
from ..cases import service as cases
from ..cases import stuck
from ..cases.models import Case, CaseStatus, RiskLevel
from ..deadlines import service as clocks
from ..deadlines.models import DeadlineKind, DeadlineStatus
from ..directory.models import Agency
from ..directory.service import agency_by_code
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, utcnow
from ..locking import case_of_referral, lock_case
from ..notifications.service import notify_agency, stage_params
from .models import Referral
from .visibility import visible_condition

#: Event and notification kind for each action.
_DONE = {
    Action.accept: "accepted", Action.reject: "rejected", Action.start: "started", Action.resume: "resumed",
    Action.hold: "held", Action.complete: "completed", Action.fail: "failed", Action.cancel: "cancelled",
}

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
    case = cases.full_case(case_id, actor)
    lock_case(case.id)
    if not has_permission(actor.role, Permission.refer_cases):
        raise Forbidden(_l("Your role does not allow this."))
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
    notify_agency(agency.id, "referral.requested", _params(case, stage, actor.user.agency),
                  case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    db.session.flush()
    return referral


def _params(case: Case, stage: Stage, agency: Agency | None) -> dict:
    return {"case": case.number, **stage_params(stage), "agency": agency.name if agency is not None else ""}


# -- reading --------------------------------------------------------------------------


def get_referral(referral_id: int, actor: Actor) -> Referral:
    """Return a referral the actor may see; raise NotFound otherwise."""
    referral = db.session.get(Referral, referral_id)
    if referral is None or not may_see(referral, actor):
        raise NotFound(_l("No such referral."))
    return referral


def read_referral(referral_id: int, actor: Actor, via: str) -> Referral:
    """Return a referral the actor may see, audited as a read of the case's data; raise NotFound otherwise."""
    referral = get_referral(referral_id, actor)
    record(actor, "referral.read", "referral", referral.id, {"via": via, "case": referral.case.number})
    return referral


def may_see(referral: Referral, actor: Actor) -> bool:
    """Return whether an actor may see a referral."""
    if actor.user is None:
        return True
    return may_see_referral(cases.viewer_of(actor), cases.facts_of(referral.case), referral.to_agency_id) or (
        referral.from_agency_id is not None and referral.from_agency_id == actor.agency_id)


def parties_of(referral: Referral, actor: Actor) -> list[Party]:
    """Return the sides from which an actor may act on a referral, most specific first."""
    if actor.user is None:
        return [Party.scheduler] if actor.system == "scheduler" else [Party.coordinator]
    parties = []
    if actor.agency_id == referral.to_agency_id and has_permission(actor.role, Permission.act_on_referrals):
        parties.append(Party.receiver)
    if referral.from_agency_id is not None and actor.agency_id == referral.from_agency_id:
        parties.append(Party.sender)
    if has_permission(actor.role, Permission.view_all_cases) or (
            has_permission(actor.role, Permission.cancel_region_referrals)
            and actor.user.agency.region == referral.case.region):
        parties.append(Party.coordinator)
    return parties


def actions_for(referral: Referral, actor: Actor) -> list[Action]:
    """Return the actions the actor may take on a referral now, as buttons."""
    found = []
    for party in parties_of(referral, actor):
        for action in allowed_actions(referral.status, party):
            if action not in found:
                found.append(action)
    return [action for action in Action if action in found]


def _inbox_conditions(actor: Actor, box: str, status: str | None, text: str) -> list:
    column = Referral.to_agency_id if box == "incoming" else Referral.from_agency_id
    conditions = [column == actor.agency_id, visible_condition(actor)]
    if status == "open":
        conditions.append(Referral.status.in_(OPEN_STATUSES))
    elif status == "closed":
        conditions.append(Referral.status.in_(TERMINAL_STATUSES))
    elif status:
        conditions.append(Referral.status == ReferralStatus(status))
    text = (text or "").strip().upper()
    if text:
        conditions.append(Referral.case_id.in_(
            sa.select(Case.id).where(sa.func.upper(Case.number).like(f"%{text}%"))))
    return conditions


def inbox_query(actor: Actor, box: str = "incoming", status: str | None = None, text: str = "") -> sa.Select:
    """Return a select of the agency's incoming or outgoing referrals, most urgent and oldest first."""
    risk = sa.case((Case.risk_level == RiskLevel.high, 0), (Case.risk_level == RiskLevel.medium, 1), else_=2)
    return (sa.select(Referral).join(Case, Case.id == Referral.case_id)
            .options(contains_eager(Referral.case))
            .where(*_inbox_conditions(actor, box, status, text))
            .order_by(Referral.due_at.asc().nulls_last(), risk, Referral.created_at, Referral.id))


def inbox_count_query(actor: Actor, box: str = "incoming", status: str | None = None, text: str = "") -> sa.Select:
    """Return a select of how many referrals inbox_query lists, without its join and order."""
    return (sa.select(sa.func.count()).select_from(Referral).join(Case, Case.id == Referral.case_id)
            .where(*_inbox_conditions(actor, box, status, text)))


def inbox_counts(agency_id: int) -> dict[str, int]:
    """Return the number of incoming referrals by status for an agency (open statuses only)."""
    rows = db.session.execute(
        sa.select(Referral.status, sa.func.count()).where(Referral.to_agency_id == agency_id,
                                                           Referral.status.in_(OPEN_STATUSES))
        .group_by(Referral.status)
    ).all()
    return {status.value: count for status, count in rows}


# -- acting ---------------------------------------------------------------------------


def act(referral_id: int, action: str, version: int | None, actor: Actor,
        reason: str | None = None, outcome: str | None = None) -> Referral:
    """Take an action on a referral, naming the version it was read at.

    Raise NotFound (not visible), Conflict (stale version or not possible from
    the status), Forbidden (the action belongs to another side) or Invalid
    (missing reason or outcome).
    """
    case_id = case_of_referral(referral_id)
    if case_id is not None:
        lock_case(case_id)
    referral = get_referral(referral_id, actor)
    try:
        action = Action(action)
    except ValueError:
        raise NotFound(_l("No such action.")) from None
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid(_l("The request contains invalid data."),
                      errors={"version": [str(_l("Give the version of the referral you are acting on."))]})
    if version != referral.version:
        raise Conflict(_l("The referral has changed since you loaded it (version %(current)s, not %(given)s); "
                          "reload and try again.", current=referral.version, given=version))
    parties = parties_of(referral, actor)
    if not parties:
        raise Forbidden(_l("You cannot act on this referral."))
    refusals = []
    for party in parties:
        try:
            new_status = apply_action(referral.status, action, party, reason, outcome)
            break
        except TransitionRefused as refused:
            refusals.append(refused)
    else:
        # A refusal about the action itself says more than "not your side".
        refusal = next((r for r in refusals if r.code != "not_allowed_for_party"), refusals[0])
        message = refusal.render(gettext)
        if refusal.code == "invalid_transition":
            raise Conflict(message)
        if refusal.code == "not_allowed_for_party":
            raise Forbidden(message)
        field = "outcome" if refusal.code == "outcome_required" else "reason"
        raise Invalid(message, errors={field: [message]})

    case = referral.case
    definition = cases.definition_of(case)
    old_status = referral.status
    now = utcnow()
    referral.status = new_status
    if action in (Action.accept, Action.reject):
        referral.responded_at = now
    if action in (Action.reject, Action.hold, Action.fail, Action.cancel):
        referral.status_reason = reason.strip()
    elif action in (Action.start, Action.resume):
        referral.status_reason = None
    if action is Action.complete:
        referral.outcome = outcome.strip()
    if new_status in TERMINAL_STATUSES:
        referral.closed_at = now
    with db.session.no_autoflush:
        # Set the new due dates before the one versioned UPDATE of the referral.
        _move_clocks(referral, action, definition, now)
    _flush_or_conflict()

    kind = _DONE[action]
    cases.add_event(case, actor, f"referral.{kind}", referral=referral, from_status=old_status,
                    to_status=new_status, stage=referral.to_stage, reason=(reason or "").strip() or None,
                    outcome=(outcome or "").strip() or None)
    record(actor, f"referral.{action.value}", "referral", referral.id, {"case": case.number})
    _tell_the_other_side(referral, action, actor, definition)

    if action is Action.accept and referral.mode == "handover" and referral.parent is not None \
            and referral.parent.status in ACTIVE_STATUSES:
        _hand_over(referral.parent, referral, actor, definition)
    if new_status in TERMINAL_STATUSES:
        _close_case_if_done(case, actor, definition)
    db.session.flush()
    return referral


def _move_clocks(referral: Referral, action: Action, definition: Definition, now: datetime) -> None:
    """Close and open the referral's deadlines for an action, in the same transaction."""
    if action in (Action.accept, Action.reject):
        clocks.close_deadlines(referral.id, DeadlineStatus.met, now, (DeadlineKind.respond,))
    if action is Action.accept:
        risk = referral.case.risk_level.value
        clocks.open_deadline(referral, definition, DeadlineKind.complete, risk, now)
        clocks.open_deadline(referral, definition, DeadlineKind.review, risk, now)
    elif action is Action.complete:
        clocks.close_deadlines(referral.id, DeadlineStatus.met, now)
    elif action in (Action.fail, Action.cancel):
        clocks.close_deadlines(referral.id, DeadlineStatus.cancelled, now)


def _flush_or_conflict() -> None:
    # The caller owns the transaction: it rolls back on the Conflict (a view, the API) or its savepoint does.
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(_l("Someone else changed this referral at the same moment; reload and try again.")) from None


def _tell_the_other_side(referral: Referral, action: Action, actor: Actor, definition: Definition) -> None:
    case, stage = referral.case, definition.stage(referral.to_stage)
    kind = f"referral.{_DONE[action]}"
    if action is Action.cancel:
        notify_agency(referral.to_agency_id, kind, _params(case, stage, referral.from_agency),
                      case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
        # The scheduler's cancel of an unanswered referral tells the sender once, as a no-response notice
        # (scheduler/sweep.py), not also as a cancellation.
        if referral.from_agency_id is not None and actor.agency_id != referral.from_agency_id \
                and actor.system != "scheduler":
            notify_agency(referral.from_agency_id, kind, _params(case, stage, referral.to_agency),
                          case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    elif referral.from_agency_id is not None:
        notify_agency(referral.from_agency_id, kind, _params(case, stage, referral.to_agency),
                      case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)


def _hand_over(parent: Referral, child: Referral, actor: Actor, definition: Definition) -> None:
    old_status = parent.status
    parent.status = ReferralStatus.completed
    parent.outcome = HANDED_OVER
    parent.closed_at = utcnow()
    clocks.close_deadlines(parent.id, DeadlineStatus.met, parent.closed_at)
    _flush_or_conflict()
    case = parent.case
    cases.add_event(case, actor, "referral.completed", referral=parent, from_status=old_status,
                    to_status=parent.status, stage=parent.to_stage, outcome=HANDED_OVER,
                    handed_over_to=child.to_stage)
    stage = definition.stage(parent.to_stage)
    notify_agency(parent.to_agency_id, "referral.handed_over", _params(case, stage, child.to_agency),
                  case_id=case.id, referral_id=parent.id, exclude_user_id=actor.user_id)


def _close_case_if_done(case: Case, actor: Actor, definition: Definition) -> None:
    if case.status is CaseStatus.closed or any(r.status in OPEN_STATUSES for r in case.referrals):
        return
    terminals = definition.terminal_keys
    if not any(r.status is ReferralStatus.completed and r.to_stage in terminals for r in case.referrals):
        return
    case.status = CaseStatus.closed
    case.closed_at = utcnow()
    cases.add_event(case, actor, "case.closed", from_status="open", to_status="closed")
    record(actor, "case.close", "case", case.id, {"number": case.number})
    agencies = {r.to_agency_id for r in case.referrals if r.status is ReferralStatus.completed}
    for agency_id in sorted(agencies):
        notify_agency(agency_id, "case.closed", {"case": case.number}, case_id=case.id,
                      exclude_user_id=actor.user_id)

"""Moving referrals through their lifecycle: one action at a time, with what each action writes besides.

The state machine is ``workflows.lifecycle``'s table; what an action does to the referral's other fields and
its clocks is the table ``EFFECTS`` below, so that both read as data.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from workflows import Definition
from workflows.lifecycle import (
    ACTIVE_STATUSES,
    HANDED_OVER,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    Action,
    ReferralStatus,
    TransitionRefused,
)
from workflows.lifecycle import apply as apply_action

from ..actors import Actor
from ..audit.service import record
from ..cases import service as cases
from ..cases.models import Case, CaseStatus
from ..deadlines import service as clocks
from ..deadlines.models import DeadlineKind, DeadlineStatus
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, utcnow
from ..locking import lock_case_of_referral
from ..notifications.service import notify_agency
from .models import Referral
from .reading import get_referral, notice_params, parties_of

#: Event and notification kind for each action.
_DONE = {
    Action.accept: "accepted", Action.reject: "rejected", Action.start: "started", Action.resume: "resumed",
    Action.hold: "held", Action.complete: "completed", Action.fail: "failed", Action.cancel: "cancelled",
}


@dataclass(frozen=True)
class Effects:
    """What an action writes besides the new status: timestamps, texts, and the clocks it closes and opens."""

    #: The receiver answered: ``responded_at`` is set.
    responds: bool = False
    #: The reason given becomes the referral's ``status_reason``.
    keeps_reason: bool = False
    #: Work goes on: the reason of an earlier hold is cleared.
    clears_reason: bool = False
    #: The outcome given becomes the referral's ``outcome``.
    keeps_outcome: bool = False
    #: Pending deadlines closed, with the status they close with (``kinds`` None: every kind).
    closes_as: DeadlineStatus | None = None
    closes_kinds: tuple[DeadlineKind, ...] | None = None
    #: Deadlines opened from the stage's clocks.
    opens: tuple[DeadlineKind, ...] = ()


EFFECTS = {
    Action.accept: Effects(responds=True, closes_as=DeadlineStatus.met, closes_kinds=(DeadlineKind.respond,),
                           opens=(DeadlineKind.complete, DeadlineKind.review)),
    Action.reject: Effects(responds=True, keeps_reason=True, closes_as=DeadlineStatus.met,
                           closes_kinds=(DeadlineKind.respond,)),
    Action.start: Effects(clears_reason=True),
    Action.resume: Effects(clears_reason=True),
    Action.hold: Effects(keeps_reason=True),
    Action.complete: Effects(keeps_outcome=True, closes_as=DeadlineStatus.met),
    Action.fail: Effects(keeps_reason=True, closes_as=DeadlineStatus.cancelled),
    Action.cancel: Effects(keeps_reason=True, closes_as=DeadlineStatus.cancelled),
}


def act(referral_id: int, action: str, version: int | None, actor: Actor,
        reason: str | None = None, outcome: str | None = None) -> Referral:
    """Take an action on a referral, naming the version it was read at.

    Raise NotFound (not visible), Conflict (stale version or not possible from
    the status), Forbidden (the action belongs to another side) or Invalid
    (missing reason or outcome).
    """
    # Kept while the action runs: the case holds the referrals the lock read, so that none is read again.
    locked = lock_case_of_referral(referral_id)  # noqa: F841
    referral = get_referral(referral_id, actor)
    try:
        action = Action(action)
    except ValueError:
        raise NotFound(_l("No such action.")) from None
    check_version(referral, version)
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
    effects = EFFECTS[action]
    referral.status = new_status
    if effects.responds:
        referral.responded_at = now
    if effects.keeps_reason:
        referral.status_reason = reason.strip()
    elif effects.clears_reason:
        referral.status_reason = None
    if effects.keeps_outcome:
        referral.outcome = outcome.strip()
    if new_status in TERMINAL_STATUSES:
        referral.closed_at = now
    # Nothing the session holds is written until the one flush at the end: the referral's versioned UPDATE
    # (with the due dates its clocks set), the new clocks, the timeline and the audit entries go together.
    with db.session.no_autoflush:
        _move_clocks(referral, effects, definition, now)
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
    flush_or_conflict()
    return referral


def _move_clocks(referral: Referral, effects: Effects, definition: Definition, now: datetime) -> None:
    """Close and open the referral's deadlines as the action's effects say, in the same transaction."""
    if effects.closes_as is not None:
        clocks.close_deadlines(referral.id, effects.closes_as, now, effects.closes_kinds)
    risk = referral.case.risk_level.value
    for kind in effects.opens:
        clocks.open_deadline(referral, definition, kind, risk, now)


def check_version(referral: Referral, version: int | None) -> None:
    """Raise Invalid without a version, Conflict unless it is the referral's current one."""
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid(_l("The request contains invalid data."),
                      errors={"version": [str(_l("Give the version of the referral you are acting on."))]})
    if version != referral.version:
        raise Conflict(_l("The referral has changed since you loaded it (version %(current)s, not %(given)s); "
                          "reload and try again.", current=referral.version, given=version))


def flush_or_conflict() -> None:
    # The caller owns the transaction: it rolls back on the Conflict (a view, the API) or its savepoint does.
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(_l("Someone else changed this referral at the same moment; reload and try again.")) from None


def _tell_the_other_side(referral: Referral, action: Action, actor: Actor, definition: Definition) -> None:
    case, stage = referral.case, definition.stage(referral.to_stage)
    kind = f"referral.{_DONE[action]}"
    if action is Action.cancel:
        notify_agency(referral.to_agency_id, kind, notice_params(case, stage, referral.from_agency),
                      case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
        # The scheduler's cancel of an unanswered referral tells the sender once, as a no-response notice
        # (scheduler/sweep.py), not also as a cancellation.
        if referral.from_agency_id is not None and actor.agency_id != referral.from_agency_id \
                and actor.system != "scheduler":
            notify_agency(referral.from_agency_id, kind, notice_params(case, stage, referral.to_agency),
                          case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    elif referral.from_agency_id is not None:
        notify_agency(referral.from_agency_id, kind, notice_params(case, stage, referral.to_agency),
                      case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)


def _hand_over(parent: Referral, child: Referral, actor: Actor, definition: Definition) -> None:
    old_status = parent.status
    parent.status = ReferralStatus.completed
    parent.outcome = HANDED_OVER
    parent.closed_at = utcnow()
    clocks.close_deadlines(parent.id, DeadlineStatus.met, parent.closed_at)
    case = parent.case
    cases.add_event(case, actor, "referral.completed", referral=parent, from_status=old_status,
                    to_status=parent.status, stage=parent.to_stage, outcome=HANDED_OVER,
                    handed_over_to=child.to_stage)
    stage = definition.stage(parent.to_stage)
    notify_agency(parent.to_agency_id, "referral.handed_over", notice_params(case, stage, child.to_agency),
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

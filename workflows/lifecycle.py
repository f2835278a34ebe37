"""The referral state machine of DESIGN.md section 6, as a table.

Statuses follow HL7 FHIR Task. The contract row "accepted, on-hold | start /
resume | in-progress" is read literally: both names work from both states, so
no client that follows the contract is refused. ``start`` belongs to an
accepted referral and ``resume`` to one on hold; the other two pairings are
aliases that ``allowed_actions`` does not offer as buttons.

A refusal carries a code for the service to map: ``invalid_transition`` is a
conflict with the referral's state (409); ``not_allowed_for_party`` means the
action belongs to the other side of the referral (403); a missing reason or
outcome is bad input (422).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from .i18n import N_


class ReferralStatus(StrEnum):
    """Where a referral stands (FHIR Task status)."""

    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    in_progress = "in-progress"
    on_hold = "on-hold"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        """Return the English label, marked for translation."""
        return _STATUS_LABELS[self]


class Action(StrEnum):
    """What someone does to a referral; each is one API endpoint and one button."""

    accept = "accept"
    reject = "reject"
    start = "start"
    resume = "resume"
    hold = "hold"
    complete = "complete"
    fail = "fail"
    cancel = "cancel"

    @property
    def label(self) -> str:
        """Return the English button label, marked for translation."""
        return _ACTION_LABELS[self]


class Party(StrEnum):
    """The side from which someone acts on a referral."""

    #: A user of the agency the referral is addressed to.
    receiver = "receiver"
    #: A user of the agency that sent the referral.
    sender = "sender"
    #: A coordinator of the case's region, from any agency.
    coordinator = "coordinator"
    #: The scheduler, e.g. cancelling a referral nobody answered in time.
    scheduler = "scheduler"


class Needs(StrEnum):
    """The text an action cannot go without."""

    reason = "reason"
    outcome = "outcome"


_STATUS_LABELS = {
    ReferralStatus.requested: N_("Requested"),
    ReferralStatus.accepted: N_("Accepted"),
    ReferralStatus.rejected: N_("Rejected"),
    ReferralStatus.in_progress: N_("In progress"),
    ReferralStatus.on_hold: N_("On hold"),
    ReferralStatus.completed: N_("Completed"),
    ReferralStatus.failed: N_("Failed"),
    ReferralStatus.cancelled: N_("Cancelled"),
}

_ACTION_LABELS = {
    Action.accept: N_("Accept"),
    Action.reject: N_("Reject"),
    Action.start: N_("Start"),
    Action.resume: N_("Resume"),
    Action.hold: N_("Put on hold"),
    Action.complete: N_("Complete"),
    Action.fail: N_("Mark as failed"),
    Action.cancel: N_("Cancel"),
}

OPEN_STATUSES = frozenset(
    {
        ReferralStatus.requested,
        ReferralStatus.accepted,
        ReferralStatus.in_progress,
        ReferralStatus.on_hold,
    }
)
#: The outcome the system writes on a referral whose case was handed over to the next stage.
HANDED_OVER = "handed over"

#: The receiving agency holds the case: it accepted and has not finished.
ACTIVE_STATUSES = frozenset(
    {
        ReferralStatus.accepted,
        ReferralStatus.in_progress,
        ReferralStatus.on_hold,
    }
)
TERMINAL_STATUSES = frozenset(
    {
        ReferralStatus.rejected,
        ReferralStatus.completed,
        ReferralStatus.failed,
        ReferralStatus.cancelled,
    }
)


@dataclass(frozen=True)
class Rule:
    """What an action does from one status, who may take it, and what it needs."""

    to_status: ReferralStatus
    parties: frozenset[Party]
    needs: Needs | None = None
    #: False for an alias the contract allows but the inbox offers no button for.
    offered: bool = True


_S = ReferralStatus
_RECEIVER = frozenset({Party.receiver})
_CANCELLERS = frozenset({Party.sender, Party.coordinator, Party.scheduler})

# The contract's table, row by row: from statuses, action, rule.
_ROWS: tuple[tuple[tuple[ReferralStatus, ...], Action, Rule], ...] = (
    ((_S.requested,), Action.accept, Rule(_S.accepted, _RECEIVER)),
    ((_S.requested,), Action.reject, Rule(_S.rejected, _RECEIVER, Needs.reason)),
    ((_S.accepted,), Action.start, Rule(_S.in_progress, _RECEIVER)),
    ((_S.on_hold,), Action.resume, Rule(_S.in_progress, _RECEIVER)),
    ((_S.on_hold,), Action.start, Rule(_S.in_progress, _RECEIVER, offered=False)),
    ((_S.accepted,), Action.resume, Rule(_S.in_progress, _RECEIVER, offered=False)),
    (
        (_S.accepted, _S.in_progress),
        Action.hold,
        Rule(_S.on_hold, _RECEIVER, Needs.reason),
    ),
    (
        (_S.accepted, _S.in_progress, _S.on_hold),
        Action.complete,
        Rule(_S.completed, _RECEIVER, Needs.outcome),
    ),
    (
        (_S.accepted, _S.in_progress, _S.on_hold),
        Action.fail,
        Rule(_S.failed, _RECEIVER, Needs.reason),
    ),
    (
        (_S.requested, _S.accepted, _S.in_progress, _S.on_hold),
        Action.cancel,
        Rule(_S.cancelled, _CANCELLERS, Needs.reason),
    ),
)

#: (status, action) -> Rule; a pair that is not here is refused.
TABLE: Mapping[tuple[ReferralStatus, Action], Rule] = MappingProxyType(
    {(status, action): rule for statuses, action, rule in _ROWS for status in statuses}
)


_REFUSALS = {
    "invalid_transition": N_(
        "The action “%(action)s” is not possible for a referral with status “%(status)s”."
    ),
    "not_allowed_for_party": N_(
        "You cannot take the action “%(action)s” on this referral."
    ),
    "reason_required": N_("A reason is required for “%(action)s”."),
    "outcome_required": N_("An outcome is required for “%(action)s”."),
}


class TransitionRefused(Exception):
    """An action that the state machine does not allow.

    ``code`` is one of ``invalid_transition``, ``not_allowed_for_party``,
    ``reason_required``, ``outcome_required``. ``params`` hold English labels
    marked for translation; ``render(gettext)`` translates template and labels.
    """

    def __init__(self, code: str, status: ReferralStatus, action: Action, party: Party):
        self.code = code
        self.status = status
        self.action = action
        self.party = party
        self.template = _REFUSALS[code]
        self.params = {"action": action.label, "status": status.label}
        self.message = self.template % self.params
        super().__init__(self.message)

    def render(self, gettext: Callable[[str], str]) -> str:
        """Return the message translated by a gettext function."""
        params = {key: gettext(value) for key, value in self.params.items()}
        return gettext(self.template) % params


def apply(
    status: ReferralStatus | str,
    action: Action | str,
    party: Party | str,
    reason: str | None = None,
    outcome: str | None = None,
) -> ReferralStatus:
    """Return the status after an action; raise TransitionRefused, or ValueError for an unknown name."""
    status, action, party = ReferralStatus(status), Action(action), Party(party)
    rule = TABLE.get((status, action))
    if rule is None:
        raise TransitionRefused("invalid_transition", status, action, party)
    if party not in rule.parties:
        raise TransitionRefused("not_allowed_for_party", status, action, party)
    if rule.needs is Needs.reason and _blank(reason):
        raise TransitionRefused("reason_required", status, action, party)
    if rule.needs is Needs.outcome and _blank(outcome):
        raise TransitionRefused("outcome_required", status, action, party)
    return rule.to_status


def allowed_actions(
    status: ReferralStatus | str,
    party: Party | str,
    *,
    include_aliases: bool = False,
) -> list[Action]:
    """Return the actions a party may offer on a referral in a status, in the order of Action."""
    status, party = ReferralStatus(status), Party(party)
    return [
        action
        for action in Action
        if (rule := TABLE.get((status, action))) is not None
        and party in rule.parties
        and (rule.offered or include_aliases)
    ]


def _blank(text: str | None) -> bool:
    return not isinstance(text, str) or not text.strip()

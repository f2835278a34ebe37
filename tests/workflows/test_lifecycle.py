import subprocess
import sys
from itertools import product

import pytest

from workflows.lifecycle import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    TABLE,
    TERMINAL_STATUSES,
    Action,
    Party,
    ReferralStatus,
    TransitionRefused,
    allowed_actions,
    apply,
)

S, A, P = ReferralStatus, Action, Party
RECEIVER = {P.receiver}
CANCELLERS = {P.sender, P.coordinator, P.scheduler}

# DESIGN.md section 6, transcribed: (from, action) -> (to, who, needs).
CONTRACT = {
    (S.requested, A.accept): (S.accepted, RECEIVER, None),
    (S.requested, A.reject): (S.rejected, RECEIVER, "reason"),
    (S.accepted, A.start): (S.in_progress, RECEIVER, None),
    (S.accepted, A.resume): (S.in_progress, RECEIVER, None),
    (S.on_hold, A.start): (S.in_progress, RECEIVER, None),
    (S.on_hold, A.resume): (S.in_progress, RECEIVER, None),
    (S.accepted, A.hold): (S.on_hold, RECEIVER, "reason"),
    (S.in_progress, A.hold): (S.on_hold, RECEIVER, "reason"),
    (S.accepted, A.complete): (S.completed, RECEIVER, "outcome"),
    (S.in_progress, A.complete): (S.completed, RECEIVER, "outcome"),
    (S.on_hold, A.complete): (S.completed, RECEIVER, "outcome"),
    (S.accepted, A.fail): (S.failed, RECEIVER, "reason"),
    (S.in_progress, A.fail): (S.failed, RECEIVER, "reason"),
    (S.on_hold, A.fail): (S.failed, RECEIVER, "reason"),
    (S.requested, A.cancel): (S.cancelled, CANCELLERS, "reason"),
    (S.accepted, A.cancel): (S.cancelled, CANCELLERS, "reason"),
    (S.in_progress, A.cancel): (S.cancelled, CANCELLERS, "reason"),
    (S.on_hold, A.cancel): (S.cancelled, CANCELLERS, "reason"),
}
NEEDING = [(key, needs) for key, (_, _, needs) in CONTRACT.items() if needs]


def test_the_statuses_are_fhir_task_statuses():
    assert [status.value for status in S] == [
        "requested",
        "accepted",
        "rejected",
        "in-progress",
        "on-hold",
        "completed",
        "failed",
        "cancelled",
    ]
    assert [action.value for action in A] == [
        "accept",
        "reject",
        "start",
        "resume",
        "hold",
        "complete",
        "fail",
        "cancel",
    ]


def test_the_table_is_the_contract():
    assert {
        key: (rule.to_status, set(rule.parties), rule.needs)
        for key, rule in TABLE.items()
    } == CONTRACT


@pytest.mark.parametrize(("status", "action", "party"), list(product(S, A, P)))
def test_every_status_action_and_party(status, action, party):
    expected = CONTRACT.get((status, action))
    if expected is not None and party in expected[1]:
        assert (
            apply(status, action, party, reason="Because.", outcome="Done.")
            is expected[0]
        )
        return
    with pytest.raises(TransitionRefused) as refused:
        apply(status, action, party, reason="Because.", outcome="Done.")
    assert refused.value.code == (
        "invalid_transition" if expected is None else "not_allowed_for_party"
    )
    assert (refused.value.status, refused.value.action, refused.value.party) == (
        status,
        action,
        party,
    )


def test_terminal_statuses_allow_nothing():
    assert not any(status in TERMINAL_STATUSES for status, _ in TABLE)
    for status, party in product(TERMINAL_STATUSES, P):
        assert allowed_actions(status, party, include_aliases=True) == []


@pytest.mark.parametrize(("key", "needs"), NEEDING)
@pytest.mark.parametrize("missing", [None, "", "   \n\t"])
def test_reason_or_outcome_required(key, needs, missing):
    status, action = key
    party = next(iter(sorted(CONTRACT[key][1])))
    given = {"reason": "Because.", "outcome": "Done.", needs: missing}
    with pytest.raises(TransitionRefused) as refused:
        apply(status, action, party, **given)
    assert refused.value.code == f"{needs}_required"


def test_an_outcome_is_no_reason_and_a_reason_no_outcome():
    with pytest.raises(TransitionRefused, match="reason"):
        apply(S.requested, A.reject, P.receiver, outcome="Not for us.")
    with pytest.raises(TransitionRefused, match="outcome"):
        apply(S.in_progress, A.complete, P.receiver, reason="Finished.")


@pytest.mark.parametrize(
    "key", [key for key, (_, _, needs) in CONTRACT.items() if needs is None]
)
def test_actions_that_need_nothing(key):
    assert apply(*key, P.receiver) is CONTRACT[key][0]


def test_refusal_order_state_then_party_then_input():
    # A wrong state is reported before a wrong side, and both before missing text.
    with pytest.raises(TransitionRefused) as refused:
        apply(S.completed, A.cancel, P.receiver)
    assert refused.value.code == "invalid_transition"
    with pytest.raises(TransitionRefused) as refused:
        apply(S.requested, A.cancel, P.receiver)
    assert refused.value.code == "not_allowed_for_party"


def test_values_are_accepted_as_strings():
    assert (
        apply("in-progress", "hold", "receiver", reason="Waiting for documents.")
        == "on-hold"
    )
    assert (
        apply("requested", "cancel", "scheduler", reason="no-response") is S.cancelled
    )


@pytest.mark.parametrize(
    ("status", "action", "party"),
    [
        ("open", "accept", "receiver"),
        ("requested", "approve", "receiver"),
        ("requested", "accept", "guardian"),
    ],
)
def test_unknown_names_are_value_errors(status, action, party):
    with pytest.raises(ValueError):
        apply(status, action, party)


def test_status_groups():
    assert {S.requested, S.accepted, S.in_progress, S.on_hold} == OPEN_STATUSES
    assert {S.accepted, S.in_progress, S.on_hold} == ACTIVE_STATUSES
    assert {S.rejected, S.completed, S.failed, S.cancelled} == TERMINAL_STATUSES
    assert set(S) == OPEN_STATUSES | TERMINAL_STATUSES
    assert not OPEN_STATUSES & TERMINAL_STATUSES


@pytest.mark.parametrize(
    ("status", "party", "expected"),
    [
        (S.requested, P.receiver, [A.accept, A.reject]),
        (S.accepted, P.receiver, [A.start, A.hold, A.complete, A.fail]),
        (S.in_progress, P.receiver, [A.hold, A.complete, A.fail]),
        (S.on_hold, P.receiver, [A.resume, A.complete, A.fail]),
        (S.requested, P.sender, [A.cancel]),
        (S.on_hold, P.coordinator, [A.cancel]),
        (S.in_progress, P.scheduler, [A.cancel]),
        (S.completed, P.sender, []),
    ],
)
def test_allowed_actions_are_the_buttons_to_show(status, party, expected):
    assert allowed_actions(status, party) == expected


def test_allowed_actions_with_aliases_match_the_table():
    for status, party in product(S, P):
        expected = [
            action
            for action in A
            if party in CONTRACT.get((status, action), (None, set()))[1]
        ]
        assert allowed_actions(status, party, include_aliases=True) == expected


def test_a_refusal_is_a_translatable_message():
    with pytest.raises(TransitionRefused) as refused:
        apply(S.completed, A.hold, P.receiver, reason="x")
    error = refused.value
    assert (
        error.template
        == "The action “%(action)s” is not possible for a referral with status “%(status)s”."
    )
    assert error.params == {"action": "Put on hold", "status": "Completed"}
    assert (
        error.message
        == str(error)
        == "The action “Put on hold” is not possible for a referral with status “Completed”."
    )
    russian = {
        error.template: "Действие «%(action)s» невозможно для направления в статусе «%(status)s».",
        "Put on hold": "Приостановить",
        "Completed": "Завершено",
    }
    assert error.render(lambda text: russian.get(text, text)) == (
        "Действие «Приостановить» невозможно для направления в статусе «Завершено»."
    )


def test_every_status_and_action_has_a_label():
    assert all(status.label for status in S)
    assert all(action.label for action in A)


def test_imports_neither_the_web_nor_the_database_nor_agencies():
    code = (
        "import sys, workflows.lifecycle\n"
        "bad = {'flask', 'flask_babel', 'sqlalchemy', 'referral', 'agencies'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

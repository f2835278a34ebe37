from enum import Enum

import pytest

from agencies import (
    CaseFacts,
    Role,
    Viewer,
    Visibility,
    case_facts,
    case_visibility,
    may_see_referral,
)

HOLDER, ASKED, OTHER = 1, 2, 3
CASE = CaseFacts(
    region="KZ-71",
    holding_agencies=frozenset({HOLDER}),
    asked_agencies=frozenset({ASKED}),
)


def viewer(agency_id, role=Role.staff, region="KZ-71"):
    return Viewer(agency_id=agency_id, role=role, region=region)


@pytest.mark.parametrize("role", [Role.staff, Role.supervisor])
def test_agency_that_holds_or_held_the_case_sees_it_all(role):
    assert case_visibility(viewer(HOLDER, role), CASE) is Visibility.full


@pytest.mark.parametrize("role", [Role.staff, Role.supervisor])
def test_agency_only_asked_sees_a_summary(role):
    assert case_visibility(viewer(ASKED, role), CASE) is Visibility.summary


@pytest.mark.parametrize("role", [Role.staff, Role.supervisor])
def test_unrelated_agency_sees_nothing_even_in_the_same_region(role):
    assert case_visibility(viewer(OTHER, role), CASE) is Visibility.none


def test_coordinator_sees_all_of_the_cases_of_their_region():
    assert case_visibility(viewer(OTHER, Role.coordinator), CASE) is Visibility.full


def test_coordinator_sees_nothing_of_another_region_their_agency_is_not_part_of():
    coordinator = viewer(OTHER, Role.coordinator, region="KZ-75")
    assert case_visibility(coordinator, CASE) is Visibility.none


def test_coordinator_elsewhere_still_sees_what_their_agency_holds():
    assert (
        case_visibility(viewer(HOLDER, Role.coordinator, "KZ-75"), CASE)
        is Visibility.full
    )


def test_coordinator_elsewhere_whose_agency_is_asked_sees_a_summary():
    assert (
        case_visibility(viewer(ASKED, Role.coordinator, "KZ-75"), CASE)
        is Visibility.summary
    )


def test_admin_sees_everything():
    assert case_visibility(viewer(OTHER, Role.admin, "KZ-79"), CASE) is Visibility.full


def test_holding_wins_over_a_new_request():
    both = CaseFacts("KZ-71", frozenset({HOLDER}), frozenset({HOLDER}))
    assert case_visibility(viewer(HOLDER), both) is Visibility.full


def test_facts_from_referrals():
    facts = case_facts(
        "KZ-71",
        [
            (10, "in-progress"),
            (11, "accepted"),
            (12, "on-hold"),
            (13, "completed"),
            (14, "failed"),
            (15, "requested"),
            (16, "rejected"),
            (17, "cancelled"),
            (10, "requested"),
        ],
        registered_by=9,
    )
    assert facts == CaseFacts(
        "KZ-71", frozenset({9, 10, 11, 12, 13, 14}), frozenset({15})
    )


def test_agency_that_rejected_sees_nothing_afterwards():
    facts = case_facts("KZ-71", [(HOLDER, "in-progress"), (ASKED, "rejected")])
    assert case_visibility(viewer(ASKED), facts) is Visibility.none


def test_agency_whose_request_was_cancelled_sees_nothing():
    facts = case_facts("KZ-71", [(HOLDER, "in-progress"), (ASKED, "cancelled")])
    assert case_visibility(viewer(ASKED), facts) is Visibility.none


def test_agency_that_accepted_sees_it_all_even_after_finishing():
    facts = case_facts("KZ-71", [(HOLDER, "completed"), (ASKED, "failed")])
    assert case_visibility(viewer(ASKED), facts) is Visibility.full


class PlainStatus(Enum):
    accepted = "accepted"


def test_facts_take_statuses_from_any_enum():
    assert case_facts("KZ-71", [(ASKED, PlainStatus.accepted)]).holding_agencies == {
        ASKED
    }


def test_full_viewer_sees_every_referral_of_the_case():
    assert may_see_referral(viewer(HOLDER), CASE, to_agency_id=OTHER)


def test_asked_agency_sees_only_the_referral_addressed_to_it():
    assert may_see_referral(viewer(ASKED), CASE, to_agency_id=ASKED)
    assert not may_see_referral(viewer(ASKED), CASE, to_agency_id=HOLDER)


def test_unrelated_agency_sees_no_referral():
    assert not may_see_referral(viewer(OTHER), CASE, to_agency_id=OTHER)

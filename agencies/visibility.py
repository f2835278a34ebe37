"""Need to know: how much of a case a user may see (DESIGN.md section 10).

Agency ids are whatever the caller uses to identify agencies (database ids or
codes); the rules only compare them.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from .roles import Permission, Role, has_permission

AgencyId = Hashable

#: Referral statuses (values of the FHIR Task statuses used by ``workflows``)
#: through which the receiving agency holds or held the case. ``rejected`` and
#: ``cancelled`` are absent: an agency that said no, or was never allowed to
#: answer, keeps nothing.
HOLDING_STATUSES = frozenset(
    {"accepted", "in-progress", "on-hold", "completed", "failed"}
)
#: Referral statuses through which the receiving agency has only been asked.
ASKED_STATUSES = frozenset({"requested"})


class Visibility(StrEnum):
    """How much of a case record a viewer may see."""

    #: Nothing: the case does not exist for this viewer (the API answers 404).
    none = "none"
    #: Age, sex, region, risk level and the referral reason; never names.
    summary = "summary"
    full = "full"


@dataclass(frozen=True)
class Viewer:
    """The user looking: their agency, role, and the region of their agency."""

    agency_id: AgencyId
    role: Role
    region: str


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know about a case."""

    region: str
    #: Agencies that hold or held the case: the registering agency and every
    #: agency that accepted a referral of it (see ``HOLDING_STATUSES``).
    holding_agencies: frozenset[AgencyId] = frozenset()
    #: Agencies with a referral of the case waiting for their answer.
    asked_agencies: frozenset[AgencyId] = frozenset()


def case_facts(
    region: str,
    referrals: Iterable[tuple[AgencyId, str]],
    *,
    registered_by: AgencyId | None = None,
) -> CaseFacts:
    """Return the facts of a case from its region and its referrals' (receiving agency, status) pairs."""
    holding = set() if registered_by is None else {registered_by}
    asked = set()
    for agency_id, status in referrals:
        # A member of a plain Enum is not equal to its value; take the value.
        status = getattr(status, "value", status)
        if status in HOLDING_STATUSES:
            holding.add(agency_id)
        elif status in ASKED_STATUSES:
            asked.add(agency_id)
    return CaseFacts(region, frozenset(holding), frozenset(asked - holding))


def case_visibility(viewer: Viewer, case: CaseFacts) -> Visibility:
    """Return how much of a case a viewer may see."""
    # The first rule that matches decides; the order goes from most to least seen.
    if has_permission(viewer.role, Permission.view_all_cases):
        return Visibility.full
    if viewer.agency_id in case.holding_agencies:
        return Visibility.full
    if (
        has_permission(viewer.role, Permission.view_region_cases)
        and viewer.region == case.region
    ):
        return Visibility.full
    if viewer.agency_id in case.asked_agencies:
        return Visibility.summary
    return Visibility.none


def may_see_referral(viewer: Viewer, case: CaseFacts, to_agency_id: AgencyId) -> bool:
    """Return whether a viewer may see a referral of a case addressed to an agency."""
    visibility = case_visibility(viewer, case)
    if visibility is Visibility.full:
        return True
    # An agency only asked sees the request addressed to it, not where else the
    # child has been referred.
    return visibility is Visibility.summary and to_agency_id == viewer.agency_id

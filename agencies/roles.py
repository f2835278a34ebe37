"""Roles and what each role may do."""

from enum import StrEnum
from types import MappingProxyType

from .i18n import N_


class Role(StrEnum):
    """A user's one role; what the user sees of cases also depends on the agency."""

    staff = "staff"
    supervisor = "supervisor"
    coordinator = "coordinator"
    admin = "admin"

    @property
    def label(self) -> str:
        """Return the English label, marked for translation."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.staff: N_("Staff"),
    Role.supervisor: N_("Supervisor"),
    Role.coordinator: N_("Coordinator"),
    Role.admin: N_("Administrator"),
}


class Permission(StrEnum):
    """Something a role allows; the navigation offers exactly what the role permits."""

    view_workflows = "view_workflows"
    register_cases = "register_cases"
    refer_cases = "refer_cases"
    #: Work the agency inbox: accept, reject, start, hold, resume, complete, fail.
    act_on_referrals = "act_on_referrals"
    record_consent = "record_consent"
    record_interviews = "record_interviews"
    view_deadlines_dashboard = "view_deadlines_dashboard"
    #: Assign the agency's incoming referrals to any of its active users, not only to oneself.
    assign_referrals = "assign_referrals"
    #: Record a third or later forensic interview of a child, with a justification.
    justify_repeat_interviews = "justify_repeat_interviews"
    #: Full view of every case in the region of the user's agency.
    view_region_cases = "view_region_cases"
    #: Cancel any open referral of a case in the region, as the workflow's coordinator.
    cancel_region_referrals = "cancel_region_referrals"
    #: Close an open case of the region on which no referral is open, with a reason, as its coordinator.
    close_region_cases = "close_region_cases"
    design_workflows = "design_workflows"
    publish_workflows = "publish_workflows"
    #: Full view of every case, everywhere.
    view_all_cases = "view_all_cases"
    manage_users = "manage_users"
    manage_agencies = "manage_agencies"
    view_audit = "view_audit"
    #: Add and remove the days off and working days a country's calendar has by decree.
    manage_calendar = "manage_calendar"


_STAFF = frozenset(
    {
        Permission.view_workflows,
        Permission.register_cases,
        Permission.refer_cases,
        Permission.act_on_referrals,
        Permission.record_consent,
        Permission.record_interviews,
    }
)
# Each role above staff keeps the work of the one below: a supervisor or a
# coordinator is still a member of an agency and may have to answer its inbox.
_SUPERVISOR = _STAFF | {Permission.view_deadlines_dashboard, Permission.assign_referrals,
                        Permission.justify_repeat_interviews}
_COORDINATOR = _SUPERVISOR | {
    Permission.view_region_cases,
    Permission.cancel_region_referrals,
    Permission.close_region_cases,
    Permission.design_workflows,
    Permission.publish_workflows,
}

ROLE_PERMISSIONS: MappingProxyType[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.staff: _STAFF,
        Role.supervisor: _SUPERVISOR,
        Role.coordinator: _COORDINATOR,
        Role.admin: frozenset(Permission),
    }
)


def has_permission(role: Role | str, permission: Permission | str) -> bool:
    """Return whether a role grants a permission; raise ValueError for an unknown role or permission."""
    return Permission(permission) in ROLE_PERMISSIONS[Role(role)]

from itertools import pairwise

import pytest

from agencies import ROLE_PERMISSIONS, Permission, Role, has_permission


def test_the_four_roles():
    assert [each.value for each in Role] == [
        "staff",
        "supervisor",
        "coordinator",
        "admin",
    ]
    assert all(each.label for each in Role)


def test_every_role_has_an_entry():
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_admin_has_every_permission():
    assert all(has_permission(Role.admin, permission) for permission in Permission)


def test_staff_work_the_inbox_register_and_refer():
    assert ROLE_PERMISSIONS[Role.staff] == {
        Permission.view_workflows,
        Permission.register_cases,
        Permission.refer_cases,
        Permission.act_on_referrals,
        Permission.record_consent,
        Permission.record_interviews,
    }


def test_supervisors_add_the_deadlines_dashboard_assigning_others_and_justifying_a_third_interview():
    assert ROLE_PERMISSIONS[Role.supervisor] == ROLE_PERMISSIONS[Role.staff] | {
        Permission.view_deadlines_dashboard, Permission.assign_referrals, Permission.justify_repeat_interviews
    }


def test_coordinators_design_and_publish_workflows_and_see_their_region():
    assert ROLE_PERMISSIONS[Role.coordinator] == ROLE_PERMISSIONS[Role.supervisor] | {
        Permission.design_workflows,
        Permission.publish_workflows,
        Permission.view_region_cases,
        Permission.cancel_region_referrals,
        Permission.close_region_cases,
    }


@pytest.mark.parametrize(
    "permission",
    [
        Permission.manage_users,
        Permission.manage_agencies,
        Permission.view_audit,
        Permission.view_all_cases,
        Permission.manage_calendar,
    ],
)
def test_only_admins_administer(permission):
    assert [role for role in Role if has_permission(role, permission)] == [Role.admin]


def test_roles_grow_from_staff_to_admin():
    order = [Role.staff, Role.supervisor, Role.coordinator, Role.admin]
    for lower, higher in pairwise(order):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher]


def test_strings_are_accepted():
    assert has_permission("coordinator", "publish_workflows")
    assert not has_permission("staff", "publish_workflows")


def test_unknown_names_are_refused():
    with pytest.raises(ValueError):
        has_permission("root", Permission.view_audit)
    with pytest.raises(ValueError):
        has_permission(Role.admin, "launch_rockets")

"""The main navigation: each signed-in user sees what their role can do."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from agencies import Permission, has_permission

from ..notifications.service import unread_count
from ..referrals.views import agency_inbox_counts, assigned_to_me
from ..web.labels import actor_text, agency_name, outcome_text, reason_text, region_name, state_label
from ..web.timefmt import due_phrase


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    #: None: every signed-in user.
    permission: Permission | None = None
    #: Returns the number shown beside the label (None or 0: no badge).
    badge: Callable[[], int | None] | None = None
    #: Returns the number of the user's own items there (the inbox: referrals assigned to them).
    mine: Callable[[], int | None] | None = None
    #: Items of one group share a menu when a user has more than one of them, so the bar stays one row.
    group: str | None = None


def unread_notifications() -> int:
    """Return the signed-in user's unread notifications, counted once per request."""
    if "unread_count" not in g:
        g.unread_count = unread_count(current_user.id) if current_user.is_authenticated else 0
    return g.unread_count


def requested_referrals() -> int:
    """Return how many incoming referrals wait for the signed-in user's agency to answer."""
    return agency_inbox_counts().get("requested", 0)


NAV_ITEMS = (
    NavItem("web.home", _l("Home")),
    NavItem("inbox.index", _l("Inbox"), Permission.act_on_referrals, badge=requested_referrals, mine=assigned_to_me),
    NavItem("cases.index", _l("Cases"), Permission.register_cases),
    NavItem("deadlines.index", _l("Deadlines"), Permission.view_deadlines_dashboard, group="oversight"),
    NavItem("reports.index", _l("Reports"), Permission.view_reports, group="oversight"),
    NavItem("directory.index", _l("Agencies")),
    NavItem("designer.index", _l("Workflows"), Permission.view_workflows),
    NavItem("users_admin.index", _l("Users"), Permission.manage_users, group="admin"),
    NavItem("audit.index", _l("Audit log"), Permission.view_audit, group="admin"),
    NavItem("deliveries_admin.index", _l("Deliveries"), Permission.manage_agencies, group="admin"),
    NavItem("calendar.index", _l("Working calendar"), Permission.manage_calendar, group="admin"),
)

#: The name of each group's menu.
GROUP_LABELS = {"oversight": _l("Oversight"), "admin": _l("Administration")}


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    prefix: str
    badge: int | None = None
    mine: int | None = None
    #: The links of a menu (the link itself is then only its label), and the menu's group.
    links: tuple["NavLink", ...] = ()
    group: str = ""


def navigation() -> list[NavLink]:
    """Return the navigation links for the signed-in user."""
    return [link for _item, link in _permitted()]


def navigation_bar() -> list[NavLink]:
    """Return the links of the navigation bar: those of a group the user has two or more of share one menu."""
    permitted = _permitted()
    members: dict[str, list[NavLink]] = {}
    for item, link in permitted:
        if item.group is not None:
            members.setdefault(item.group, []).append(link)
    bar = []
    for item, link in permitted:
        if item.group is None or len(members[item.group]) == 1:
            bar.append(link)
        elif members[item.group][0] is link:
            bar.append(NavLink("", str(GROUP_LABELS[item.group]), "", links=tuple(members[item.group]),
                               group=item.group))
    return bar


def _permitted() -> list[tuple[NavItem, NavLink]]:
    links = []
    for item in NAV_ITEMS:
        if item.endpoint not in current_app.view_functions:
            continue
        if item.permission is not None and not has_permission(current_user.role, item.permission):
            continue
        links.append((item, NavLink(url_for(item.endpoint), str(item.label), item.endpoint.split(".")[0] + ".",
                                    item.badge() if item.badge is not None else None,
                                    item.mine() if item.mine is not None else None)))
    return links


def init_navigation(app: Flask) -> None:
    """Make the navigation and role checks available to templates."""
    app.jinja_env.globals.update(navigation=navigation, navigation_bar=navigation_bar, has_permission=has_permission,
                                 unread_notifications=unread_notifications,
                                 region_name=region_name)
    app.jinja_env.filters["due_phrase"] = due_phrase
    app.jinja_env.filters.update(state_label=state_label, outcome_text=outcome_text, reason_text=reason_text,
                                 actor_text=actor_text, agency_name=agency_name)

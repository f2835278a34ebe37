"""The referrals service: routing a case along its workflow, reading referrals, and their lifecycle.

The work is in three modules (``routing``, ``reading``, ``lifecycle``); this module is what the rest of the
service calls.
"""

from .assignment import assign, assignable_users, may_assign
from .lifecycle import EFFECTS, Effects, act
from .reading import (
    actions_for,
    assigned_count,
    get_referral,
    inbox_count_query,
    inbox_counts,
    inbox_page_query,
    inbox_query,
    may_see,
    notice_params,
    parties_of,
    read_referral,
)
from .routing import Route, refer, routes_for

__all__ = [
    "EFFECTS",
    "Effects",
    "Route",
    "act",
    "assign",
    "assignable_users",
    "assigned_count",
    "actions_for",
    "get_referral",
    "inbox_count_query",
    "inbox_counts",
    "inbox_page_query",
    "inbox_query",
    "may_assign",
    "may_see",
    "notice_params",
    "parties_of",
    "read_referral",
    "refer",
    "routes_for",
]

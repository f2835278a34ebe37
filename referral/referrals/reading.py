"""Reading referrals: who may see one and act on it from which side, and the agency's inbox."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, contains_eager

from agencies import Permission, has_permission, may_see_referral
from agencies.visibility import ASKED_STATUSES, HOLDING_STATUSES
from workflows import Stage
from workflows.lifecycle import OPEN_STATUSES, TERMINAL_STATUSES, Action, Party, ReferralStatus, allowed_actions

from ..actors import Actor
from ..audit.service import record
from ..auth.models import User
from ..cases import service as cases
from ..cases.models import Case, RiskLevel
from ..directory.models import Agency
from ..errors import NotFound
from ..extensions import db
from ..notifications.service import agency_params, stage_params
from .models import Referral
from .visibility import visible_condition


def notice_params(case: Case, stage: Stage, agency: Agency | None) -> dict:
    """Return what a notice about a referral names: the case number, the stage and the other agency."""
    return {"case": case.number, **stage_params(stage), **agency_params(agency)}


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


def _statuses_of(status: str | None) -> frozenset | None:
    """Return the statuses a box's ``status`` filter keeps (``open``, ``closed`` or one), None for all."""
    if status == "open":
        return OPEN_STATUSES
    if status == "closed":
        return TERMINAL_STATUSES
    return frozenset({ReferralStatus(status)}) if status else None


def _inbox_conditions(actor: Actor, box: str, statuses: frozenset | None, text: str,
                      assignee: str | None) -> tuple[list, bool]:
    """Return the conditions of a box, and whether they name the case (which must then be joined)."""
    column = Referral.to_agency_id if box == "incoming" else Referral.from_agency_id
    conditions = [column == actor.agency_id]
    if statuses is not None:
        conditions.append(Referral.status.in_(statuses) if len(statuses) > 1
                          else Referral.status == next(iter(statuses)))
    on_case = not _seen_by_the_box(box, statuses)
    if on_case:
        conditions.append(visible_condition(actor))
    if assignee == "me":
        conditions.append(Referral.assignee_user_id == actor.user_id)
    elif assignee == "none":
        conditions.append(Referral.assignee_user_id.is_(None))
    elif assignee:
        conditions.append(Referral.assignee_user_id.in_(
            sa.select(User.id).where(sa.func.lower(User.email) == assignee.strip().lower())))
    text = (text or "").strip().upper()
    if text:
        conditions.append(Referral.case_id.in_(
            sa.select(Case.id).where(sa.func.upper(Case.number).like(f"%{text}%"))))
    return conditions, on_case


#: Statuses in which a referral to an agency makes the agency one that holds its case or was asked about it.
_SEEN_BY_RECEIVER = frozenset(ReferralStatus(status) for status in HOLDING_STATUSES | ASKED_STATUSES)


def _seen_by_the_box(box: str, statuses: frozenset | None) -> bool:
    """Tell whether every referral of the box in these statuses is one its agency may see, as ``may_see`` says.

    The sender always sees what it sent; a referral to the agency in a holding or an asked status is itself
    what lets the agency see its case. Then the visibility condition, whose joins and subqueries over all the
    case's referrals cost most of a count, changes nothing and is left out.
    """
    return box == "outgoing" or (statuses is not None and statuses <= _SEEN_BY_RECEIVER)


#: Most urgent first: the nearest deadline, then the case's risk, then the oldest.
_INBOX_ORDER = (Referral.due_at.asc().nulls_last(),
                sa.case((Case.risk_level == RiskLevel.high, 0), (Case.risk_level == RiskLevel.medium, 1), else_=2),
                Referral.created_at, Referral.id)


def inbox_query(actor: Actor, box: str = "incoming", status: str | None = None, text: str = "",
                assignee: str | None = None) -> sa.Select:
    """Return a select of the agency's incoming or outgoing referrals, most urgent and oldest first.

    ``assignee`` keeps those assigned to the actor (``me``), to nobody (``none``) or to a user by e-mail.
    """
    return (sa.select(Referral).join(Case, Case.id == Referral.case_id)
            .options(contains_eager(Referral.case))
            .where(*_inbox_conditions(actor, box, _statuses_of(status), text, assignee)[0])
            .order_by(*_INBOX_ORDER))


#: Up to how many rows from the top of a box a page of several statuses is found status by status.
_SPLIT_UP_TO = 2_000


#: The sender, the receiver and the assignee of a listed referral, each under its own name in the page's FROM
#: (a filter's subquery of users, or of agencies, is then never correlated to them).
_SENDER, _RECEIVER, _ASSIGNEE = aliased(Agency), aliased(Agency), aliased(User)

#: What a page of the inbox shows of each referral, named as ReferralSchema names it: the case's number, the
#: agencies' codes and the assignee's e-mail beside the referral's own columns.
_PAGE_COLUMNS = (Referral.id, Referral.case_id, Case.number.label("case_number"), Referral.from_stage,
                 Referral.to_stage, _SENDER.code.label("from_agency"), _RECEIVER.code.label("to_agency"),
                 _ASSIGNEE.email.label("assignee"), Referral.mode, Referral.status, Referral.status_reason,
                 Referral.reason, Referral.outcome, Referral.version, Referral.created_at, Referral.responded_at,
                 Referral.closed_at, Referral.respond_by, Referral.complete_by)
#: The page's columns from the referral, its case, its agencies and its assignee, in the inbox's order: built
#: once, as every page of every box reads them so.
_PAGE = (sa.select(*_PAGE_COLUMNS).select_from(Referral).join(Case, Case.id == Referral.case_id)
         .outerjoin(_SENDER, _SENDER.id == Referral.from_agency_id)
         .join(_RECEIVER, _RECEIVER.id == Referral.to_agency_id)
         .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Referral.assignee_user_id)
         .order_by(*_INBOX_ORDER))


def inbox_page_query(actor: Actor, box: str = "incoming", status: str | None = None, text: str = "",
                     assignee: str | None = None, *, end: int | None = None) -> sa.Select:
    """Return inbox_query for a page, as rows of the columns it shows (``_PAGE_COLUMNS``), not as referrals.

    One statement, and no object loaded: the rows are the inbox's referrals in its order (the same conditions,
    the visibility rule among them), each with its case's number, its agencies' codes and its assignee's
    e-mail. ``end`` is how many rows from the top the page reaches (page × per page): a filter of several
    statuses (``open``, ``closed``) then reads the first ``end`` of each status in the inbox index's order and
    sorts only those, not every open referral of the agency.
    """
    statuses = _statuses_of(status)
    statement = _PAGE.where(*_inbox_conditions(actor, box, statuses, text, assignee)[0])
    if end is None or statuses is None or len(statuses) < 2 or end > _SPLIT_UP_TO:
        return statement
    firsts = []
    for one in sorted(statuses):
        conditions, _ = _inbox_conditions(actor, box, frozenset({one}), text, assignee)
        first = (sa.select(Referral.id).join(Case, Case.id == Referral.case_id).where(*conditions)
                 .order_by(*_INBOX_ORDER).limit(end).subquery())
        firsts.append(sa.select(first.c.id))
    return statement.where(Referral.id.in_(sa.union_all(*firsts)))


def inbox_count_query(actor: Actor, box: str = "incoming", status: str | None = None, text: str = "",
                      assignee: str | None = None) -> sa.Select:
    """Return a select of how many referrals inbox_query lists, without its order (and its join, where the
    box's rule of who sees what needs no case)."""
    count = sa.select(sa.func.count()).select_from(Referral)
    conditions, on_case = _inbox_conditions(actor, box, _statuses_of(status), text, assignee)
    if on_case:
        count = count.join(Case, Case.id == Referral.case_id)
    return count.where(*conditions)


def assigned_count(user_id: int) -> int:
    """Return how many open referrals are assigned to a user."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.assignee_user_id == user_id, Referral.status.in_(OPEN_STATUSES)))


def inbox_counts(agency_id: int) -> dict[str, int]:
    """Return the number of incoming referrals by status for an agency (open statuses only)."""
    rows = db.session.execute(
        sa.select(Referral.status, sa.func.count()).where(Referral.to_agency_id == agency_id,
                                                           Referral.status.in_(OPEN_STATUSES))
        .group_by(Referral.status)
    ).all()
    return {status.value: count for status, count in rows}

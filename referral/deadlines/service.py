"""Opening, closing and moving deadlines, in the transaction of the referral change that causes it."""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from agencies import Permission, has_permission
from workflows import Definition, Duration, Stage, WorkingCalendar

from ..cases.models import Case
from ..directory.models import Agency
from ..extensions import db, utcnow
from ..referrals.models import Referral, current_due
from ..referrals.visibility import visible_condition
from ..working_calendar.days import working_calendar
from .models import Deadline, DeadlineKind, DeadlineStatus


def with_case():
    """Return the loader options that bring each deadline's referral, case and agency in the same query."""
    # Lists show the case number, stage and agency of each deadline; built on call, once all mappers exist.
    return (joinedload(Deadline.referral).joinedload(Referral.case), joinedload(Deadline.agency))

#: The stage field each kind of deadline comes from.
_SOURCE = {DeadlineKind.respond: "respond_within", DeadlineKind.complete: "complete_within",
           DeadlineKind.review: "review_every"}


def _tz() -> str:
    return current_app.config["REFERRAL_TIMEZONE"]


def duration_for(stage: Stage, kind: DeadlineKind, risk_level: str) -> Duration | None:
    """Return the stage's duration for a kind of deadline at a risk level, or None if it has none."""
    spec = getattr(stage, _SOURCE[kind])
    if spec is None:
        return None
    return spec if isinstance(spec, Duration) else spec.for_risk(risk_level)


def _schedule(deadline: Deadline, definition: Definition, stage: Stage, duration: Duration,
              calendar: WorkingCalendar | None = None) -> None:
    reminders = [reminder for reminder in stage.reminders if reminder.is_valid]
    if calendar is None and any(d.is_working_days for d in (duration, *reminders)):
        # Only working days read the country's overrides; other durations need no query.
        calendar = working_calendar(definition.calendar)
    counted_by = calendar if calendar is not None else definition.calendar
    deadline.duration = duration.text
    deadline.due_at = duration.add_to(deadline.started_at, counted_by, _tz())
    reminders = sorted(reminder.subtract_from(deadline.due_at, counted_by, _tz()) for reminder in reminders)
    # A reminder that would fall before the clock started is pointless.
    deadline.remind_at = [moment.isoformat() for moment in reminders if moment > deadline.started_at]
    deadline.reminders_sent = min(deadline.reminders_sent or 0, len(deadline.remind_at))
    deadline.next_check_at = next_check(deadline)


def planned_due(definition: Definition, stage_key: str, kind: DeadlineKind, risk_level: str,
                start: datetime) -> datetime | None:
    """Return when a clock of a kind started at ``start`` falls due at a stage of a definition, or None."""
    duration = duration_for(definition.stage(stage_key), kind, risk_level)
    if duration is None:
        return None
    calendar = working_calendar(definition.calendar) if duration.is_working_days else definition.calendar
    return duration.add_to(start, calendar, _tz())


def next_check(deadline: Deadline) -> datetime:
    """Return when the sweep next has something to do for a pending deadline."""
    return next_check_at(deadline.remind_at, deadline.reminders_sent, deadline.due_at)


def next_check_at(remind_at: list[str], reminders_sent: int, due_at: datetime) -> datetime:
    """Return when the sweep next has something to do for a pending deadline, from its columns' values."""
    if reminders_sent < len(remind_at):
        return datetime.fromisoformat(remind_at[reminders_sent])
    return due_at


def open_deadline(referral, definition: Definition, kind: DeadlineKind, risk_level: str,
                  start: datetime) -> Deadline | None:
    """Start a clock on a referral if its stage sets one for this kind; return it."""
    stage = definition.stage(referral.to_stage)
    duration = duration_for(stage, kind, risk_level)
    if duration is None:
        return None
    deadline = Deadline(referral=referral, case_id=referral.case_id, agency_id=referral.to_agency_id,
                        kind=kind, status=DeadlineStatus.pending, started_at=start, reminders_sent=0, fired=[])
    _schedule(deadline, definition, stage, duration)
    db.session.add(deadline)
    _mirror(referral, deadline)
    return deadline


def _mirror(referral, deadline: Deadline) -> None:
    # The referral carries its respond and complete due dates for the API and the inbox order.
    if deadline.kind is DeadlineKind.respond:
        referral.respond_by = deadline.due_at
    elif deadline.kind is DeadlineKind.complete:
        referral.complete_by = deadline.due_at


def pending_deadlines(referral_id: int, kinds: tuple[DeadlineKind, ...] | None = None) -> list[Deadline]:
    """Return the pending deadlines of a referral."""
    # Callers hold the case's lock (referral.locking), which made the session read these rows afresh.
    statement = sa.select(Deadline).where(Deadline.referral_id == referral_id,
                                          Deadline.status == DeadlineStatus.pending)
    if kinds:
        statement = statement.where(Deadline.kind.in_(kinds))
    return list(db.session.scalars(statement))


def close_deadlines(referral_id: int, status: DeadlineStatus, now: datetime,
                    kinds: tuple[DeadlineKind, ...] | None = None) -> int:
    """Close a referral's pending deadlines (of some kinds) as met or cancelled; return how many."""
    # One UPDATE, without reading the rows first. Clocks of the referral that the session holds take the
    # new values as written (those it holds expired are read afresh on use).
    statement = (sa.update(Deadline)
                 .where(Deadline.referral_id == referral_id, Deadline.status == DeadlineStatus.pending)
                 .values(status=status, closed_at=now, next_check_at=None)
                 .execution_options(synchronize_session=False))
    if kinds:
        statement = statement.where(Deadline.kind.in_(kinds))
    closed = db.session.execute(statement).rowcount
    for held in list(db.session.identity_map.values()):
        loaded = sa.inspect(held).dict if isinstance(held, Deadline) else {}
        if loaded.get("referral_id") == referral_id and loaded.get("status") is DeadlineStatus.pending \
                and (not kinds or loaded.get("kind") in kinds):
            for name, value in (("status", status), ("closed_at", now), ("next_check_at", None)):
                set_committed_value(held, name, value)
    return closed


def reschedule_case(case, definition: Definition) -> int:
    """Recompute the pending deadlines of a case for its current risk level; return how many moved."""
    moved = 0
    pending = db.session.scalars(sa.select(Deadline).where(Deadline.case_id == case.id,
                                                           Deadline.status == DeadlineStatus.pending))
    for deadline in pending:
        moved += reschedule(deadline, definition, case.risk_level.value) is True
    return moved


def reschedule(deadline: Deadline, definition: Definition, risk_level: str,
               calendar: WorkingCalendar | None = None) -> bool | None:
    """Recompute a pending deadline from its start by its referral's stage in ``definition``.

    Return whether its due time moved, or None when the stage sets no such clock (the deadline is kept).
    The referral's due date follows without raising its version.
    """
    referral = deadline.referral
    stage = definition.stage(referral.to_stage)
    duration = duration_for(stage, deadline.kind, risk_level)
    if duration is None:
        return None
    before = deadline.due_at
    _schedule(deadline, definition, stage, duration, calendar)
    _mirror_quietly(referral, deadline)
    return before != deadline.due_at


def _mirror_quietly(referral, deadline: Deadline) -> None:
    """Copy a moved due date onto its referral without raising the referral's version.

    The version counts changes a person made to the referral; a due date that follows its clock is not
    one, so a receiver holding the referral can still act on the version they read.
    """
    column = {DeadlineKind.respond: "respond_by", DeadlineKind.complete: "complete_by"}.get(deadline.kind)
    if column is None:
        return
    set_committed_value(referral, column, deadline.due_at)
    set_committed_value(referral, "due_at", current_due(referral))
    db.session.execute(sa.update(Referral).where(Referral.id == referral.id)
                       .values({column: deadline.due_at, "due_at": referral.due_at})
                       .execution_options(synchronize_session=False))


def agencies_with_deadlines(actor) -> list[Agency]:
    """Return the agencies that hold a deadline the actor may see, by name (for filtering the dashboard)."""
    visible = deadlines_query(actor).with_only_columns(Deadline.agency_id).order_by(None).distinct()
    return list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(visible)).order_by(Agency.name)))


def deadlines_query(actor, *, status: str | None = None, overdue: bool | None = None, kind: str | None = None,
                    agency_code: str | None = None, region: str | None = None) -> sa.Select:
    """Return a select of the deadlines an actor may see, overdue and soonest first."""
    statement = (sa.select(Deadline).join(Case, Case.id == Deadline.case_id)
                 .join(Agency, Agency.id == Deadline.agency_id)
                 .join(Referral, Referral.id == Deadline.referral_id)
                 .where(visible_condition(actor)).options(*with_case()))
    if actor.user is not None and not has_permission(actor.role, Permission.view_all_cases):
        mine = Deadline.agency_id == actor.agency_id
        if has_permission(actor.role, Permission.view_region_cases):
            mine = sa.or_(mine, Case.region == actor.user.agency.region)
        statement = statement.where(mine)
    now = utcnow()
    if status:
        statement = statement.where(Deadline.status == DeadlineStatus(status))
    if overdue is True:
        statement = statement.where(Deadline.status == DeadlineStatus.pending, Deadline.due_at < now)
    elif overdue is False:
        statement = statement.where(sa.not_(sa.and_(Deadline.status == DeadlineStatus.pending,
                                                    Deadline.due_at < now)))
    if kind:
        statement = statement.where(Deadline.kind == DeadlineKind(kind))
    if agency_code:
        statement = statement.where(Agency.code == agency_code)
    if region:
        statement = statement.where(Case.region == region)
    is_overdue = sa.and_(Deadline.status == DeadlineStatus.pending, Deadline.due_at < now)
    return statement.order_by(sa.case((is_overdue, 0), else_=1), Deadline.due_at, Deadline.id)

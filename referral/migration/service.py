"""Moving the open cases of one workflow version to another: a dry run that says what would happen, or all at once.

A case can move when each of its open referrals lands on a stage of the target version, as it is or through
the stage map, still owned by the same type of agency. Moving writes, for every movable case in the one
transaction of the caller: the referrals' mapped stages, the pending deadlines recomputed by the target
version from when their clock started (sent or accepted), a ``workflow.migrated`` event, a notice to each
agency holding the case, and audit entries.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from agencies import Permission
from workflows import Definition
from workflows.lifecycle import OPEN_STATUSES, ReferralStatus

from ..actors import Actor, require
from ..audit.service import record
from ..cases import service as cases
from ..cases.models import Case, CaseStatus
from ..deadlines import service as clocks
from ..deadlines.models import Deadline, DeadlineKind, DeadlineStatus
from ..designer import service as designer
from ..designer.models import WorkflowVersion
from ..errors import Invalid
from ..extensions import db, utcnow
from ..locking import lock_case
from ..notifications.service import notify_agency
from ..referrals.models import Referral

#: Why a case cannot move, by code.
REASONS = {
    "stage_removed": _l("An agency works the case at a stage the new version no longer has; map the stage."),
    "requested_stage_removed": _l("A referral waits for an answer at a stage the new version no longer has; "
                                  "map the stage."),
    "agency_type_changed": _l("A stage of the case belongs to another type of agency in the new version."),
    "stages_merged": _l("Two open referrals of the case to one agency would meet at one stage."),
}

#: The clocks each open status keeps; a clock the target stage adds is started from these moments.
_CLOCKS = {True: (DeadlineKind.respond,), False: (DeadlineKind.complete, DeadlineKind.review)}


@dataclass(frozen=True)
class Blocked:
    """A case that cannot move, why (a code of ``REASONS``), and the stages of the source version at fault."""

    case_id: int
    number: str
    reason: str
    stages: list[str]

    @property
    def message(self) -> str:
        return str(REASONS[self.reason])


@dataclass(frozen=True)
class DeadlineShift:
    """How one clock of a movable case changes: from its due time to another, or ends (``after`` None)."""

    case_id: int
    number: str
    referral_id: int
    kind: str
    stage: str
    new_stage: str
    started_at: datetime
    before: datetime | None
    after: datetime | None


@dataclass(frozen=True)
class Migration:
    """The answer of a migration: counts, the blocked cases and how the deadlines move."""

    key: str
    from_version: int
    to_version: int
    stage_map: dict[str, str]
    cases: int
    movable: int
    blocked: list[Blocked]
    applied: bool
    deadlines: list[DeadlineShift] = field(default_factory=list)
    #: The numbers of the movable (or moved) cases.
    moved_numbers: list[str] = field(default_factory=list)


def _field_error(field_name: str, message) -> Invalid:
    return Invalid(message, errors={field_name: [str(message)]})


def _version(key: str, number, field_name: str) -> WorkflowVersion:
    if not isinstance(number, int) or isinstance(number, bool):
        raise _field_error(field_name, _l("Give the number of a published version."))
    workflow = designer.get_workflow(key)
    version = db.session.scalar(sa.select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id,
                                                                 WorkflowVersion.number == number))
    if version is None:
        raise _field_error(field_name, _l("Workflow %(key)s has no version %(number)s.", key=key, number=number))
    return version


def _checked_map(stage_map, source: Definition, target: Definition) -> dict[str, str]:
    if stage_map is None:
        return {}
    if not isinstance(stage_map, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in stage_map.items()):
        raise _field_error("stage_map", _l("Map stage keys of the old version to stage keys of the new one."))
    checked = {}
    for old, new in stage_map.items():
        if not new:
            continue  # an empty choice in the form: not mapped
        if not source.has_stage(old):
            raise _field_error("stage_map", _l("%(stage)s is not a stage of the version the cases run on.",
                                               stage=old))
        if not target.has_stage(new):
            raise _field_error("stage_map", _l("%(stage)s is not a stage of the version the cases move to.",
                                               stage=new))
        checked[old] = new
    return checked


def open_cases_by_version(key: str) -> dict[int, int]:
    """Return how many open cases run on each published version of a workflow; raise NotFound."""
    workflow = designer.get_workflow(key)
    counted = dict(db.session.execute(
        sa.select(WorkflowVersion.number, sa.func.count(Case.id))
        .join(Case, Case.workflow_version_id == WorkflowVersion.id)
        .where(WorkflowVersion.workflow_id == workflow.id, Case.status == CaseStatus.open)
        .group_by(WorkflowVersion.number)).all())
    return {version.number: counted.get(version.number, 0) for version in workflow.versions}


def removed_stages(key: str, from_version: int, to_version: int) -> list[str]:
    """Return the stage keys of one version that another lacks, in the first one's order; raise as migrate."""
    source = designer.published_definition(_version(key, from_version, "from_version"))
    target = designer.published_definition(_version(key, to_version, "to_version"))
    return [stage.key for stage in source.stages if not target.has_stage(stage.key)]


def _blocker(case: Case, target: Definition, stage_map: dict[str, str]) -> tuple[str, list[str]] | None:
    """Return why a case cannot move and the stages at fault, or None if it can."""
    open_referrals = [r for r in case.referrals if r.status in OPEN_STATUSES]
    removed = sorted({r.to_stage for r in open_referrals
                      if not target.has_stage(stage_map.get(r.to_stage, r.to_stage))})
    if removed:
        requested = any(r.status is ReferralStatus.requested and r.to_stage in removed for r in open_referrals)
        return ("requested_stage_removed" if requested else "stage_removed"), removed
    changed = sorted({r.to_stage for r in open_referrals
                      if target.stage(stage_map.get(r.to_stage, r.to_stage)).agency_type != r.to_agency.type.value})
    if changed:
        return "agency_type_changed", changed
    seen: dict[tuple[str, int], str] = {}
    for referral in open_referrals:
        place = (stage_map.get(referral.to_stage, referral.to_stage), referral.to_agency_id)
        if place in seen and seen[place] != referral.to_stage:
            return "stages_merged", sorted({seen[place], referral.to_stage})
        seen[place] = referral.to_stage
    return None


def _clocks_ever(case_id: int) -> set[tuple[int, DeadlineKind]]:
    """Return the (referral, kind) of every clock a case's referrals have had, pending or finished."""
    return {(referral_id, kind) for referral_id, kind in db.session.execute(
        sa.select(Deadline.referral_id, Deadline.kind).where(Deadline.case_id == case_id))}


def _clock_start(referral: Referral, kind: DeadlineKind) -> datetime:
    """Return when a clock of a referral starts: when it was sent (respond), or when it was accepted."""
    if kind is DeadlineKind.respond:
        return referral.created_at
    return referral.responded_at or referral.created_at


def _shifts(case: Case, target: Definition, stage_map: dict[str, str]) -> list[DeadlineShift]:
    """Return how the clocks of a movable case's open referrals change, without changing anything."""
    risk = case.risk_level.value
    pending = {(d.referral_id, d.kind): d for d in db.session.scalars(
        sa.select(Deadline).where(Deadline.case_id == case.id, Deadline.status == DeadlineStatus.pending))}
    ever = _clocks_ever(case.id)
    shifts = []
    for referral in case.referrals:
        if referral.status not in OPEN_STATUSES:
            continue
        new_stage = stage_map.get(referral.to_stage, referral.to_stage)
        for kind in _CLOCKS[referral.status is ReferralStatus.requested]:
            deadline = pending.get((referral.id, kind))
            if deadline is None and (referral.id, kind) in ever:
                continue  # met or missed already: a finished clock does not start again
            start = deadline.started_at if deadline is not None else _clock_start(referral, kind)
            after = clocks.planned_due(target, new_stage, kind, risk, start)
            before = deadline.due_at if deadline is not None else None
            if before != after:
                shifts.append(DeadlineShift(case.id, case.number, referral.id, kind.value, referral.to_stage,
                                            new_stage, start, before, after))
    return shifts


def migrate(key: str, from_version, to_version, stage_map, dry_run: bool, actor: Actor) -> Migration:
    """Move (or, with ``dry_run``, only check) the open cases of one version of a workflow to another.

    Raise Forbidden (not a coordinator), NotFound (unknown workflow) or Invalid (unknown version, the same
    version twice, or a stage map naming stages the versions do not have).
    """
    require(actor, Permission.publish_workflows)
    source_version = _version(key, from_version, "from_version")
    target_version = _version(key, to_version, "to_version")
    if source_version.id == target_version.id:
        raise _field_error("to_version", _l("Choose another version than the one the cases run on."))
    source = designer.published_definition(source_version)
    target = designer.published_definition(target_version)
    stage_map = _checked_map(stage_map, source, target)
    case_ids = list(db.session.scalars(sa.select(Case.id).where(
        Case.workflow_version_id == source_version.id, Case.status == CaseStatus.open).order_by(Case.id)))
    if not dry_run:
        # Every case is locked (in id order) before any is read for the plan: what is checked is what moves.
        case_ids = [case.id for case in map(lock_case, case_ids)
                    if case is not None and case.status is CaseStatus.open
                    and case.workflow_version_id == source_version.id]
    blocked, movable, shifts = [], [], []
    for case_id in case_ids:
        case = db.session.get(Case, case_id)
        fault = _blocker(case, target, stage_map)
        if fault is not None:
            blocked.append(Blocked(case.id, case.number, fault[0], fault[1]))
            continue
        movable.append(case)
        shifts.extend(_shifts(case, target, stage_map))
    if not dry_run:
        for case in movable:
            _move(case, source_version, target_version, target, stage_map, actor)
    result = Migration(key, source_version.number, target_version.number, stage_map, len(case_ids), len(movable),
                       blocked, not dry_run, shifts, [case.number for case in movable])
    record(actor, "workflow.migration_checked" if dry_run else "workflow.migrated", "workflow", key,
           {"from_version": result.from_version, "to_version": result.to_version, "stage_map": stage_map,
            "cases": result.cases, "movable": result.movable, "blocked": len(blocked)})
    return result


def _move(case: Case, source_version: WorkflowVersion, target_version: WorkflowVersion, target: Definition,
          stage_map: dict[str, str], actor: Actor) -> None:
    """Move one locked, movable case to the target version: stages, clocks, event, notices, audit."""
    now = utcnow()
    risk = case.risk_level.value
    moved_stages = {}
    ever = _clocks_ever(case.id)
    open_referrals = [r for r in case.referrals if r.status in OPEN_STATUSES]
    for referral in open_referrals:
        new_stage = stage_map.get(referral.to_stage, referral.to_stage)
        if new_stage != referral.to_stage:
            moved_stages[referral.to_stage] = new_stage
            referral.to_stage = new_stage
        if referral.from_stage in stage_map:
            referral.from_stage = stage_map[referral.from_stage]
    case.workflow_version = target_version
    db.session.flush()
    for referral in open_referrals:
        kinds = _CLOCKS[referral.status is ReferralStatus.requested]
        for deadline in clocks.pending_deadlines(referral.id):
            if clocks.reschedule(deadline, target, risk) is None:
                # The stage in the new version sets no such clock: it stops, and the referral's due date goes.
                deadline.status = DeadlineStatus.cancelled
                deadline.closed_at = now
                deadline.next_check_at = None
                if deadline.kind is DeadlineKind.respond:
                    referral.respond_by = None
                elif deadline.kind is DeadlineKind.complete:
                    referral.complete_by = None
        for kind in kinds:
            if (referral.id, kind) not in ever:
                clocks.open_deadline(referral, target, kind, risk, _clock_start(referral, kind))
    cases.add_event(case, actor, "workflow.migrated", workflow=target_version.workflow.key,
                    from_version=source_version.number, to_version=target_version.number, stages=moved_stages)
    record(actor, "case.migrated", "case", case.id,
           {"number": case.number, "from_version": source_version.number, "to_version": target_version.number})
    for agency_id in sorted({r.to_agency_id for r in open_referrals}):
        notify_agency(agency_id, "workflow.migrated",
                      {"case": case.number, "version": target_version.number,
                       "workflow": target_version.workflow.key}, case_id=case.id, exclude_user_id=actor.user_id)
    db.session.flush()

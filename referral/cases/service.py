"""Registering cases, consents, the timeline, and need-to-know reads."""

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from agencies import (
    AgencyType,
    CaseFacts,
    Permission,
    Viewer,
    Visibility,
    case_facts,
    case_visibility,
    has_permission,
    is_region_code,
)
from agencies.visibility import ASKED_STATUSES, HOLDING_STATUSES
from workflows import Definition
from workflows.durations import RISK_LEVELS
from workflows.lifecycle import ACTIVE_STATUSES, ReferralStatus

from ..actors import Actor
from ..audit.service import record
from ..bulk import insert_rows
from ..deadlines import service as clocks
from ..deadlines.models import DeadlineKind
from ..designer import service as designer
from ..designer.models import Workflow, WorkflowVersion
from ..directory.models import NAMING_COLUMNS
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, dialect_insert, mark_written, utcnow
from ..locking import lock_case
from ..referrals.models import Referral
from .models import Case, CaseNumberSequence, CaseStatus, Consent, Event, RiskLevel, Sex
from .names import fold

AGENCY_TYPES = frozenset(kind.value for kind in AgencyType)
#: The oldest a registered person may be: the reintegration programmes follow young people up to 24.
MAX_AGE = 24
_INSERT_EVENT = sa.insert(Event.__table__)


@dataclass(frozen=True)
class ChildData:
    given_name: str
    family_name: str
    sex: str
    region: str
    birth_date: date | None = None
    estimated_age: int | None = None
    patronymic: str | None = None
    languages: list[str] = field(default_factory=list)
    settlement: str | None = None
    returned_on: date | None = None
    #: ``[{"name", "relationship", "phone"}]``
    guardians: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ConsentData:
    given_by: str
    relationship_to_child: str
    agency_types: list[str]
    given_on: date
    expires_on: date | None = None


def latest_definition(workflow_key: str) -> Definition | None:
    """Return the definition of a workflow's newest published version, or None if it has none."""
    version = designer.latest_version(workflow_key)
    return None if version is None else designer.published_definition(version)


def registrable_workflows(actor: Actor) -> list[Definition]:
    """Return the published workflows whose start stage the actor's agency may take: where it registers cases."""
    found = []
    for workflow in designer.list_workflows():
        definition = latest_definition(workflow.key) if workflow.latest_version >= 1 else None
        if definition is None or definition.start_stage is None:
            continue
        if actor.user is None or definition.start_stage.agency_type == actor.user.agency.type.value:
            found.append(definition)
    return found


def start_agency_types() -> list[str]:
    """Return the agency types that register cases on some published workflow, in order."""
    types = set()
    for workflow in designer.list_workflows():
        definition = latest_definition(workflow.key) if workflow.latest_version >= 1 else None
        if definition is not None and definition.start_stage is not None:
            types.add(definition.start_stage.agency_type)
    return sorted(types)


def definition_of(case: Case) -> Definition:
    """Return the workflow definition the case runs on."""
    return designer.published_definition_of(case.workflow_version_id)


def _timeline_name(actor: Actor) -> str:
    """Return who acted as the timeline shows it: the user's name, or the system's (``scheduler``)."""
    return actor.user.name if actor.user is not None else actor.system


def add_event(case: Case, actor: Actor, kind: str, *, referral: Referral | None = None,
              from_status: str | None = None, to_status: str | None = None, **detail) -> None:
    """Append one row to the case's timeline, written at once in the current transaction.

    One INSERT at once rather than an object for the next flush: the flush's unit of work costs more than the
    statement. A case or referral added in this transaction and not yet written is flushed first, for its id.
    """
    if case.id is None or (referral is not None and referral.id is None):
        db.session.flush()
    db.session.execute(_INSERT_EVENT, {
        "case_id": case.id, "referral_id": referral.id if referral is not None else None, "occurred_at": utcnow(),
        "actor_user_id": actor.user_id, "actor_label": _timeline_name(actor), "actor_agency_id": actor.agency_id,
        "kind": kind, "from_status": getattr(from_status, "value", from_status),
        "to_status": getattr(to_status, "value", to_status), "detail": detail})
    mark_written()


def add_events(actor: Actor, kind: str, entries: list[tuple[int, int | None, dict]]) -> None:
    """Append one timeline row per (case id, referral id, detail), all of one kind by one actor, in one statement.

    The rows are those ``add_event`` writes; their ids are not read back.
    """
    if not entries:
        return
    now = utcnow()
    label = _timeline_name(actor)
    insert_rows(Event.__table__, [
        {"case_id": case_id, "referral_id": referral_id, "occurred_at": now, "actor_user_id": actor.user_id,
         "actor_label": label, "actor_agency_id": actor.agency_id, "kind": kind, "from_status": None,
         "to_status": None, "detail": detail}
        for case_id, referral_id, detail in entries])


def _next_number(year: int) -> str:
    table = CaseNumberSequence.__table__
    db.session.execute(dialect_insert(table).values(year=year, last_number=0).on_conflict_do_nothing())
    number = db.session.execute(
        sa.update(table).where(table.c.year == year).values(last_number=table.c.last_number + 1)
        .returning(table.c.last_number)
    ).scalar_one()
    return f"KZ-{year}-{number:06d}"


def register_case(workflow_key: str, risk_level: str, child: ChildData, actor: Actor) -> Case:
    """Register a case on the latest published version of a workflow, with its first referral.

    The registering agency owns the start stage, already in progress. The child's record comes checked
    by ``ChildInSchema``. Raise Invalid for an unpublished workflow or an agency of the wrong type.
    """
    if actor.user is None or not has_permission(actor.role, Permission.register_cases):
        raise Forbidden(_l("Your role does not allow this."))
    version = designer.latest_version(workflow_key) if isinstance(workflow_key, str) else None
    if version is None:
        raise Invalid(_l("No published workflow has the key %(key)s.", key=workflow_key),
                      errors={"workflow": [str(_l("Unknown or unpublished workflow."))]})
    definition = designer.published_definition(version)
    start = definition.start_stage
    agency = actor.user.agency
    if agency.type.value != start.agency_type:
        raise Invalid(
            _l("Cases of this workflow are registered by agencies of type %(type)s.", type=start.agency_type),
            problems=[{"code": "agency_type_mismatch",
                       "message": _l("Your agency's type does not own the start stage %(stage)s.",
                                     stage=start.key)}],
        )
    now = utcnow()
    case = Case(number=_next_number(now.year), workflow_version_id=version.id, given_name=child.given_name,
                family_name=child.family_name, patronymic=child.patronymic,
                birth_date=child.birth_date, estimated_age=child.estimated_age, sex=Sex(child.sex),
                region=child.region, languages=list(child.languages or []), settlement=child.settlement,
                returned_on=child.returned_on, guardians=list(child.guardians), risk_level=RiskLevel(risk_level),
                status=CaseStatus.open, registered_by_agency_id=agency.id, registered_by_user_id=actor.user_id,
                created_at=now)
    db.session.add(case)
    db.session.flush()
    first = Referral(case_id=case.id, to_stage=start.key, to_agency_id=agency.id, mode="handover",
                     status=ReferralStatus.in_progress, created_by_user_id=actor.user_id, created_at=now,
                     responded_at=now)
    db.session.add(first)
    # The clocks set the referral's due dates before its INSERT: the first referral starts at version 1.
    with db.session.no_autoflush:
        clocks.open_deadline(first, definition, DeadlineKind.complete, risk_level, now)
        clocks.open_deadline(first, definition, DeadlineKind.review, risk_level, now)
    add_event(case, actor, "case.registered", referral=first, to_status=ReferralStatus.in_progress,
              stage=start.key, agency=agency.code, workflow=workflow_key, workflow_version=version.number)
    record(actor, "case.create", "case", case.id, {"number": case.number, "workflow": workflow_key})
    db.session.flush()
    return case


# -- need to know -------------------------------------------------------------------


def viewer_of(actor: Actor) -> Viewer:
    """Return the need-to-know viewer for an acting user."""
    return Viewer(agency_id=actor.agency_id, role=actor.role, region=actor.user.agency.region)


def facts_of(case: Case) -> CaseFacts:
    """Return what the need-to-know rules need to know about a case."""
    return case_facts(case.region, [(r.to_agency_id, r.status) for r in case.referrals],
                      registered_by=case.registered_by_agency_id)


def visibility_of(case: Case, actor: Actor) -> Visibility:
    """Return how much of a case an actor may see (the system sees everything)."""
    if actor.user is None:
        return Visibility.full
    return case_visibility(viewer_of(actor), facts_of(case))


def visible_cases_filter(actor: Actor):
    """Return a SQL condition on Case for the cases an actor may see at all."""
    return _cases_seen(actor, HOLDING_STATUSES | ASKED_STATUSES)


def full_view_filter(actor: Actor):
    """Return a SQL condition on Case for the cases an actor sees in full (names included)."""
    return _cases_seen(actor, HOLDING_STATUSES)


def _cases_seen(actor: Actor, statuses) -> sa.ColumnElement:
    if actor.user is None or has_permission(actor.role, Permission.view_all_cases):
        return sa.true()
    seen = list(statuses)
    own = sa.or_(
        Case.registered_by_agency_id == actor.agency_id,
        sa.exists().where(Referral.case_id == Case.id, Referral.to_agency_id == actor.agency_id,
                          Referral.status.in_([ReferralStatus(s) for s in seen])),
    )
    if has_permission(actor.role, Permission.view_region_cases):
        return sa.or_(own, Case.region == actor.user.agency.region)
    return own


def openable_cases(case_ids: set, actor: Actor) -> set[int]:
    """Return those of the case ids (None ignored) the actor may open, as a single read would allow."""
    case_ids = {case_id for case_id in case_ids if case_id is not None}
    if not case_ids:
        return set()
    return set(db.session.scalars(sa.select(Case.id).where(Case.id.in_(case_ids), visible_cases_filter(actor))))


#: What a read of a case shows beside its columns, in the same statement (one round trip, not four): its
#: referrals and consents (a few rows each), the version's number and its workflow's key (never the version's
#: document, which the definition cache holds), and of each agency only what names it.
_REFERRALS = joinedload(Case.referrals)
_READ_CASE = [joinedload(Case.registered_by_agency).load_only(*NAMING_COLUMNS),
              joinedload(Case.consents),
              joinedload(Case.workflow_version)
              .load_only(WorkflowVersion.number, WorkflowVersion.published_at, WorkflowVersion.workflow_id)
              .joinedload(WorkflowVersion.workflow).load_only(Workflow.key),
              joinedload(Case.workflow_version).lazyload(WorkflowVersion.published_by)]
_READ_OPTIONS = [*_READ_CASE,
                 _REFERRALS.joinedload(Referral.from_agency).load_only(*NAMING_COLUMNS),
                 _REFERRALS.joinedload(Referral.to_agency).load_only(*NAMING_COLUMNS)]
#: The same read without the referrals' agencies (they load when touched), for a caller that names none.
_READ_OPTIONS_WITHOUT_AGENCIES = [*_READ_CASE, _REFERRALS.lazyload(Referral.from_agency),
                                  _REFERRALS.lazyload(Referral.to_agency)]
#: Built once, with and without the referrals' agencies: building the read's select with its options, and its
#: cache key, cost a third of running it.
_READS = {agencies: sa.select(Case).where(Case.id == sa.bindparam("case_id")).options(
    *(_READ_OPTIONS if agencies else _READ_OPTIONS_WITHOUT_AGENCIES)) for agencies in (True, False)}


def _read_case(case_id: int, agencies: bool) -> Case | None:
    """Load a case with what a read shows, as ``session.get`` would: the session's own if it holds it, no flush."""
    if db.session.identity_key(Case, case_id) in db.session.identity_map:
        return db.session.get(Case, case_id, options=_READ_OPTIONS)
    return db.session.execute(_READS[agencies], {"case_id": case_id},
                              execution_options={"autoflush": False}).unique().scalar_one_or_none()


def get_case(case_id: int, actor: Actor, *, audit: bool = True,
             agencies: bool = True) -> tuple[Case, Visibility]:
    """Return a case and how much of it the actor may see; raise NotFound if nothing.

    A full read is audited. ``agencies=False`` leaves the referrals' agencies unloaded, for a caller that
    shows none of them (they load when touched).
    """
    case = _read_case(case_id, agencies)
    visibility = visibility_of(case, actor) if case is not None else Visibility.none
    if visibility is Visibility.none:
        raise NotFound(_l("No such case."))
    if audit:
        record(actor, "case.read" if visibility is Visibility.full else "case.read_summary", "case", case.id)
    return case, visibility


@dataclass(frozen=True)
class ChildSummary:
    """What a summary says of the child: no names, no birth date."""

    age: int | None
    sex: Sex
    region: str


@dataclass(frozen=True)
class CaseSummary:
    """What an agency that has only been asked may see of a case, and why it was asked."""

    id: int
    number: str
    status: CaseStatus
    risk_level: RiskLevel
    child: ChildSummary
    #: The referrals of the case to the actor's agency, oldest first.
    asked: list[Referral]

    @property
    def reason(self) -> str | None:
        """Return why the agency was asked: the reason of its latest referral that gives one."""
        return next((referral.reason for referral in reversed(self.asked) if referral.reason), None)


def summary_for(case: Case, actor: Actor) -> CaseSummary:
    """Return the summary of a case an agency that has only been asked sees, the same on every page and API."""
    asked = sorted((r for r in case.referrals if r.to_agency_id == actor.agency_id), key=lambda r: r.id)
    return CaseSummary(id=case.id, number=case.number, status=case.status, risk_level=case.risk_level,
                       child=ChildSummary(age=age_of(case), sex=case.sex, region=case.region), asked=asked)


def listed(cases: list[Case], actor: Actor) -> list[tuple[Case, Visibility]]:
    """Return each listed case with what the actor may see of it; audit each full record shown, as a read."""
    rows = [(case, visibility_of(case, actor)) for case in cases]
    for case, visibility in rows:
        if visibility is Visibility.full:
            record(actor, "case.read", "case", case.id, {"via": "list"})
    return rows


def read_timeline(case_id: int, actor: Actor) -> Case:
    """Return a case whose timeline the actor may read (full readers only), audited as a read; raise NotFound."""
    case = full_case(case_id, actor)
    record(actor, "case.read", "case", case.id, {"via": "timeline"})
    return case


def oversees(case: Case, actor: Actor) -> bool:
    """Return whether the actor oversees the case: a coordinator of its region, or an admin (or the system)."""
    if actor.user is None:
        return True
    if not has_permission(actor.role, Permission.close_region_cases):
        return False
    return has_permission(actor.role, Permission.view_all_cases) or actor.user.agency.region == case.region


def full_case(case_id: int, actor: Actor) -> Case:
    """Return a case the actor sees in full, for changing it; raise NotFound otherwise (not audited as a read)."""
    case, visibility = get_case(case_id, actor, audit=False)
    if visibility is not Visibility.full:
        raise NotFound(_l("No such case."))
    return case


def cases_query(actor: Actor, *, text: str = "", status: str | None = None, risk_level: str | None = None,
                region: str | None = None, assigned_to_me: bool = False) -> sa.Select:
    """Return a select of the cases an actor may see, newest first, filtered by a text and a status.

    The text matches part of the case number, or, among the cases the actor sees in full, the child's
    names in any script (each word of the text the beginning or part of one name, see ``names.fold``).
    A case seen only as a summary never matches on a name. ``assigned_to_me`` keeps the cases with an
    open referral assigned to the actor.
    """
    statement = sa.select(Case).where(visible_cases_filter(actor)).order_by(Case.created_at.desc(), Case.id.desc())
    text = (text or "").strip()
    if text:
        number = text.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = sa.func.upper(Case.number).like(f"%{number}%", escape="\\")
        words = [fold(word) for word in text.split()]
        if words and all(words):
            matches = sa.or_(matches, sa.and_(full_view_filter(actor),
                                              *(Case.search_key.contains(word) for word in words)))
        statement = statement.where(matches)
    if status in (CaseStatus.open.value, CaseStatus.closed.value):
        statement = statement.where(Case.status == CaseStatus(status))
    if risk_level in {level.value for level in RiskLevel}:
        statement = statement.where(Case.risk_level == RiskLevel(risk_level))
    if region and is_region_code(region):
        statement = statement.where(Case.region == region)
    if assigned_to_me and actor.user is not None:
        statement = statement.where(sa.exists().where(
            Referral.case_id == Case.id, Referral.assignee_user_id == actor.user_id,
            Referral.status.in_([ReferralStatus(s) for s in HOLDING_STATUSES | ASKED_STATUSES])))
    return statement


def active_stages(case: Case) -> list[str]:
    """Return the stages where an agency holds the case now, in workflow order."""
    held = {r.to_stage for r in case.referrals if r.status in ACTIVE_STATUSES}
    order = {key: index for index, key in enumerate(definition_of(case).stage_keys)}
    return sorted(held, key=lambda key: order.get(key, len(order)))


def last_stages(case: Case) -> list[str]:
    """Return where the case is: its active stages, else (closed) the stage its last finished referral reached."""
    active = active_stages(case)
    if active or not case.referrals:
        return active
    done = [r for r in case.referrals if r.status == ReferralStatus.completed] or list(case.referrals)
    last = max(done, key=lambda r: (r.closed_at or r.created_at, r.id))
    return [last.to_stage]


def years_between(born: date, today: date) -> int:
    """Return a person's age in whole years on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def age_of(case: Case, today: date | None = None) -> int | None:
    """Return the child's age in whole years (or the estimate)."""
    if case.birth_date is None:
        return case.estimated_age
    return years_between(case.birth_date, today or date.today())


# -- consent ------------------------------------------------------------------------


def record_consent(case_id: int, data: ConsentData, actor: Actor) -> Consent:
    """Record a consent (checked by ``ConsentCreateSchema``) on a case the actor fully sees; raise NotFound or
    Forbidden."""
    case = full_case(case_id, actor)
    if not has_permission(actor.role, Permission.record_consent):
        raise Forbidden(_l("Your role does not allow this."))
    consent = Consent(case_id=case.id, given_by=data.given_by, relationship_to_child=data.relationship_to_child,
                      agency_types=data.agency_types, given_on=data.given_on,
                      expires_on=data.expires_on, recorded_by_user_id=actor.user_id)
    db.session.add(consent)
    db.session.flush()
    add_event(case, actor, "consent.recorded", agency_types=consent.agency_types,
              expires_on=consent.expires_on.isoformat() if consent.expires_on else None)
    record(actor, "consent.create", "case", case.id, {"consent_id": consent.id})
    return consent


def has_consent(case: Case, agency_type: str, on_day: date | None = None) -> bool:
    """Return whether a recorded consent covers sharing the case with an agency type today."""
    on_day = on_day or date.today()
    return any(consent.covers(agency_type, on_day) for consent in case.consents)


def timeline_query(case: Case) -> sa.Select:
    """Return a select of the case's events, oldest first."""
    return sa.select(Event).where(Event.case_id == case.id).order_by(Event.id)


def timeline(case: Case) -> list[Event]:
    """Return the case's events, oldest first."""
    return list(db.session.scalars(timeline_query(case)))


def change_risk_level(case_id: int, risk_level: str, actor: Actor) -> Case:
    """Change a case's risk level and move its pending deadlines; raise NotFound, Invalid or Conflict."""
    case = full_case(case_id, actor)
    lock_case(case.id)
    if risk_level not in RISK_LEVELS:
        raise Invalid(_l("The request contains invalid data."),
                      errors={"risk_level": [str(_l("Choose high, medium or low."))]})
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    old = case.risk_level
    if old.value == risk_level:
        return case
    case.risk_level = RiskLevel(risk_level)
    case.version += 1
    db.session.flush()
    moved = clocks.reschedule_case(case, definition_of(case))
    add_event(case, actor, "case.risk_changed", from_status=old.value, to_status=risk_level, deadlines_moved=moved)
    record(actor, "case.risk_change", "case", case.id, {"from": old.value, "to": risk_level})
    db.session.flush()
    return case

"""Keeping the child's record right: corrections by the agencies that hold the case, versioned and audited.

The timeline and the audit log name the fields that changed, never their values: both are read by people
who must not learn a child's name from them.
"""

from dataclasses import asdict

from flask_babel import lazy_gettext as _l

from workflows.lifecycle import ACTIVE_STATUSES

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..locking import lock_case
from .models import Case, CaseStatus, Sex
from .service import ChildData, add_event, change_risk_level, full_case, oversees

#: The fields of the child's record, in the order a person reads them.
CHILD_FIELDS = tuple(name for name in ChildData.__dataclass_fields__)


def may_edit_child(case: Case, actor: Actor) -> bool:
    """Return whether the actor may correct the child's record: its agency holds an active referral of the
    case, or it is a coordinator of the case's region or an admin."""
    if actor.user is None:
        return True
    holds = any(referral.to_agency_id == actor.agency_id and referral.status in ACTIVE_STATUSES
                for referral in case.referrals)
    return holds or oversees(case, actor)


def record_of(case: Case) -> ChildData:
    """Return the child's record of a case as the form and the schema describe it."""
    return ChildData(**{name: getattr(case, name) for name in CHILD_FIELDS})


def change_case(case_id: int, actor: Actor, *, child: dict | None = None, risk_level: str | None = None,
                version: int | None = None) -> tuple[Case, list[str]]:
    """Correct fields of the child's record and/or the risk level; return the case and the names changed.

    ``child`` holds only the fields that change (``ChildInSchema``'s partial data). A ``version`` other
    than the case's is refused; without one the last write wins. Raise NotFound (a case the actor does
    not see in full), Forbidden (the child's record, by an agency that does not hold the case), Conflict
    (a closed case, a stale version) or Invalid (a record left with neither birth date nor age).
    """
    case = full_case(case_id, actor)
    case = lock_case(case.id)
    if version is not None and version != case.version:
        raise Conflict(_l("The case was changed by someone else since you opened it: reload it and try again."),
                       problems=[{"code": "stale_version", "message": _l("Version %(version)s is not the current "
                                                                          "one.", version=version)}])
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    changed = []
    if child:
        if not may_edit_child(case, actor):
            raise Forbidden(_l("Only an agency working on the case, or a coordinator of its region, can correct "
                               "the child's record."))
        changed = _apply(case, child)
        if changed:
            add_event(case, actor, "case.child_changed", fields=changed)
            record(actor, "case.update", "case", case.id, {"fields": changed})
    if risk_level is not None and risk_level != case.risk_level.value:
        change_risk_level(case.id, risk_level, actor)
        changed.append("risk_level")
    elif changed:
        case.version += 1
    db.session.flush()
    return case, changed


def _apply(case: Case, child: dict) -> list[str]:
    merged = {**asdict(record_of(case)), **child}
    if merged["birth_date"] is None and merged["estimated_age"] is None:
        raise Invalid(_l("The child's record has errors."), errors={"child": {"birth_date": [str(_l(
            "Give the birth date or, if it is not known, an estimated age."))]}})
    changed = [name for name in CHILD_FIELDS if name in child and child[name] != getattr(case, name)]
    for name in changed:
        value = child[name]
        setattr(case, name, Sex(value) if name == "sex" else list(value) if isinstance(value, list) else value)
    return changed


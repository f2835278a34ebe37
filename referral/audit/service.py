"""The audit log: every feature writes to it with ``record``; administrators read it through ``audit_query``."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from agencies import Permission

from ..actors import Actor, require
from ..extensions import db, mark_written, utcnow
from .models import AuditEntry

_INSERT_ENTRY = sa.insert(AuditEntry.__table__)


def record(
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    detail: dict | None = None,
) -> None:
    """Append one audit entry in the current transaction, written at once.

    ``detail`` must hold no personal data of a child: field names, codes and
    identifiers only. The entry is one INSERT in the same transaction as the
    change it records, committed or rolled back with it; not an object for the
    next flush, whose unit of work costs an audited read more than the statement.
    """
    row = {"occurred_at": utcnow(), "actor_user_id": actor.user_id, "actor_label": actor.label, "action": action,
           "object_type": object_type, "object_id": None if object_id is None else str(object_id),
           "remote_addr": actor.remote_addr, "detail": detail or {}}
    db.session.execute(_INSERT_ENTRY, row)
    mark_written()


@dataclass(frozen=True)
class AuditFilter:
    """What to look for in the log: texts matched as the page describes them, and a time range."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: datetime | None = None
    before: datetime | None = None


def audit_query(actor: Actor, criteria: AuditFilter) -> sa.Select:
    """Return a select of the audit entries matching the criteria, newest first; raise Forbidden.

    The actor matches anywhere in the label, the action by its beginning (``case.`` finds every case
    action), the object exactly.
    """
    require(actor, Permission.view_audit)
    statement = sa.select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    if criteria.actor.strip():
        statement = statement.where(AuditEntry.actor_label.ilike(f"%{criteria.actor.strip()}%"))
    if criteria.action.strip():
        statement = statement.where(AuditEntry.action.like(f"{criteria.action.strip()}%"))
    if criteria.object_type:
        statement = statement.where(AuditEntry.object_type == criteria.object_type)
    if criteria.object_id.strip():
        statement = statement.where(AuditEntry.object_id == criteria.object_id.strip())
    if criteria.since is not None:
        statement = statement.where(AuditEntry.occurred_at >= criteria.since)
    if criteria.before is not None:
        statement = statement.where(AuditEntry.occurred_at < criteria.before)
    return statement


def recorded_actions() -> list[str]:
    """Return every action the log holds, in order, for the page's filter."""
    return list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))

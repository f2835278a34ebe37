"""Writing to the audit log: every feature calls ``record``."""

from ..actors import Actor
from ..extensions import db
from .models import AuditEntry


def record(
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: object = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Append one audit entry in the current transaction and return it.

    ``detail`` must hold no personal data of a child: field names, codes and
    identifiers only.
    """
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        remote_addr=actor.remote_addr,
        detail=detail or {},
    )
    db.session.add(entry)
    db.session.flush()
    return entry

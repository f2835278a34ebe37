"""Case notes (DESIGN.md §12): what an agency did or learned on a case, kept in its own words.

A note belongs to the case and is written by a user whose agency sees the full record. It is read by the
author's agency only, or, when shared, by every agency that sees the full record. Notes are never changed
or removed (a correction is a new note), and their text never goes into a notification, an e-mail, a
webhook, the timeline or the audit log.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..actors import Actor
from ..audit.service import record
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from .models import CaseNote, CaseStatus
from .service import full_case

#: The longest note, in characters.
MAX_NOTE = 10_000


def add_note(case_id: int, text: str, shared: bool, actor: Actor) -> CaseNote:
    """Write a note on a case the actor's agency sees in full; raise NotFound, Forbidden, Conflict or Invalid."""
    case = full_case(case_id, actor)
    if actor.user is None:
        raise Forbidden(_l("Only a person writes case notes."))
    if case.status is CaseStatus.closed:
        raise Conflict(_l("The case is closed."))
    text = (text or "").strip()
    if not text:
        raise Invalid(_l("The note is empty."), errors={"text": [str(_l("Write what was done or learned."))]})
    if len(text) > MAX_NOTE:
        raise Invalid(_l("The note is too long."),
                      errors={"text": [str(_l("Keep a note under %(count)s characters.", count=MAX_NOTE))]})
    note = CaseNote(case_id=case.id, agency_id=actor.agency_id, author_user_id=actor.user_id,
                    author_name=actor.user.name, text=text, shared=bool(shared))
    db.session.add(note)
    db.session.flush()
    record(actor, "case.note.create", "case", case.id, {"note_id": note.id, "shared": note.shared})
    return note


def notes_for(case_id: int, actor: Actor, *, audit: bool = True) -> list[CaseNote]:
    """Return the notes of a case the actor may read, newest first; raise NotFound.

    The read is audited, unless the caller audits its own read of the case (the case page).
    """
    case = full_case(case_id, actor)
    statement = sa.select(CaseNote).where(CaseNote.case_id == case.id)
    if actor.user is not None:
        statement = statement.where(sa.or_(CaseNote.shared.is_(True), CaseNote.agency_id == actor.agency_id))
    notes = list(db.session.scalars(statement.order_by(CaseNote.created_at.desc(), CaseNote.id.desc())))
    if audit:
        record(actor, "case.notes.read", "case", case.id, {"count": len(notes)})
    return notes

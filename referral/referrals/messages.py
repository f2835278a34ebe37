"""Messages on a referral (DESIGN.md §12): the conversation between its two agencies.

The sender and the receiver read and write them, the receiver also while it has only been asked; the
region's coordinators and administrators who see the case read them. The other side is notified without
the text: no message text ever goes into a notification, an e-mail, a webhook or the audit log.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workflows.lifecycle import Party

from ..actors import Actor
from ..audit.service import record
from ..cases import service as cases
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..notifications.service import notify_agency
from .models import Referral, ReferralMessage
from .reading import get_referral, notice_params, parties_of

#: The longest message, in characters.
MAX_MESSAGE = 5_000


def _sides(referral: Referral) -> set[int]:
    return {agency_id for agency_id in (referral.from_agency_id, referral.to_agency_id) if agency_id is not None}


def may_write(referral: Referral, actor: Actor) -> bool:
    """Return whether the actor's agency is one of the referral's two sides."""
    return actor.user is not None and actor.agency_id in _sides(referral)


def may_read(referral: Referral, actor: Actor) -> bool:
    """Return whether the actor reads the referral's messages: its two sides, and coordinators in scope."""
    return may_write(referral, actor) or actor.user is None or Party.coordinator in parties_of(referral, actor)


def _readable(referral_id: int, actor: Actor) -> Referral:
    referral = get_referral(referral_id, actor)
    if not may_read(referral, actor):
        raise NotFound(_l("No such referral."))
    return referral


def post_message(referral_id: int, text: str, actor: Actor) -> ReferralMessage:
    """Write a message to the other side of a referral; raise NotFound, Forbidden or Invalid."""
    referral = _readable(referral_id, actor)
    if not may_write(referral, actor):
        raise Forbidden(_l("Only the two agencies of a referral write its messages."))
    text = (text or "").strip()
    if not text:
        raise Invalid(_l("The message is empty."), errors={"text": [str(_l("Write your message."))]})
    if len(text) > MAX_MESSAGE:
        raise Invalid(_l("The message is too long."),
                      errors={"text": [str(_l("Keep a message under %(count)s characters.", count=MAX_MESSAGE))]})
    message = ReferralMessage(referral_id=referral.id, agency_id=actor.agency_id, author_user_id=actor.user_id,
                              author_name=actor.user.name, text=text)
    db.session.add(message)
    db.session.flush()
    record(actor, "referral.message.create", "referral", referral.id,
           {"case": referral.case.number, "message_id": message.id})
    other = referral.to_agency_id if actor.agency_id == referral.from_agency_id else referral.from_agency_id
    if other is not None and other != actor.agency_id:
        case = referral.case
        stage = cases.definition_of(case).stage(referral.to_stage)
        notify_agency(other, "referral.message", notice_params(case, stage, actor.user.agency),
                      case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    return message


def messages_of(referral_id: int, actor: Actor, *, audit: bool = True) -> list[ReferralMessage]:
    """Return a referral's messages, oldest first, to those who may read them; raise NotFound.

    The read is audited, unless the caller audits its own read of the referral (the referral page).
    """
    referral = _readable(referral_id, actor)
    found = list(db.session.scalars(sa.select(ReferralMessage).where(ReferralMessage.referral_id == referral.id)
                                    .order_by(ReferralMessage.created_at, ReferralMessage.id)))
    if audit:
        record(actor, "referral.messages.read", "referral", referral.id, {"count": len(found)})
    return found

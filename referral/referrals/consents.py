"""Withdrawing a consent: what it covered stops, and every agency it concerned is told."""

from flask_babel import lazy_gettext as _l

from agencies import Permission, has_permission
from workflows.lifecycle import ACTIVE_STATUSES, Action, ReferralStatus

from ..actors import Actor
from ..audit.service import record
from ..cases import service as cases
from ..cases.models import Consent
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, utcnow
from ..locking import lock_case
from ..notifications.service import notify_agency
from . import lifecycle
from .reading import notice_params

#: The ``status_reason`` of a referral the system cancelled because the consent it needed was withdrawn.
CONSENT_WITHDRAWN = "consent-withdrawn"
MAX_REASON = 2000
SYSTEM = Actor.system_actor("consent")


def withdraw_consent(case_id: int, consent_id: int, reason: str | None, actor: Actor) -> Consent:
    """Withdraw a consent of a case the actor sees in full, with a reason; raise NotFound, Forbidden, Conflict
    (already withdrawn) or Invalid (no reason).

    Open ``requested`` referrals that needed the consent and that no other consent covers are cancelled by the
    system with ``status_reason`` ``consent-withdrawn`` (both sides are told); agencies already working on the
    case under it keep their referral and are told.
    """
    case = cases.full_case(case_id, actor)
    if actor.user is not None and not has_permission(actor.role, Permission.record_consent):
        raise Forbidden(_l("Your role does not allow this."))
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        message = (_l("Say why the consent is withdrawn.") if not reason
                   else _l("At most %(count)s characters.", count=MAX_REASON))
        raise Invalid(_l("The consent could not be withdrawn."), errors={"reason": [str(message)]})
    case = lock_case(case.id)
    consent = next((consent for consent in case.consents if consent.id == consent_id), None)
    if consent is None:
        raise NotFound(_l("No such consent."))
    if consent.withdrawn_at is not None:
        raise Conflict(_l("This consent was already withdrawn."))
    consent.withdrawn_at = utcnow()
    consent.withdrawal_reason = reason
    consent.withdrawn_by_user_id = actor.user_id
    db.session.flush()
    cases.add_event(case, actor, "consent.withdrawn", consent_id=consent.id, agency_types=consent.agency_types)
    record(actor, "consent.withdraw", "case", case.id, {"consent_id": consent.id})

    definition = cases.definition_of(case)
    for referral in list(case.referrals):
        agency_type = referral.to_agency.type.value
        if referral.status is ReferralStatus.requested:
            transition = definition.transition(referral.from_stage, referral.to_stage) \
                if referral.from_stage else None
            if transition is not None and "consent" in transition.requires \
                    and not cases.has_consent(case, agency_type):
                lifecycle.act(referral.id, Action.cancel, referral.version, SYSTEM, reason=CONSENT_WITHDRAWN)
        elif referral.status in ACTIVE_STATUSES and agency_type in consent.agency_types:
            notify_agency(referral.to_agency_id, "consent.withdrawn",
                          notice_params(case, definition.stage(referral.to_stage), actor.user.agency
                                        if actor.user is not None else None),
                          case_id=case.id, referral_id=referral.id, exclude_user_id=actor.user_id)
    db.session.flush()
    return consent

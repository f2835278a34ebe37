"""The case lock reads afresh what others committed: the case, its referrals, their deadlines and consents."""

from datetime import date

import pytest
import sqlalchemy as sa

from referral.cases import service as cases
from referral.cases.models import Case, Consent
from referral.deadlines.models import Deadline, DeadlineStatus
from referral.extensions import db
from referral.locking import lock_case, lock_case_of_referral
from referral.referrals.models import Referral
from tests.appfixtures import asked_of_the_clinic, demo_actor


def _changed_behind_the_session(referral_id: int, case_id: int) -> None:
    """Change rows with statements the session's objects do not see, as another transaction would."""
    db.session.execute(sa.update(Referral).where(Referral.id == referral_id).values(reason="Changed elsewhere")
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(Case).where(Case.id == case_id).values(region="KZ-75")
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(Deadline).where(Deadline.referral_id == referral_id)
                       .values(reminders_sent=1).execution_options(synchronize_session=False))
    db.session.execute(sa.insert(Consent).values(case_id=case_id, given_by="Another", relationship_to_child="aunt",
                                                 agency_types=["justice"], given_on=date.today()))


def _held(referral_id: int, case_id: int):
    case = db.session.get(Case, case_id)
    referral = db.session.get(Referral, referral_id)
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.referral_id == referral_id))
    assert referral.reason == "Check-up" and case.region == "KZ-71" and deadline.reminders_sent == 0
    assert len(case.consents) == 1 and len(case.referrals) == 2
    return case, referral, deadline


@pytest.mark.parametrize("lock", [lambda referral_id, case_id: lock_case(case_id),
                                  lambda referral_id, case_id: lock_case_of_referral(referral_id)],
                         ids=["by case", "by referral"])
def test_locking_a_case_reads_its_rows_afresh(demo, lock):
    asked = asked_of_the_clinic()
    referral_id, case_id = asked.id, asked.case_id
    case, referral, deadline = _held(referral_id, case_id)
    _changed_behind_the_session(referral_id, case_id)
    assert lock(referral_id, case_id) is case
    assert case.region == "KZ-75"
    assert referral.reason == "Changed elsewhere" and referral in case.referrals
    assert deadline.reminders_sent == 1 and deadline.status is DeadlineStatus.pending
    assert len(case.consents) == 2
    assert cases.has_consent(case, "justice")


def test_locking_the_case_of_no_referral_finds_none(demo):
    assert lock_case_of_referral(10**9) is None
    assert lock_case(10**9) is None
    assert demo_actor("social@demo.kz").user is not None

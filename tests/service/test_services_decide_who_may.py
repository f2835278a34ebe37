"""Authorization lives in the services: whichever door a call comes in by (web, API, CLI), the service refuses
a role that may not do it, and changes nothing."""

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.audit.models import AuditEntry
from referral.audit.service import AuditFilter, audit_query
from referral.auth import service as accounts
from referral.auth.models import User
from referral.errors import Forbidden
from referral.extensions import db
from referral.notifications.delivery import troubled_deliveries


@pytest.fixture
def staff(make_user):
    return Actor.of(make_user(role="staff"))


def test_only_administrators_read_the_audit_log(app, make_user, staff):
    with pytest.raises(Forbidden):
        audit_query(staff, AuditFilter())
    admin = Actor.of(make_user(role="admin"))
    assert db.session.scalars(audit_query(admin, AuditFilter(action="no.such."))).all() == []


def test_only_administrators_list_create_change_and_unlock_users(app, make_user, staff):
    target = make_user(role="staff", name="Kept Name")
    data = accounts.UserData(email="new@example.org", name="New", agency_code=target.agency.code, role="admin",
                             password="a long enough passphrase")
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    with pytest.raises(Forbidden):
        accounts.users_query(staff)
    with pytest.raises(Forbidden):
        accounts.create_user(data, staff)
    with pytest.raises(Forbidden):
        accounts.update_user(target.id, data, staff)
    with pytest.raises(Forbidden):
        accounts.unlock_user(target.id, staff)
    db.session.rollback()
    assert db.session.scalar(sa.select(User).where(User.email == "new@example.org")) is None
    assert db.session.get(User, target.id).name == "Kept Name" and db.session.get(User, target.id).role.value == "staff"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == entries
    # The command line acts as the system, which the services let through.
    assert accounts.create_user(data, Actor.system_actor("cli")).email == "new@example.org"


@pytest.mark.parametrize("role", ["staff", "supervisor", "coordinator"])
def test_only_administrators_see_the_deliveries_that_failed(app, make_user, role):
    with pytest.raises(Forbidden):
        troubled_deliveries(Actor.of(make_user(role=role)))

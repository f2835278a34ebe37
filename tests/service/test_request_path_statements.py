"""The two busiest API reads stay cheap: a case in full and the inbox page, counted in statements; the inbox's
faster dump gives what marshmallow gives."""

from contextlib import contextmanager

import marshmallow as ma
import sqlalchemy as sa

from referral.audit.models import AuditEntry
from referral.auth.models import User
from referral.extensions import db
from referral.referrals import service as referrals
from referral.referrals.models import Referral
from referral.referrals.schemas import ReferralSchema
from tests.appfixtures import demo_actor
from workflows.lifecycle import OPEN_STATUSES, TERMINAL_STATUSES, ReferralStatus


@contextmanager
def statements():
    """Collect the SQL statements and COMMITs the database receives inside the block."""
    seen = []

    def statement(connection, cursor, text, parameters, context, executemany):
        seen.append(text.split(None, 1)[0].upper())

    def commit(connection):
        seen.append("COMMIT")

    sa.event.listen(db.engine, "before_cursor_execute", statement)
    sa.event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", statement)
        sa.event.remove(db.engine, "commit", commit)


def headers_of(token_for, email: str) -> dict:
    return token_for(db.session.scalar(sa.select(User).where(User.email == email)))


def test_a_case_read_is_one_transaction_of_few_statements_with_its_audit_row(client, token_for, asked):
    case_id = asked.case_id
    headers = headers_of(token_for, "social@demo.kz")
    client.get(f"/api/v1/cases/{case_id}", headers=headers)  # the token's first use is written once a minute
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.read", AuditEntry.object_id == str(case_id)))
    db.session.remove()

    with statements() as seen:
        response = client.get(f"/api/v1/cases/{case_id}", headers=headers)

    assert response.status_code == 200
    assert response.json["workflow"] == "returned-child" and response.json["workflow_version"] == 1
    assert response.json["consents"][0]["agency_types"] == ["health"]
    # token, case with its version and workflow, its referrals, its consents, the audit row; then one commit
    assert seen.count("COMMIT") == 1 and seen[-1] == "COMMIT"
    assert seen.count("INSERT") == 1
    assert len(seen) <= 7, seen
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "case.read", AuditEntry.object_id == str(case_id))) == before + 1


def test_the_inbox_page_is_the_count_and_one_select(client, token_for, asked):
    referral_id, number = asked.id, asked.case.number
    headers = headers_of(token_for, "health@demo.kz")
    client.get("/api/v1/referrals", headers=headers)
    db.session.remove()

    with statements() as seen:
        response = client.get("/api/v1/referrals", query_string={"box": "incoming", "status": "requested"},
                              headers=headers)

    assert response.status_code == 200
    row = next(row for row in response.json if row["id"] == referral_id)
    assert row["case_number"] == number and row["status"] == "requested" and row["reason"] == "Check-up"
    assert row["from_agency"] == "astana-family-support" and row["to_agency"] == "astana-childrens-clinic"
    assert {row["to_agency"] for row in response.json} == {"astana-childrens-clinic"}
    assert seen == ["SELECT", "SELECT", "SELECT"], seen  # the token, the count, the page


def test_the_faster_dump_of_referrals_is_marshmallows(asked):
    supervisor = demo_actor("health.supervisor@demo.kz")
    referrals.act(asked.id, "accept", asked.version, supervisor)
    db.session.flush()
    referrals.assign(asked.id, "health@demo.kz", asked.version, supervisor)
    db.session.commit()
    rows = list(db.session.scalars(sa.select(Referral).order_by(Referral.id)))
    assert any(r.assignee_user_id for r in rows) and any(r.from_agency_id is None for r in rows)
    assert any(r.closed_at for r in rows) or any(r.respond_by for r in rows)

    schema = ReferralSchema(many=True)
    fast = schema.dump(rows)

    assert fast == ma.Schema.dump(schema, rows)
    assert schema._plan() is not None  # the plan, not the fallback, made it
    assert ReferralSchema().dump(rows[0]) == fast[0]
    assert schema.dump([{"id": 1}]) == [{"id": 1}]  # mappings dump as marshmallow does, keys left out


def test_the_inbox_pages_rows_dump_as_its_referrals_do(asked):
    """The inbox page is read as rows of the columns it shows; each dumps as the referral itself would."""
    supervisor, clinic = demo_actor("health.supervisor@demo.kz"), demo_actor("health@demo.kz")
    referrals.act(asked.id, "accept", asked.version, supervisor)
    db.session.flush()
    referrals.assign(asked.id, "health@demo.kz", asked.version, supervisor)
    db.session.commit()
    schema = ReferralSchema(many=True)
    for status in (None, "open", "closed", "requested", "accepted"):
        rows = db.session.execute(referrals.inbox_page_query(clinic, "incoming", status, end=50)).all()
        objects = [db.session.get(Referral, row.id) for row in rows]
        assert schema.dump(rows) == ma.Schema.dump(schema, objects), status
    assert any(row.assignee for row in db.session.execute(referrals.inbox_page_query(clinic, "incoming")))


def test_a_page_of_several_statuses_found_status_by_status_is_the_whole_boxs(asked):
    social, clinic = demo_actor("social@demo.kz"), demo_actor("health@demo.kz")
    referrals.act(asked.id, "reject", asked.version, clinic, reason="Not ours")
    db.session.commit()
    for actor, box in ((clinic, "incoming"), (social, "outgoing"), (social, "incoming")):
        for status in ("open", "closed", None, "requested"):
            whole = [r.id for r in db.session.scalars(referrals.inbox_query(actor, box, status))]
            for per_page, page in ((1, 1), (1, 2), (2, 2), (50, 1)):
                end = page * per_page
                found = [r.id for r in db.session.execute(
                    referrals.inbox_page_query(actor, box, status, end=end).limit(per_page).offset(end - per_page))]
                assert found == whole[end - per_page:end], (box, status, page, per_page)
    assert any(db.session.scalars(referrals.inbox_query(clinic, "incoming", "closed")))


def test_every_inbox_box_and_status_lists_and_counts_what_a_single_read_would_show(demo):
    """Where the box's statuses make the visibility condition implied, the inbox leaves it out: the rows and
    the count must still be exactly the box's referrals that ``may_see`` lets the reader open."""
    every = db.session.scalars(sa.select(Referral).order_by(Referral.id)).all()
    assert len({r.status for r in every}) >= 4  # the demo's history holds referrals in several states
    emails = ("social@demo.kz", "health@demo.kz", "supervisor@demo.kz", "coordinator@demo.kz", "justice@demo.kz",
              "rehab@demo.kz", "shymkent@demo.kz")
    statuses = (None, "open", "closed", *(status.value for status in ReferralStatus))
    checked = 0
    for email in emails:
        actor = demo_actor(email)
        for box in ("incoming", "outgoing"):
            column = "to_agency_id" if box == "incoming" else "from_agency_id"
            for status in statuses:
                listed = [r.id for r in db.session.scalars(referrals.inbox_query(actor, box, status))]
                counted = db.session.scalar(referrals.inbox_count_query(actor, box, status))
                kept = _statuses(status)
                expected = sorted(r.id for r in every if getattr(r, column) == actor.agency_id
                                  and (kept is None or r.status in kept) and referrals.may_see(r, actor))
                assert sorted(listed) == expected and counted == len(expected), (email, box, status)
                checked += bool(expected)
    assert checked > 20


def _statuses(status):
    """The statuses a box's ``status`` filter keeps, as the API documents it (None: every one)."""
    if status is None:
        return None
    return {"open": OPEN_STATUSES, "closed": TERMINAL_STATUSES}.get(status) or {ReferralStatus(status)}

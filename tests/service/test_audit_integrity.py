"""Audit integrity (DESIGN §13): the audit log and the timeline are append-only, the audit entries are sealed in a
hash chain beside them, and ``referral audit verify`` finds an entry edited, removed or inserted afterwards."""

import contextlib
import logging
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from referral.actors import Actor
from referral.audit import integrity
from referral.audit.models import AuditEntry, AuditSeal
from referral.audit.service import record
from referral.cases.models import Event
from referral.cli import cli
from referral.extensions import db, utcnow
from referral.scheduler.jobs import add_jobs, anchor_job, seal_job
from tests.appfixtures import PG_URL, at_once

NOW = timedelta(0)
only_postgresql = pytest.mark.skipif(not PG_URL, reason="TRUNCATE and concurrent sealers need PostgreSQL "
                                                         "(REFERRAL_TEST_DATABASE_URL); SQLite has no TRUNCATE")
SYSTEM = Actor.system_actor("test")


def write_entries(count: int, action: str = "case.read") -> list[int]:
    """Write ``count`` audit entries through the service and commit; return their ids."""
    first = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEntry.id), 0)))
    for index in range(count):
        record(SYSTEM, action, "case", index, {"via": "test", "n": index})
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditEntry.id).where(AuditEntry.id > first, AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def seals() -> dict[int, str]:
    return dict(db.session.execute(sa.select(AuditSeal.entry_id, AuditSeal.hash)).all())


def verify(runner, *args):
    db.session.remove()  # the command reads what is committed, on a session of its own
    return runner.invoke(cli, ["audit", "verify", *args])


@contextlib.contextmanager
def bypassing_triggers():
    """Yield a connection on which the append-only triggers do not fire, as for the owner of the database."""
    db.session.remove()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            if not connection.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar():
                pytest.skip("bypassing the triggers takes a superuser (session_replication_role)")
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            # The database file is this test's own copy: the triggers need not come back.
            for name in ("audit_entries_no_update", "audit_entries_no_delete", "audit_seals_no_update",
                         "audit_seals_no_delete"):
                connection.exec_driver_sql(f"DROP TRIGGER {name}")
        yield connection


@pytest.fixture
def sealed(app):
    """Ten audit entries, all sealed; return their ids."""
    ids = write_entries(10)
    integrity.seal(lag=NOW, batch_size=4)
    assert sorted(seals()) == ids
    return ids


# -- append-only --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ["audit_entries", "audit_seals", "events"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET {column} = {column}", "DELETE FROM {table}"])
def test_the_database_refuses_to_change_or_remove_a_row(asked, table, statement):
    integrity.seal(lag=NOW, batch_size=100)
    column = {"audit_entries": "action", "audit_seals": "hash", "events": "kind"}[table]
    before = db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    assert before > 0
    db.session.remove()
    with pytest.raises(sa.exc.DatabaseError, match=f"{table} is append-only"), db.engine.begin() as connection:
        connection.exec_driver_sql(statement.format(table=table, column=column))
    assert db.session.scalar(sa.text(f"SELECT count(*) FROM {table}")) == before


@only_postgresql
@pytest.mark.parametrize("table", ["audit_entries", "audit_seals", "events"])
def test_postgresql_refuses_to_truncate_them(asked, table):
    integrity.seal(lag=NOW, batch_size=100)
    before = db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    db.session.remove()
    with pytest.raises(sa.exc.DatabaseError, match="is append-only"), db.engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    assert db.session.scalar(sa.text(f"SELECT count(*) FROM {table}")) == before > 0


# -- sealing ------------------------------------------------------------------------------------------------------

def test_each_entry_is_sealed_once_to_the_one_before_it_without_touching_the_entry(app):
    ids = write_entries(7)
    first = integrity.seal(lag=NOW, batch_size=3)
    assert first.sealed == 7 and first.head.entry_id == ids[-1]
    assert integrity.seal(lag=NOW, batch_size=3).sealed == 0  # a second run finds nothing to do
    chain = seals()
    previous = integrity.CHAIN_START
    for entry in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)):
        assert chain[entry.id] == integrity.entry_hash(previous, entry)
        previous = chain[entry.id]
    assert first.head.hash == previous


def test_entries_younger_than_the_lag_wait_for_the_next_run(app):
    old = write_entries(3)
    integrity.seal(lag=NOW, batch_size=10)
    young = write_entries(2)
    run = integrity.seal(lag=timedelta(minutes=5), batch_size=10)
    assert run.sealed == 0 and run.head.entry_id == old[-1]
    later = integrity.seal(lag=timedelta(minutes=5), batch_size=10, now=utcnow() + timedelta(minutes=6))
    assert later.sealed == 2 and later.head.entry_id == young[-1]


def test_the_hash_covers_every_column_of_the_entry(app):
    entry = db.session.get(AuditEntry, write_entries(1)[0])
    original = integrity.entry_hash(integrity.CHAIN_START, entry)
    for column, value in [("actor_label", "someone else"), ("action", "case.export"), ("object_id", "99"),
                          ("remote_addr", "10.0.0.1"), ("detail", {"via": "forged"}), ("actor_user_id", 1),
                          ("object_type", "referral"), ("occurred_at", entry.occurred_at + timedelta(seconds=1))]:
        forged = SimpleNamespace(**{**{c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns},
                                    column: value})
        assert integrity.entry_hash(integrity.CHAIN_START, forged) != original, column
    assert integrity.entry_hash("1" * 64, entry) != original


# -- verify -------------------------------------------------------------------------------------------------------

def test_verify_prints_the_count_the_head_and_what_is_not_sealed_yet(runner, sealed):
    write_entries(2)
    head = seals()[sealed[-1]]
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"Audit log intact: 10 entries checked, head hash {head} (entry {sealed[-1]}), "
                                     "2 not yet sealed.")


def test_verify_of_an_empty_log_is_intact(runner, app):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert f"0 entries checked, head hash {integrity.CHAIN_START}" in result.output


def test_verify_names_an_entry_whose_detail_was_edited(runner, sealed):
    with bypassing_triggers() as connection:
        connection.execute(sa.update(AuditEntry).where(AuditEntry.id == sealed[4]).values(detail={"via": "forged"}))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"entry {sealed[4]} does not match its seal" in result.output
    assert "4 entries checked before it" in result.output


def test_verify_names_an_entry_removed_under_its_seal(runner, sealed):
    with bypassing_triggers() as connection:
        connection.execute(sa.delete(AuditEntry).where(AuditEntry.id == sealed[6]))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"entry {sealed[6]} was sealed and is gone" in result.output


def test_verify_finds_an_entry_removed_with_its_seal_at_the_next_one(runner, sealed):
    with bypassing_triggers() as connection:
        connection.execute(sa.delete(AuditSeal).where(AuditSeal.entry_id == sealed[2]))
        connection.execute(sa.delete(AuditEntry).where(AuditEntry.id == sealed[2]))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"entry {sealed[3]} does not match its seal" in result.output


def test_verify_names_an_entry_inserted_afterwards_below_the_head(runner, app):
    ids = write_entries(3)
    # A gap in the ids, as a rolled-back transaction leaves one on PostgreSQL.
    db.session.add(AuditEntry(id=ids[-1] + 10, occurred_at=utcnow(), actor_label=SYSTEM.label, action="case.read",
                              object_type="case", object_id="1", detail={"via": "test"}))
    db.session.commit()
    integrity.seal(lag=NOW, batch_size=100)
    assert max(seals()) == ids[-1] + 10
    with bypassing_triggers() as connection:
        connection.execute(sa.insert(AuditEntry).values(
            id=ids[-1] + 5, occurred_at=utcnow() - timedelta(days=30), actor_label="test", action="case.read",
            object_type="case", object_id="1", detail={"via": "back-dated"}))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"entry {ids[-1] + 5} is below the sealed head but unsealed" in result.output


def test_an_anchored_head_catches_a_chain_rewritten_after_it(runner, sealed):
    anchored = integrity.anchor().head
    assert verify(runner, "--anchor", f"{anchored.entry_id}:{anchored.hash}").exit_code == 0
    # Someone who owns the database edits an entry and recomputes every seal from there on.
    with bypassing_triggers() as connection:
        connection.execute(sa.update(AuditEntry).where(AuditEntry.id == sealed[1]).values(detail={"via": "forged"}))
        connection.execute(sa.delete(AuditSeal))
    integrity.seal(lag=NOW, batch_size=100)
    assert verify(runner).exit_code == 0  # the chain alone cannot tell
    result = verify(runner, "--anchor", f"{anchored.entry_id}:{anchored.hash}")
    assert result.exit_code == 1
    assert f"entry {anchored.entry_id} does not carry the anchored hash" in result.output


def test_a_malformed_anchor_is_one_clear_line(runner, sealed):
    result = verify(runner, "--anchor", "12:nothex")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: --anchor takes ENTRY_ID:HASH")


# -- the scheduler ------------------------------------------------------------------------------------------------

def test_the_scheduler_seals_every_interval_and_logs_the_head_daily(make_app, caplog):
    app = make_app(REFERRAL_AUDIT_SEAL_LAG_SECONDS=0)
    jobs = {job.id: job for job in add_jobs(BackgroundScheduler(), app, 60).get_jobs()}
    assert "interval" in str(jobs["audit-seal"].trigger) and "cron" in str(jobs["audit-anchor"].trigger)
    with app.app_context():
        ids = write_entries(5)
        db.session.remove()
    run = seal_job(app)
    assert run.sealed == 5 and run.head.entry_id == ids[-1]
    with caplog.at_level(logging.INFO, logger="referral.scheduler"):
        anchor_job(app)
    assert f"audit anchor: 5 entries sealed, head entry {ids[-1]} hash {run.head.hash}, 0 not yet sealed" \
        in caplog.messages


def test_the_head_command_prints_what_the_scheduler_logs(runner, sealed):
    result = runner.invoke(cli, ["audit", "head"])
    assert result.exit_code == 0
    assert result.output.strip() == f"Audit: 10 entries sealed, head entry {sealed[-1]} hash " \
                                    f"{seals()[sealed[-1]]}, 0 not yet sealed."


def test_the_seal_command_seals_what_is_old_enough(runner, app):
    write_entries(3)
    db.session.remove()
    result = runner.invoke(cli, ["audit", "seal", "--lag", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Audit: sealed 3, head entry")


@only_postgresql
def test_an_entry_of_a_transaction_still_open_holds_back_every_later_one(app, runner):
    """A long transaction (a retention run, a slow request) commits its entry's id after higher ones: none is
    sealed past it, however old, so that it is not taken for a back-dated insertion."""
    before = write_entries(2)
    with db.engine.connect() as slow:
        slow.begin()
        slow.execute(sa.insert(AuditEntry).values(occurred_at=utcnow(), actor_label="slow", action="case.erase",
                                                  detail={}))
        later = write_entries(2)
        run = integrity.seal(lag=NOW, batch_size=100, now=utcnow() + timedelta(hours=1))
        assert run.sealed == 2 and run.head.entry_id == before[-1]
        slow.commit()
    run = integrity.seal(lag=NOW, batch_size=100, now=utcnow() + timedelta(hours=1))
    assert run.sealed == 3 and run.head.entry_id == later[-1]
    assert verify(runner).exit_code == 0


@only_postgresql
def test_two_schedulers_sealing_beside_busy_writers_seal_each_entry_exactly_once(app):
    """Writers commit entries in many small transactions (as web workers do) while two sealers run at once."""
    write_entries(300)
    writing = threading.Event()
    writing.set()
    runs: list[list[integrity.SealRun]] = [[], []]

    def writer():
        for index in range(150):
            record(SYSTEM, "case.read", "case", index, {"via": "writer"})
            time.sleep(0.002 * (index % 5))  # a request goes on after its audited read: ids commit out of order
            db.session.commit()
        return "written"

    def writers_done():
        try:
            return [writer(), writer()]
        finally:
            writing.clear()

    def sealer(number):
        def run():
            while writing.is_set():
                runs[number].append(integrity.seal(lag=timedelta(seconds=1), batch_size=40))
                time.sleep(0.01)
            return "sealed"
        return run

    results = at_once(app, [lambda: writer(), lambda: writer(), sealer(0), sealer(1), writers_done])
    assert results == ["written", "written", "sealed", "sealed", ["written", "written"]], results
    assert sum(run.sealed for runs_of in runs for run in runs_of) > 0 and all(runs)  # both took part
    last = integrity.seal(lag=NOW, batch_size=1000)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    assert total == 300 + 4 * 150
    assert sum(run.sealed for runs_of in runs for run in runs_of) + last.sealed == total
    assert len(seals()) == total
    result = integrity.verify_chain()
    assert result.broken is None and result.checked == total and result.unsealed == 0


def test_timeline_rows_name_fields_not_values_so_erasure_never_touches_them(api, demo):
    """Retention erases in place but writes only a new event: the timeline keeps no child's name to erase."""
    from tests.appfixtures import stuck_case

    case = stuck_case()
    response = api("coordinator@demo.kz", "PATCH", f"/api/v1/cases/{case.id}",
                   json={"child": {"given_name": "Zhuldyz", "family_name": "Secretova"}})
    assert response.status_code == 200, response.get_json()
    details = [str(detail) for detail in db.session.scalars(sa.select(Event.detail).where(Event.case_id == case.id))]
    assert any("given_name" in detail for detail in details)
    assert not any(name in detail for detail in details for name in ("Zhuldyz", "Secretova", "Aigerim", "Stuckova"))

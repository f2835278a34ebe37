"""How fast the scheduler sweeps, how late reminders fire, and whether two schedulers ever duplicate.

Run with ``python bench/deadlines.py [--database postgresql|sqlite] [--count N]``.
It builds a fresh database (PostgreSQL ``referral_bench_deadlines`` on
127.0.0.1 by default), loads the demo data, and then:

1. bulk-inserts N due deadlines (half with a reminder due, half already
   missed, which escalates to supervisors and coordinators) and times one
   ``sweep()`` over all of them, its SQL statements counted; then, beside it,
   the floor: N more deadlines given the same new values and the same rows
   (notifications, audit entries, timeline events) with bare psycopg, in
   batches of the sweep's size, each claimed ``FOR UPDATE OF cases SKIP
   LOCKED``, read again, written with the same statements and committed as
   the sweep does;
2. runs a steady state: deadlines whose reminders fall due over the next
   ``--steady-seconds``, with a sweep every second (as ``referral scheduler run
   --interval 1`` would), and prints the p50/p99 lateness of the reminders;
3. inserts another batch of due deadlines and runs two ``referral scheduler
   run --once`` processes at the same time, then counts duplicated reminders
   and escalations (must be 0).

Target on this machine with PostgreSQL: 100,000 deadlines swept in 20 seconds or less.
The development machine's PostgreSQL runs without autovacuum, so the benchmark
analyzes the database after each bulk insert, as autovacuum would.
"""

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import fresh_database, percentile  # noqa: E402
from referral import create_app  # noqa: E402
from referral.actors import Actor  # noqa: E402
from referral.auth.models import User  # noqa: E402
from referral.cases import service as cases  # noqa: E402
from referral.deadlines.models import Deadline  # noqa: E402
from referral.demo import load_demo_data  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.notifications.models import Notification  # noqa: E402
from referral.referrals import service as referrals  # noqa: E402
from referral.scheduler.sweep import BATCH_SIZE, sweep  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402

DATABASE = "referral_bench_deadlines"
REFERRALS = 500
CHUNK = 5_000


def waiting_referrals(count: int) -> list[tuple[int, int, int]]:
    """Register cases and refer each to the clinic through the services; return (referral, case, agency) ids."""
    social = Actor.of(db.session.scalar(sa.select(User).where(User.email == "social@demo.kz")))
    found = []
    for index in range(count):
        child = cases.ChildData(given_name="Bench", family_name=f"Clock {index}", sex="female", region="KZ-71",
                                estimated_age=10)
        case = cases.register_case("returned-child", "high", child, social)
        cases.record_consent(case.id, cases.ConsentData("Guardian (bench)", "aunt", ["health"], date.today()),
                             social)
        referral = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Bench", social)
        found.append((referral.id, case.id, referral.to_agency_id))
        if index % 100 == 99:
            db.session.commit()
    db.session.commit()
    return found


def insert_deadlines(targets, count: int, now: datetime, *, remind_in: tuple[float, float] | None = None,
                     tag: str = "bulk") -> None:
    """Insert ``count`` pending deadlines spread over the target referrals.

    Without ``remind_in``, even rows have a reminder due now and odd rows are
    already missed; with it, each row's reminder falls due at a time spread
    over (start, end) seconds from now.
    """
    rows = []
    for index in range(count):
        referral_id, case_id, agency_id = targets[index % len(targets)]
        if remind_in is None:
            missed = index % 2 == 1
            due = now - timedelta(minutes=5) if missed else now + timedelta(hours=3)
            remind = now - timedelta(minutes=1)
        else:
            start, end = remind_in
            remind = now + timedelta(seconds=start + (end - start) * index / max(count - 1, 1))
            due = remind + timedelta(hours=4)
        rows.append({"referral_id": referral_id, "case_id": case_id, "agency_id": agency_id, "kind": "respond",
                     "status": "pending", "duration": tag, "started_at": now - timedelta(days=1), "due_at": due,
                     "remind_at": [remind.isoformat()], "reminders_sent": 0,
                     "next_check_at": min(remind, due), "fired": [], "created_at": now})
        if len(rows) == CHUNK:
            db.session.execute(sa.insert(Deadline), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Deadline), rows)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")


def duplicates(tag: str) -> int:
    """Count reminders or escalations fired more than once for one deadline."""
    extra = 0
    for (fired,) in db.session.execute(sa.select(Deadline.fired).where(Deadline.duration == tag)):
        whats = [entry["what"] for entry in fired]
        extra += len(whats) - len(set(whats))
    keys = db.session.execute(sa.select(Notification.dedupe_key, sa.func.count()).where(
        Notification.dedupe_key.is_not(None)).group_by(Notification.dedupe_key).having(sa.func.count() > 1)).all()
    return extra + len(keys)


WRITTEN = ("notifications", "audit_entries", "events", "deliveries")
#: The columns the sweep writes, and how the floor skips duplicates (the dedupe keys, as the sweep does).
COLUMNS = {
    "notifications": ("user_id, kind, params, case_id, referral_id, dedupe_key, created_at", "ON CONFLICT DO NOTHING"),
    "audit_entries": ("occurred_at, actor_user_id, actor_label, action, object_type, object_id, remote_addr, detail",
                      ""),
    "events": ("case_id, referral_id, occurred_at, actor_user_id, actor_label, actor_agency_id, kind, from_status, "
               "to_status, detail", ""),
    "deliveries": ("channel, status, user_id, agency_id, payload, dedupe_key, attempts, next_attempt_at, created_at",
                   "ON CONFLICT DO NOTHING"),
}
CLAIM = """SELECT d.id FROM deadlines d JOIN cases c ON c.id = d.case_id
           WHERE d.status = 'pending' AND d.next_check_at <= %s AND d.duration = 'floor'
           ORDER BY d.next_check_at LIMIT %s FOR UPDATE OF c SKIP LOCKED"""
READ = """SELECT d.id, d.status, d.reminders_sent, d.fired, d.remind_at, d.due_at, d.next_check_at, d.lease_until,
                 r.status, r.to_stage, r.assignee_user_id, c.number, c.region, c.workflow_version_id
          FROM deadlines d JOIN referrals r ON r.id = d.referral_id JOIN cases c ON c.id = d.case_id
          WHERE d.id = ANY(%s) ORDER BY d.next_check_at, d.id"""
UPDATE = """UPDATE deadlines d SET reminders_sent = v.reminders_sent, fired = v.fired, next_check_at = v.next_check_at,
                   status = v.status, closed_at = v.closed_at, lease_until = NULL
            FROM json_to_recordset(%s::json) AS v(id integer, reminders_sent integer, fired json,
                                                 next_check_at timestamp, status varchar, closed_at timestamp)
            WHERE d.id = v.id AND d.status = 'pending'"""


def floor_run(url: str, targets, count: int, before: dict[str, int]) -> float:
    """Write what the sweep wrote again with bare psycopg, on ``count`` new due deadlines; return the seconds.

    Each new deadline takes the values its twin among the swept ones was given, and the rows the sweep wrote
    for the twin (notifications by their dedupe keys, the case's audit entry of a reminder, the timeline row of
    an escalation), with dedupe keys of their own. The batches are claimed, read again, written with the
    statements the sweep uses (each table's rows as one JSON document) and committed as the sweep does: the
    database work is the same, what the floor leaves out is the engine's own. One difference: the floor sends
    every notification as a row of its document, where the sweep sends a reminder to an agency as one row that
    the INSERT joins to the agency's users; the rows written are the same.
    """
    insert_deadlines(targets, count, datetime.now(UTC), tag="floor")
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        swept = connection.execute("SELECT id, reminders_sent, fired, next_check_at, status, closed_at FROM deadlines "
                                   "WHERE duration = 'bulk' ORDER BY id").fetchall()
        written, inserts = {}, {}
        for table in WRITTEN:
            columns, conflict = COLUMNS[table]
            cursor = connection.execute(f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id", [before[table]])
            written[table] = [dict(zip(columns.split(", "), row, strict=True)) for row in cursor]
            types = dict(connection.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                            "WHERE attrelid = %s::regclass AND attnum > 0", [table]).fetchall())
            shape = ", ".join(f"{column} {types[column]}" for column in columns.split(", "))
            inserts[table] = (f"INSERT INTO {table} ({columns}) SELECT {columns} "
                              f"FROM json_to_recordset(%s::json) AS v({shape}) {conflict}")
        fresh = [row[0] for row in connection.execute("SELECT id FROM deadlines WHERE duration = 'floor' ORDER BY id")]
        connection.commit()
    twin = dict(zip(fresh, swept, strict=True))
    rows = _rows_by_deadline(swept, written)
    moment = datetime.now(UTC) + timedelta(seconds=1)
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection:
        while True:
            with connection.transaction(), connection.cursor() as cursor:
                claimed = [row[0] for row in cursor.execute(CLAIM, [moment, BATCH_SIZE]).fetchall()]
                if not claimed:
                    break
                cursor.execute(READ, [claimed]).fetchall()
                cursor.execute(UPDATE, [_document([
                    {"id": i, "reminders_sent": twin[i][1], "fired": twin[i][2], "next_check_at": twin[i][3],
                     "status": twin[i][4], "closed_at": twin[i][5]} for i in claimed])])
                for table in WRITTEN:
                    batch = [row for i in claimed for row in rows[table].get(twin[i][0], ())]
                    if batch:
                        cursor.execute(inserts[table], [_document(batch)])
    return time.perf_counter() - started


def _document(rows: list[dict]) -> str:
    return json.dumps(rows, default=datetime.isoformat, ensure_ascii=False, separators=(",", ":"))


def _rows_by_deadline(swept, written) -> dict[str, dict[int, list[dict]]]:
    """Sort the rows the sweep wrote by the swept deadline they came from, with dedupe keys of their own."""
    by_id = {row[0]: row for row in swept}
    rows: dict[str, dict[int, list[dict]]] = {table: collections.defaultdict(list) for table in WRITTEN}
    for table in ("notifications", "deliveries"):
        for row in written[table]:
            # reminder:<deadline>:<n>:<user>, escalation:<deadline>:<user>, webhook:reminder:<deadline>:…
            parts = (row["dedupe_key"] or "").removeprefix("webhook:").split(":")
            if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) in by_id:
                rows[table][int(parts[1])].append({**row, "dedupe_key": f"floor:{row['dedupe_key']}"})
    # One audit entry (case.notified) per reminder, one timeline row per escalation, in the sweep's order.
    reminded = [row[0] for row in swept if any(entry["what"].startswith("reminder") for entry in row[2])]
    escalated = [row[0] for row in swept if any(entry["what"] == "escalation" for entry in row[2])]
    for table, deadlines in (("audit_entries", reminded), ("events", escalated)):
        for deadline_id, row in zip(deadlines, written[table], strict=False):
            rows[table][deadline_id].append(row)
    return rows


def run(kind: str, count: int, steady_seconds: int, name: str = DATABASE) -> None:
    url = fresh_database(kind, name)
    os.environ["REFERRAL_DATABASE_URL"] = url
    app = init_migrations(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"}))
    with app.app_context():
        upgrade()
        load_demo_data()
        db.session.commit()
        targets = waiting_referrals(REFERRALS)
        # The referrals' own respond deadlines would fire too; keep only the benchmark's rows.
        db.session.execute(sa.delete(Deadline))
        db.session.commit()

        now = datetime.now(UTC)
        insert_deadlines(targets, count, now, tag="bulk")
        before = {table: db.session.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}"))
                  for table in WRITTEN}
        db.session.commit()
        statements = collections.Counter()

        def count_statement(connection, cursor, statement, parameters, context, executemany):
            statements[statement.split(None, 1)[0].upper()] += 1

        sa.event.listen(db.engine, "before_cursor_execute", count_statement)
        started, cpu = time.perf_counter(), time.process_time()
        result = sweep(now=now + timedelta(seconds=1))
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        sa.event.remove(db.engine, "before_cursor_execute", count_statement)
        load = os.getloadavg()[0]
        print(f"[{kind}] one scheduler swept {result.processed:,} due deadlines in {took:.1f} s "
              f"({result.reminders:,} reminders, {result.missed:,} escalations; "
              f"{result.processed / took:,.0f} per second; {cpu:.1f} s CPU in this process; "
              f"{sum(statements.values()):,} statements: "
              + ", ".join(f"{number:,} {name}" for name, number in statements.most_common()) + ")")
        if kind == "postgresql":
            floor = floor_run(url, targets, count, before)
            print(f"[{kind}] floor, the same rows with bare psycopg in batches of {BATCH_SIZE}: {floor:.1f} s "
                  f"({count / floor:,.0f} per second): ratio {took / floor:.2f} "
                  f"(load average {load:.1f} at the sweep, {os.getloadavg()[0]:.1f} at the floor)")

        now = datetime.now(UTC)
        insert_deadlines(targets, 2_000, now, remind_in=(1, steady_seconds), tag="steady")
        lateness = []
        end = time.monotonic() + steady_seconds + 3
        while time.monotonic() < end:
            lateness += sweep().lateness
            time.sleep(1)
        print(f"[{kind}] steady state, a sweep every second: {len(lateness):,} reminders, lateness "
              f"p50 {statistics.median(lateness):.2f} s, p99 {percentile(lateness, 0.99):.2f} s")

        insert_deadlines(targets, 10_000, datetime.now(UTC), tag="pair")
        env = {**os.environ, "REFERRAL_DATABASE_URL": url, "REFERRAL_SECRET_KEY": "bench",
               "REFERRAL_SWEEP_BATCH": "100"}
        processes = [subprocess.Popen([sys.executable, "-m", "referral", "scheduler", "run", "--once"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        for process in processes:
            process.wait()
        db.session.remove()
        swept = db.session.scalar(sa.select(sa.func.count()).select_from(Deadline).where(
            Deadline.duration == "pair", sa.func.length(sa.cast(Deadline.fired, sa.String)) > 2))
        print(f"[{kind}] two schedulers at once: {swept:,} of 10,000 deadlines fired, "
              f"duplicates: {duplicates('pair')}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--steady-seconds", type=int, default=20)
    parser.add_argument("--name", default=DATABASE, help="the benchmark database (dropped and made anew)")
    args = parser.parse_args()
    os.environ.setdefault("REFERRAL_INSTANCE_PATH", "/tmp/referral_bench_instance")
    run(args.database, args.count, args.steady_seconds, args.name)


if __name__ == "__main__":
    main()

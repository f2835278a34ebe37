"""How fast the scheduler sweeps, how late reminders fire, and whether two schedulers ever duplicate.

Run with ``python bench/deadlines.py [--database postgresql|sqlite] [--count N]``.
It builds a fresh database (PostgreSQL ``referral_bench_deadlines`` on
127.0.0.1 by default), loads the demo data, and then:

1. bulk-inserts N due deadlines (half with a reminder due, half already
   missed, which escalates to supervisors and coordinators) and times one
   ``sweep()`` over all of them;
2. runs a steady state: deadlines whose reminders fall due over the next
   ``--steady-seconds``, with a sweep every second (as ``referral scheduler run
   --interval 1`` would), and prints the p50/p99 lateness of the reminders;
3. inserts another batch of due deadlines and runs two ``referral scheduler
   run --once`` processes at the same time, then counts duplicated reminders
   and escalations (must be 0).

Target on this machine with PostgreSQL: 100,000 deadlines swept in under 60 seconds.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
from referral.scheduler.sweep import sweep  # noqa: E402

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


def duplicates(tag: str) -> int:
    """Count reminders or escalations fired more than once for one deadline."""
    extra = 0
    for (fired,) in db.session.execute(sa.select(Deadline.fired).where(Deadline.duration == tag)):
        whats = [entry["what"] for entry in fired]
        extra += len(whats) - len(set(whats))
    keys = db.session.execute(sa.select(Notification.dedupe_key, sa.func.count()).where(
        Notification.dedupe_key.is_not(None)).group_by(Notification.dedupe_key).having(sa.func.count() > 1)).all()
    return extra + len(keys)


def run(kind: str, count: int, steady_seconds: int, name: str = DATABASE) -> None:
    url = fresh_database(kind, name)
    os.environ["REFERRAL_DATABASE_URL"] = url
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
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
        started = time.perf_counter()
        result = sweep(now=now + timedelta(seconds=1))
        took = time.perf_counter() - started
        print(f"[{kind}] one scheduler swept {result.processed:,} due deadlines in {took:.1f} s "
              f"({result.reminders:,} reminders, {result.missed:,} escalations; "
              f"{result.processed / took:,.0f} per second)")

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

"""Inbox and accept speed on a big database: 100,000 cases and about 500,000 referrals.

Run with ``python bench/referrals.py [--database sqlite|postgresql|both] [--cases N]``.
It builds a fresh database (a SQLite file under /tmp, or the PostgreSQL
database ``referral_bench`` on 127.0.0.1 or the name given with
``--database-name``, dropped and created), loads the demo
agencies, users and the returned-child workflow, bulk-inserts the cases and
referrals spread over the demo agencies, then prints:

* p50/p95 of loading one agency's inbox page through the API
  (``GET /api/v1/referrals?box=incoming&status=...``, 50 rows and the count);
* p50/p95 of one accept through the service layer (``referrals.act`` + commit);
* accepts per second over the run.

Targets on this machine with PostgreSQL: inbox p95 under 50 ms, accept p50 under 10 ms.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import fresh_database, percentile  # noqa: E402
from referral import create_app  # noqa: E402
from referral.actors import Actor  # noqa: E402
from referral.auth import service as accounts  # noqa: E402
from referral.auth.models import User  # noqa: E402
from referral.cases.models import Case  # noqa: E402
from referral.demo import load_demo_data  # noqa: E402
from referral.designer import service as designer  # noqa: E402
from referral.directory.models import Agency  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.referrals import service as referrals  # noqa: E402
from referral.referrals.models import Referral  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402
from workflows import load_definition  # noqa: E402

DATABASE = "referral_bench"
CHUNK = 5_000
#: The inbox filters timed in turn: one status, the open ones, another status.
INBOX_STATUSES = ("requested", "open", "in-progress")


def settled(rng: random.Random, created: datetime, now: datetime) -> dict:
    """Return the state of a referral created at ``created`` as a year of casework leaves it by ``now``.

    Answers come after a median of a day (log-normal), the work after a median of ten days; most referrals
    older than a month are closed: completed, failed, rejected or cancelled unanswered; two in a hundred
    are stuck open, as on a real service.
    """
    respond_by = created + timedelta(days=rng.randint(1, 5))
    answered = created + timedelta(hours=min(rng.lognormvariate(3.0, 1.0), 24 * 30))
    stuck = rng.random() < 0.02
    fate = rng.random()
    state = {"respond_by": respond_by, "complete_by": None, "responded_at": None, "closed_at": None,
             "outcome": None, "status_reason": None}
    if fate < 0.08 and respond_by < now and not stuck:
        return state | {"status": "cancelled", "closed_at": respond_by, "status_reason": "no-response"}
    if answered >= now or stuck and fate < 0.5:
        return state | {"status": "requested", "due_at": respond_by}
    state |= {"responded_at": answered}
    if fate < 0.2:
        return state | {"status": "rejected", "closed_at": answered, "status_reason": "benchmark"}
    finished = answered + timedelta(days=min(rng.lognormvariate(2.3, 0.8), 200))
    state["complete_by"] = answered + timedelta(days=14)
    if finished >= now or stuck:
        status = "on-hold" if fate > 0.95 else "in-progress"
        return state | {"status": status, "due_at": state["complete_by"],
                        "status_reason": "benchmark" if status == "on-hold" else None}
    if fate > 0.93:
        return state | {"status": "failed", "closed_at": finished, "status_reason": "benchmark"}
    return state | {"status": "completed", "closed_at": finished, "outcome": "done"}


def seed(case_count: int, per_case: int, rng: random.Random, *, history: bool = False) -> None:
    """Bulk-insert cases with referrals along the returned-child workflow, over every demo agency.

    With ``history`` the referrals are as a year of casework leaves them (``settled``): answered and closed
    after realistic delays, few open. Without it a tenth of each status, answered and closed at once.
    """
    load_demo_data()
    db.session.commit()
    version = designer.latest_version("returned-child")
    definition, _ = load_definition(version.document)
    agencies_by_type: dict[str, list[int]] = {}
    #: With ``history``: the agency of each type a region's cases go to, its own or else the type's first.
    serving: dict[tuple[str, str], int] = {}
    region_of: dict[int, str] = {}
    for agency in db.session.scalars(sa.select(Agency).order_by(Agency.id)):
        agencies_by_type.setdefault(agency.type.value, []).append(agency.id)
        serving[agency.region, agency.type.value] = agency.id
        region_of[agency.id] = agency.region
    social = agencies_by_type["social"]
    stages = [stage for stage in definition.stages if not stage.is_start and not stage.is_terminal]
    start = definition.start_stage.key
    now = datetime.now(UTC)
    statuses = ["requested"] * 3 + ["accepted", "in-progress", "on-hold", "completed", "completed", "rejected",
                                    "cancelled"]
    case_table, referral_table = Case.__table__, Referral.__table__
    offset = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Case.id), 0)))
    ages = [rng.randint(0, 60 * 24 * 365) for _ in range(case_count)]
    if history:  # registered one after another, as a service numbers and stores them
        ages.sort(reverse=True)
    for first in range(0, case_count, CHUNK):
        count = min(CHUNK, case_count - first)
        cases_rows, referral_rows = [], []
        for index in range(first, first + count):
            created = now - timedelta(minutes=ages[index])
            holder = rng.choice(social)
            cases_rows.append({
                "id": offset + index + 1, "number": f"KZ-2025-{index + 1:06d}", "workflow_version_id": version.id,
                "given_name": "Bench", "family_name": f"Child {index}", "estimated_age": rng.randint(3, 17),
                "sex": rng.choice(["female", "male"]),
                # A history's cases are registered where the child lives, and go to that region's agencies.
                "region": region_of[holder] if history else rng.choice(["KZ-71", "KZ-75", "KZ-79", "KZ-47"]),
                "languages": ["kk"], "risk_level": rng.choice(["high", "medium", "low"]), "status": "open",
                "registered_by_agency_id": holder, "created_at": created, "updated_at": created})
        db.session.execute(sa.insert(case_table), cases_rows)
        for row in cases_rows:
            holder = row["registered_by_agency_id"]
            referral_rows.append({
                "case_id": row["id"], "from_stage": None, "from_agency_id": None, "to_stage": start,
                "to_agency_id": holder, "mode": "handover", "status": "in-progress", "version": 1, "reason": None,
                "created_at": row["created_at"], "responded_at": row["created_at"], "closed_at": None,
                "outcome": None, "status_reason": None, "respond_by": None, "complete_by": None,
                "due_at": None})
            if history and now - row["created_at"] > timedelta(days=1):
                referral_rows[-1] |= {"status": "completed", "outcome": "handed over",
                                      "closed_at": row["created_at"] + timedelta(minutes=1)}
            for stage in rng.sample(stages, per_case - 1):
                status = rng.choice(statuses)
                created = row["created_at"] + timedelta(minutes=rng.randint(1, 600))
                if history:
                    created = min(created, now)
                    referral_rows.append({
                        "case_id": row["id"], "from_stage": start, "from_agency_id": holder, "to_stage": stage.key,
                        "to_agency_id": serving.get((row["region"], stage.agency_type),
                                                    agencies_by_type[stage.agency_type][0]), "mode": "handover",
                        "version": 1, "reason": "Benchmark referral", "created_at": created, "due_at": None,
                        **settled(rng, created, now)})
                    continue
                terminal = status in ("completed", "rejected", "cancelled")
                referral_rows.append({
                    "case_id": row["id"], "from_stage": start, "from_agency_id": holder, "to_stage": stage.key,
                    "to_agency_id": rng.choice(agencies_by_type[stage.agency_type]), "mode": "handover",
                    "status": status, "version": 1, "reason": "Benchmark referral", "created_at": created,
                    "responded_at": None if status == "requested" else created,
                    "closed_at": created if terminal else None,
                    "outcome": "done" if status == "completed" else None,
                    "status_reason": "benchmark" if status in ("rejected", "cancelled", "on-hold") else None,
                    "respond_by": created + timedelta(days=rng.randint(1, 5)),
                    "complete_by": None if status == "requested" else created + timedelta(days=14)})
                row_due = referral_rows[-1]
                row_due["due_at"] = (row_due["respond_by"] if status == "requested" else
                                     row_due["complete_by"] if status in ("accepted", "in-progress", "on-hold")
                                     else None)
        db.session.execute(sa.insert(referral_table), referral_rows)
        db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
        db.session.commit()
        # What autovacuum does within a minute of a bulk load: statistics, and the visibility map that lets a
        # count read the inbox index alone.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


def measure_inbox(app, samples: int) -> tuple[list[float], list[float]]:
    """Time inbox pages through the API, and beside each its floor: the same two statements (the count and
    the page, as the API compiles them) run with the bare driver, no ORM, no Flask."""
    user = db.session.scalar(sa.select(User).where(User.email == "health@demo.kz"))
    _, token = accounts.create_token(user, Actor.system_actor("bench"))
    db.session.commit()
    actor = Actor.of(user)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    bare = {}
    for status in INBOX_STATUSES:
        criteria = (actor, "incoming", status, "", None)
        bare[status] = [str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
                        for statement in (referrals.inbox_count_query(*criteria),
                                          referrals.inbox_page_query(*criteria, end=50).limit(50))]
    raw = db.engine.raw_connection()  # the floor's own connection, outside the session the requests use
    driver = raw.driver_connection
    if db.engine.dialect.name == "postgresql":
        driver.autocommit = True
    timings, floors = [], []
    for index in range(samples):
        status = INBOX_STATUSES[index % len(INBOX_STATUSES)]
        started = time.perf_counter()
        response = client.get("/api/v1/referrals", query_string={"box": "incoming", "status": status,
                                                                 "per_page": 50}, headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)
        started = time.perf_counter()
        for sql in bare[status]:
            driver.execute(sql).fetchall()
        floors.append(time.perf_counter() - started)
    raw.close()
    return timings, floors


def measure_accepts(samples: int) -> tuple[list[float], float]:
    users = {user.agency_id: user for user in db.session.scalars(sa.select(User).where(User.role == "staff"))}
    candidates = db.session.execute(
        sa.select(Referral.id, Referral.to_agency_id).where(Referral.status == "requested",
                                                            Referral.to_agency_id.in_(list(users)))
        .order_by(Referral.id).limit(samples)).all()
    actors = {agency_id: Actor.of(user) for agency_id, user in users.items()}
    timings = []
    began = time.perf_counter()
    for referral_id, agency_id in candidates:
        started = time.perf_counter()
        referrals.act(referral_id, "accept", 1, actors[agency_id])
        db.session.commit()
        timings.append(time.perf_counter() - started)
    total = time.perf_counter() - began
    return timings, len(candidates) / total


def run(kind: str, case_count: int, per_case: int, samples: int, name: str = DATABASE) -> None:
    url = fresh_database(kind, name)
    app = init_migrations(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False}))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed(case_count, per_case, random.Random(11))
        cases_n = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        referrals_n = db.session.scalar(sa.select(sa.func.count()).select_from(Referral))
        print(f"[{kind}] seeded {cases_n:,} cases and {referrals_n:,} referrals in "
              f"{time.perf_counter() - started:.1f} s")
        inbox, floor = measure_inbox(app, samples)
        print(f"[{kind}] inbox page: p50 {statistics.median(inbox) * 1000:.1f} ms, "
              f"p95 {percentile(inbox, 0.95) * 1000:.1f} ms over {len(inbox)} loads; floor (its two statements, "
              f"bare driver) p50 {statistics.median(floor) * 1000:.1f} ms, p95 {percentile(floor, 0.95) * 1000:.1f}"
              f" ms: ratio p50 {statistics.median(inbox) / statistics.median(floor):.1f}, "
              f"p95 {percentile(inbox, 0.95) / percentile(floor, 0.95):.1f}; "
              f"load average {os.getloadavg()[0]:.1f}")
        accepts, rate = measure_accepts(samples)
        print(f"[{kind}] accept: p50 {statistics.median(accepts) * 1000:.1f} ms, "
              f"p95 {percentile(accepts, 0.95) * 1000:.1f} ms; {rate:.0f} accepts/s over {len(accepts)}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--referrals-per-case", type=int, default=5)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--database-name", default=DATABASE, help="the database (or SQLite file) to drop and build")
    args = parser.parse_args()
    os.environ.setdefault("REFERRAL_INSTANCE_PATH", "/tmp/referral_bench_instance")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        run(kind, args.cases, args.referrals_per_case, args.samples, args.database_name)


if __name__ == "__main__":
    main()

"""One accept through the service beside the raw-SQL floor of the rows it writes, and a whole case along the route.

Run with ``python bench/accept.py [--url URL] [--cases N] [--samples N] [--routes N]``. It empties the
database at ``--url`` (default: a fresh PostgreSQL database ``referral_bench_accept`` on 127.0.0.1; its
``public`` schema is dropped), migrates it, loads the demo agencies, users and the returned-child workflow and
bulk-inserts ``--cases`` cases, each with its start referral in progress and two referrals waiting for an
answer (a parallel one to a clinic, a hand-over one to a social agency), with their pending respond clocks.
Then it prints, in one run:

* one accept through the service (``referrals.act`` + commit): p50/p95, statements per accept (counted by a
  SQLAlchemy ``before_cursor_execute`` event: SELECTs and writes), accepts per second in one process; for a
  parallel accept and for a hand-over accept (which also completes the sender's referral);
* the floor: the same rows written with bare psycopg in one transaction (the case's row locked, the referral
  and its respond clock updated, the new clocks, the timeline event, the audit entries and the
  notifications inserted), on other referrals of the same database, in rounds of ten that alternate with
  the service's (so that other work on a shared machine weighs on both alike), and the ratio;
* a whole case along the returned-child route through the service (register, consent, refer, accept, start,
  complete, each call committed on its own): committed calls per second;
* the pure engine (``workflows``: the route's transitions and the lifecycle's state machine, no database)
  beside SpiffWorkflow on the same route, per task, if SpiffWorkflow is installed (``pip install -e
  '.[bench]'``): in memory, and serialized to JSON after every task as a service would store it.

Goals (issue 16, PostgreSQL on the 2-core machine): accept ≤ 1.5 × the floor, ≥ 500 accepts/s, ≥ 300
committed route calls/s, the engine ≥ 20 × faster than SpiffWorkflow per task.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
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
from referral.cases.models import Case  # noqa: E402
from referral.deadlines.models import Deadline  # noqa: E402
from referral.demo import load_demo_data  # noqa: E402
from referral.designer import service as designer  # noqa: E402
from referral.directory.models import Agency  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.referrals import service as referrals  # noqa: E402
from referral.referrals.models import Referral  # noqa: E402
from referral.reports import tallies  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402
from workflows import load_definition  # noqa: E402
from workflows.lifecycle import Action, Party, ReferralStatus  # noqa: E402
from workflows.lifecycle import apply as apply_action  # noqa: E402

DEFAULT_DATABASE = "referral_bench_accept"
CHUNK = 2_000
#: The two waiting referrals of every seeded case: (stage, agency code, mode).
PARALLEL = ("health-screening", "astana-childrens-clinic", "parallel")
HANDOVER = ("initial-assessment", "astana-family-support", "handover")


def database_url(url: str | None) -> str:
    """Return the URL of an empty database: the one given (its public schema recreated), or a fresh one."""
    if url is None:
        return fresh_database("postgresql", DEFAULT_DATABASE)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def seed(case_count: int, rng: random.Random) -> None:
    """Bulk-insert cases, each with its start referral and two waiting referrals with pending respond clocks."""
    load_demo_data()
    db.session.commit()
    version = designer.latest_version("returned-child")
    definition, _ = load_definition(version.document)
    codes = {agency.code: agency.id for agency in db.session.scalars(sa.select(Agency))}
    registrant = codes["astana-family-support"]
    start = definition.start_stage.key
    now = datetime.now(UTC)
    offset = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Case.id), 0)))
    referral_offset = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Referral.id), 0)))
    next_referral = referral_offset
    for first in range(0, case_count, CHUNK):
        count = min(CHUNK, case_count - first)
        case_rows, referral_rows, deadline_rows = [], [], []
        for index in range(first, first + count):
            created = now - timedelta(minutes=rng.randint(60, 60 * 24 * 30))
            case_id = offset + index + 1
            case_rows.append({
                "id": case_id, "number": f"KZ-2025-{index + 1:06d}", "workflow_version_id": version.id,
                "given_name": "Bench", "family_name": f"Child {index}", "estimated_age": rng.randint(3, 17),
                "sex": rng.choice(["female", "male"]), "region": "KZ-71", "languages": ["kk"],
                "risk_level": rng.choice(["high", "medium", "low"]), "status": "open",
                "registered_by_agency_id": registrant, "created_at": created, "updated_at": created})
            next_referral += 1
            parent = next_referral
            referral_rows.append({
                "id": parent, "case_id": case_id, "from_stage": None, "from_agency_id": None, "to_stage": start,
                "to_agency_id": registrant, "parent_id": None, "mode": "handover", "status": "in-progress",
                "version": 1, "reason": None, "created_at": created, "responded_at": created, "closed_at": None,
                "respond_by": None, "complete_by": None, "due_at": None})
            for stage, code, mode in (PARALLEL, HANDOVER):
                next_referral += 1
                due = created + timedelta(days=3)
                referral_rows.append({
                    "id": next_referral, "case_id": case_id, "from_stage": start, "from_agency_id": registrant,
                    "to_stage": stage, "to_agency_id": codes[code], "parent_id": parent, "mode": mode,
                    "status": "requested", "version": 1, "reason": "Benchmark referral", "created_at": created,
                    "responded_at": None, "closed_at": None, "respond_by": due, "complete_by": None,
                    "due_at": due})
                deadline_rows.append({
                    "referral_id": next_referral, "case_id": case_id, "agency_id": codes[code], "kind": "respond",
                    "status": "pending", "duration": "P3D", "started_at": created, "due_at": due,
                    "remind_at": [], "reminders_sent": 0, "next_check_at": due, "fired": [],
                    "created_at": created})
        db.session.execute(sa.insert(Case.__table__), case_rows)
        db.session.execute(sa.insert(Referral.__table__), referral_rows)
        db.session.execute(sa.insert(Deadline.__table__), deadline_rows)
        db.session.commit()
    db.session.execute(sa.text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
    db.session.execute(sa.text("SELECT setval('referrals_id_seq', (SELECT max(id) FROM referrals))"))
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


class StatementCounter:
    """Count the statements the engine sends, by their first word, while switched on."""

    def __init__(self, engine: sa.Engine) -> None:
        self.on = False
        self.counts: Counter = Counter()
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, connection, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.counts[statement.lstrip().split(None, 1)[0].upper()] += 1


def waiting(stage: str, limit: int) -> list[tuple[int, int]]:
    """Return (referral id, receiving agency id) of referrals waiting at a stage, by id."""
    return db.session.execute(
        sa.select(Referral.id, Referral.to_agency_id).where(Referral.status == ReferralStatus.requested,
                                                            Referral.to_stage == stage)
        .order_by(Referral.id).limit(limit)).all()


def staff_actors() -> dict[int, Actor]:
    """Return an actor of a staff user of each agency."""
    actors = {}
    for user in db.session.scalars(sa.select(User).where(User.role == "staff")):
        actors.setdefault(user.agency_id, Actor.of(user))
    db.session.commit()
    return actors


def accept_through_the_service(referral_id: int, agency_id: int, actors: dict[int, Actor],
                               counter: StatementCounter) -> None:
    counter.on = True
    referrals.act(referral_id, "accept", 1, actors[agency_id])
    db.session.commit()
    counter.on = False


def warm_up(candidates, counter: StatementCounter) -> None:
    """Accept each referral through the service, a commit each: the definition cache, compiled statements."""
    actors = staff_actors()
    for referral_id, agency_id in candidates:
        accept_through_the_service(referral_id, agency_id, actors, counter)


class Timed:
    """The wall-clock times and the CPU seconds of this process spent on one side of the comparison."""

    def __init__(self) -> None:
        self.timings: list[float] = []
        self.cpu = 0.0
        self.wall = 0.0

    def run(self, action, *args) -> None:
        cpu, started = time.process_time(), time.perf_counter()
        action(*args)
        self.timings.append(time.perf_counter() - started)
        self.cpu += time.process_time() - cpu
        self.wall += self.timings[-1]


def measure_side_by_side(url: str, service_set, floor_set, counter: StatementCounter, handover: bool,
                         round_size: int = 10) -> tuple[Timed, Timed, Counter]:
    """Accept ``service_set`` through the service and write ``floor_set`` with bare psycopg, alternating rounds
    of ``round_size``, so that what else the shared machine does weighs on both alike."""
    actors = staff_actors()
    service, floor = Timed(), Timed()
    counter.counts.clear()
    gc.collect()
    with FloorWriter(url, handover) as writer:
        for first in range(0, len(service_set), round_size):
            for referral_id, agency_id in service_set[first:first + round_size]:
                service.run(accept_through_the_service, referral_id, agency_id, actors, counter)
            for referral_id, agency_id in floor_set[first:first + round_size]:
                floor.run(writer.write, referral_id, agency_id)
    return service, floor, counter.counts.copy()


def rows_of_accept(url: str, referral_id: int) -> dict:
    """Return what one service accept wrote: the rows it inserted per table (read back after it)."""
    with psycopg.connect(_libpq(url)) as connection:
        found = {}
        for table, column in (("deadlines", "referral_id"), ("events", "referral_id"),
                              ("notifications", "referral_id")):
            found[table] = connection.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = %s", (referral_id,)).fetchone()[0]
        found["deadlines"] -= 1  # the respond clock was there before
        return found


def _libpq(url: str) -> str:
    parsed = sa.engine.make_url(url)
    return f"host={parsed.host} port={parsed.port or 5432} user={parsed.username} dbname={parsed.database}"


class FloorWriter:
    """Write what an accept writes with bare psycopg, one transaction per referral.

    The rows: the case's row locked; the referral updated (status, answer time, due dates, version); its
    respond clock closed; a complete clock opened; a timeline event; the audit entry of the act; the
    notification of each active user of the sender but the actor; the audit entry of that disclosure. A
    hand-over accept also completes the sender's referral and closes its clocks, with its own event,
    notifications and disclosure entry.
    """

    def __init__(self, url: str, handover: bool) -> None:
        self.url, self.handover = url, handover

    def __enter__(self) -> "FloorWriter":
        self.connection = connection = psycopg.connect(_libpq(self.url))
        self.users = {agency: [row[0] for row in connection.execute(
            "SELECT id FROM users WHERE agency_id = %s AND is_active ORDER BY id", (agency,))]
            for agency, in connection.execute("SELECT DISTINCT agency_id FROM users")}
        connection.commit()
        self.params = json.dumps({"case": "KZ-2025-000001", "stage": "Health screening", "stage_key": "x",
                                  "agency": "Astana", "agency_code": "astana"})
        return self

    def __exit__(self, *exc) -> None:
        self.connection.close()

    def write(self, referral_id: int, agency_id: int) -> None:
        connection, users, params, handover = self.connection, self.users, self.params, self.handover
        with connection.transaction():
            case_id, parent_id, sender = connection.execute(
                "SELECT case_id, parent_id, from_agency_id FROM referrals WHERE id = %s",
                (referral_id,)).fetchone()
            connection.execute("SELECT id FROM cases WHERE id = %s FOR UPDATE", (case_id,))
            now = datetime.now(UTC)
            due = now + timedelta(days=5)
            touched = [(referral_id, agency_id, sender, "accepted", "referral.accepted")]
            if handover:
                touched.append((parent_id, sender, None, "completed", "referral.handed_over"))
            for row_id, receiver, told, status, kind in touched:
                connection.execute(
                    "UPDATE referrals SET status = %s, responded_at = coalesce(responded_at, %s), "
                    "complete_by = %s, due_at = %s, outcome = %s, closed_at = %s, version = version + 1 "
                    "WHERE id = %s AND version = %s",
                    (status, now, due, due if status == "accepted" else None,
                     "handed over" if status == "completed" else None,
                     now if status == "completed" else None, row_id, 1))
                connection.execute(
                    "UPDATE deadlines SET status = 'met', closed_at = %s, next_check_at = NULL "
                    "WHERE referral_id = %s AND status = 'pending'", (now, row_id))
                if status == "accepted":
                    connection.execute(
                        "INSERT INTO deadlines (referral_id, case_id, agency_id, kind, status, duration, "
                        "started_at, due_at, remind_at, reminders_sent, next_check_at, fired, created_at) "
                        "VALUES (%s, %s, %s, 'complete', 'pending', 'P3D', %s, %s, %s, 0, %s, '[]', %s)",
                        (row_id, case_id, receiver, now, due, json.dumps([due.isoformat()]), due, now))
                connection.execute(
                    "INSERT INTO events (case_id, referral_id, occurred_at, actor_user_id, actor_label, "
                    "actor_agency_id, kind, from_status, to_status, detail) "
                    "VALUES (%s, %s, %s, NULL, 'Bench', %s, %s, 'requested', %s, %s)",
                    (case_id, row_id, now, agency_id, kind, status, json.dumps({"stage": "x"})))
                if status == "accepted":
                    connection.execute(
                        "INSERT INTO audit_entries (occurred_at, actor_user_id, actor_label, action, "
                        "object_type, object_id, remote_addr, detail) "
                        "VALUES (%s, NULL, 'bench', 'referral.accept', 'referral', %s, NULL, %s)",
                        (now, str(row_id), json.dumps({"case": "KZ"})))
                recipients = users.get(told or receiver, [])
                if recipients:
                    with connection.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO notifications (user_id, kind, params, case_id, referral_id, "
                            "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
                            [(user_id, kind, params, case_id, row_id, now) for user_id in recipients])
                    connection.execute(
                        "INSERT INTO audit_entries (occurred_at, actor_user_id, actor_label, action, "
                        "object_type, object_id, remote_addr, detail) "
                        "VALUES (%s, NULL, 'system:notifications', 'case.notified', 'case', %s, NULL, %s)",
                        (now, str(case_id), json.dumps({"agency": "x", "kind": kind})))


def print_accepts(label: str, service: Timed, floor: Timed, statements: Counter, rows: dict) -> None:
    count = len(service.timings)
    per = {word: number / count for word, number in statements.items()}
    selects = per.get("SELECT", 0)
    writes = sum(number for word, number in per.items() if word in ("INSERT", "UPDATE", "DELETE"))
    service_p50, floor_p50 = statistics.median(service.timings), statistics.median(floor.timings)
    print(f"[{label}] accept through the service: p50 {service_p50 * 1000:.2f} ms, "
          f"p95 {percentile(service.timings, 0.95) * 1000:.2f} ms, {count / service.wall:.0f} accepts/s over "
          f"{count}; {selects + writes:.1f} statements per accept ({selects:.1f} SELECT, {writes:.1f} writes; "
          + ", ".join(f"{word} {number:.1f}" for word, number in sorted(per.items()))
          + f"); {service.cpu / count * 1000:.2f} ms CPU of this process per accept")
    print(f"[{label}] rows inserted per accept besides the two UPDATEs: {rows}")
    print(f"[{label}] raw-SQL floor (bare psycopg, one transaction), in rounds of ten alternating with the "
          f"service's: p50 {floor_p50 * 1000:.2f} ms, p95 {percentile(floor.timings, 0.95) * 1000:.2f} ms, "
          f"{floor.cpu / len(floor.timings) * 1000:.2f} ms CPU — ratio {service_p50 / floor_p50:.2f}× "
          f"(goal ≤ 1.5×); {len(floor.timings) / floor.wall:.0f} floor transactions/s")


# The returned-child route, walked by the demo's staff: (call, who, arguments).
ROUTE = [
    ("refer", "social", "health-screening", "astana-childrens-clinic"),
    ("work", "health", "health-screening"),
    ("refer", "social", "legal-status-review", "astana-juvenile-prosecutor"),
    ("work", "justice", "legal-status-review"),
    ("refer", "social", "initial-assessment", "astana-family-support"),
    ("take", "social", "initial-assessment"),
    ("refer", "social", "rehabilitation-plan", "almaty-rehab-centre"),
    ("take", "rehab", "rehabilitation-plan"),
    ("refer", "rehab", "residential-adaptation", "almaty-rehab-centre"),
    ("take", "rehab", "residential-adaptation"),
    ("refer", "rehab", "home-district-handover", "shymkent-social-services"),
    ("take", "shymkent", "home-district-handover"),
    ("refer", "shymkent", "school-enrolment", "astana-school-54"),
    ("work", "school", "school-enrolment"),
    ("refer", "shymkent", "psychosocial-follow-up", "almaty-hope-ngo"),
    ("work", "ngo", "psychosocial-follow-up"),
    ("refer", "shymkent", "documents-guardianship", "shymkent-social-services"),
    ("work", "shymkent", "documents-guardianship"),
    ("refer", "shymkent", "periodic-review", "shymkent-social-services"),
    ("take", "shymkent", "periodic-review"),
    ("refer", "shymkent", "closed", "shymkent-social-services"),
    ("finish", "shymkent", "closed"),
]
#: What each kind of step does to its referral: the lifecycle actions, in order.
STEPS = {"work": ("accept", "start", "complete"), "take": ("accept", "start"), "finish": ("accept", "complete")}


def walk_route(actors: dict[str, Actor]) -> int:
    """Walk one case along the route through the service, committing every call; return the calls made."""
    calls = 0
    child = cases.ChildData(given_name="Bench", family_name="Route", sex="female", region="KZ-71",
                            birth_date=None, estimated_age=9, languages=["kk"])
    case = cases.register_case("returned-child", "medium", child, actors["social"])
    db.session.commit()
    case_id = case.id
    cases.record_consent(case_id, cases.ConsentData(
        given_by="Guardian", relationship_to_child="mother",
        agency_types=["health", "justice", "education", "civil_society"],
        given_on=date.today()), actors["social"])
    db.session.commit()
    calls += 2
    held: dict[str, tuple[int, int]] = {}
    for kind, who, stage, *rest in ROUTE:
        if kind == "refer":
            made = referrals.refer(case_id, stage, rest[0], "Along the route.", actors[who])
            held[stage] = (made.id, made.version)
            db.session.commit()
            calls += 1
            continue
        referral_id, version = held[stage]
        for action in STEPS[kind]:
            done = referrals.act(referral_id, action, version, actors[who],
                                 outcome="Done." if action == "complete" else None)
            version = done.version
            db.session.commit()
            calls += 1
    status = db.session.scalar(sa.select(Case.status).where(Case.id == case_id))
    assert status.value == "closed", status
    return calls


def measure_route(cases_walked: int, counter: StatementCounter) -> tuple[float, int, float, float]:
    """Walk cases along the route; return committed calls per second, calls per case, seconds per case and
    statements per call."""
    emails = {"social": "social@demo.kz", "health": "health@demo.kz", "justice": "justice@demo.kz",
              "rehab": "rehab@demo.kz", "shymkent": "shymkent@demo.kz", "school": "school@demo.kz",
              "ngo": "ngo@demo.kz"}
    actors = {name: Actor.of(db.session.scalar(sa.select(User).where(User.email == email)))
              for name, email in emails.items()}
    db.session.commit()
    walk_route(actors)  # warm up
    gc.collect()
    calls = 0
    counter.counts.clear()
    counter.on = True
    began = time.perf_counter()
    for _ in range(cases_walked):
        calls += walk_route(actors)
    total = time.perf_counter() - began
    counter.on = False
    return calls / total, calls // cases_walked, total / cases_walked, sum(counter.counts.values()) / calls


def engine_tasks() -> list[tuple[str, ...]]:
    """Return the route as the pure engine's tasks: the consent, each referral and each lifecycle action."""
    tasks = [("consent",)]
    for kind, _who, stage, *_rest in ROUTE:
        if kind == "refer":
            tasks.append(("refer", stage))
        else:
            tasks.extend(("act", stage, action) for action in STEPS[kind])
    return tasks


def run_engine(definition, tasks) -> int:
    """Run the route in the pure engine: each referral checked against the definition, each action applied.

    A referral goes from a stage its sender holds along an allowed transition (with the consent it requires);
    accepting a hand-over completes the referral it came from.
    """
    start = definition.start_stage
    held = {start.key: [ReferralStatus.in_progress, None, "handover"]}
    consents: set[str] = set()
    done = 0
    for task in tasks:
        if task[0] == "consent":
            consents.update(("health", "justice", "education", "civil_society"))
        elif task[0] == "refer":
            stage = task[1]
            origin = next(key for key, (status, _parent, _mode) in held.items()
                          if status in (ReferralStatus.accepted, ReferralStatus.in_progress)
                          and definition.transition(key, stage) is not None)
            transition = definition.transition(origin, stage)
            if "consent" in transition.requires and definition.stage(stage).agency_type not in consents:
                raise AssertionError(f"no consent for {stage}")
            held[stage] = [ReferralStatus.requested, origin, str(transition.mode)]
        else:
            _, stage, action = task
            referral = held[stage]
            referral[0] = apply_action(referral[0], Action(action), Party.receiver,
                                       outcome="Done." if action == "complete" else None)
            if action == "accept" and referral[2] == "handover" and referral[1] is not None:
                held[referral[1]][0] = ReferralStatus.completed
        done += 1
    return done


def spiff_spec(tasks):
    """Return a SpiffWorkflow spec with one user task per engine task, in the route's order."""
    from SpiffWorkflow.specs.Simple import Simple
    from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec

    spec = WorkflowSpec("returned-child", addstart=True)
    previous = spec.start
    for index, task in enumerate(tasks):
        step = Simple(spec, f"t{index}-" + "-".join(task))
        previous.connect(step)
        previous = step
    return spec


def run_spiff(spec, tasks, serializer=None) -> int:
    """Run the route in SpiffWorkflow, completing one ready task at a time (serialized after each, if asked)."""
    from SpiffWorkflow.util.task import TaskState
    from SpiffWorkflow.workflow import Workflow

    workflow = Workflow(spec)
    done = 0
    while True:
        ready = workflow.get_tasks(state=TaskState.READY)
        if not ready:
            break
        ready[0].run()
        workflow.update_waiting_tasks()
        done += 1
        if serializer is not None:
            stored = serializer.serialize_workflow(workflow)
            workflow = serializer.deserialize_workflow(stored)
    return done


def measure_engines(definition, repeat: int) -> None:
    tasks = engine_tasks()
    run_engine(definition, tasks)
    gc.collect()
    began = time.perf_counter()
    for _ in range(repeat):
        count = run_engine(definition, tasks)
    engine = (time.perf_counter() - began) / (repeat * count)
    print(f"[engine] the pure engine on the route ({count} tasks): {engine * 1e6:.2f} µs per task")
    try:
        from SpiffWorkflow.serializer.json import JSONSerializer
    except ImportError:
        print("[engine] SpiffWorkflow is not installed (pip install -e '.[bench]'): no comparison")
        return
    spec = spiff_spec(tasks)
    run_spiff(spec, tasks)
    gc.collect()
    began = time.perf_counter()
    rounds = max(1, repeat // 20)
    for _ in range(rounds):
        spiff_count = run_spiff(spec, tasks)
    spiff = (time.perf_counter() - began) / (rounds * spiff_count)
    serializer = JSONSerializer()
    began = time.perf_counter()
    small = max(1, rounds // 5)
    for _ in range(small):
        run_spiff(spec, tasks, serializer)
    serialized = (time.perf_counter() - began) / (small * spiff_count)
    print(f"[engine] SpiffWorkflow on the same route ({spiff_count} tasks, the start task included): "
          f"{spiff * 1e6:.1f} µs per task in memory, {serialized * 1e6:.0f} µs serialized after every task — "
          f"the engine is {spiff / engine:.0f}× faster per task in memory (goal ≥ 20×), "
          f"{serialized / engine:.0f}× against serialized")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL database this bench may empty")
    parser.add_argument("--cases", type=int, default=3_000)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--routes", type=int, default=10)
    parser.add_argument("--engine-repeat", type=int, default=2_000)
    parser.add_argument("--no-tallies", action="store_true",
                        help="leave the report tallies unbuilt, as before the scheduler's first run")
    args = parser.parse_args()
    os.environ.setdefault("REFERRAL_INSTANCE_PATH", "/tmp/referral_bench_instance")
    url = database_url(args.url)
    app = init_migrations(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False}))
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        seed(args.cases, random.Random(11))
        if not args.no_tallies and tallies.build():  # as the scheduler does first: the triggers then count
            db.session.commit()
        print("report tallies:", "not built (their triggers return at once)" if args.no_tallies else
              "built (their triggers count every write, the floor's too)")
        counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in (Case, Referral, Deadline)}
        print(f"seeded {counts['cases']:,} cases, {counts['referrals']:,} referrals, {counts['deadlines']:,} "
              f"deadlines in {time.perf_counter() - started:.1f} s")
        counter = StatementCounter(db.engine)
        samples = min(args.samples, (args.cases - 20) // 2)
        # Warm up the service (definition cache, compiled statements) on a few referrals not measured.
        warm_up(waiting(PARALLEL[0], 20), counter)
        for label, (stage, _code, _mode), handover in (("parallel", PARALLEL, False), ("hand-over", HANDOVER, True)):
            chosen = waiting(stage, 2 * samples)
            service_set, floor_set = chosen[:samples], chosen[samples:]
            service, floor, statements = measure_side_by_side(url, service_set, floor_set, counter, handover)
            print_accepts(label, service, floor, statements, rows_of_accept(url, service_set[0][0]))
        definition = cases.latest_definition("returned-child")
        rate, calls, per_case, statements = measure_route(args.routes, counter)
        print(f"[route] a whole case along the returned-child route through the service ({calls} calls, "
              f"each committed): {rate:.0f} committed calls/s, {per_case * 1000:.0f} ms per case, "
              f"{per_case / calls * 1000:.2f} ms and {statements:.1f} statements per call "
              f"(goal ≥ 300 calls/s)")
        measure_engines(definition, args.engine_repeat)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()

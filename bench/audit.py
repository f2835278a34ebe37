"""Audit writes per second through the service, with the sealer running beside them and without it.

Run with ``python bench/audit.py [--database postgresql|sqlite | --url URL] [--writers N] [--seconds S]``. It builds a
fresh database (PostgreSQL ``referral_bench_audit`` on 127.0.0.1 by default) and, twice for each mode, runs
N writer threads that each ``record()`` an audited read and commit, one entry per transaction, as web workers
do, for S seconds: once alone, once while a sealer thread runs ``integrity.seal`` every 0.2 s (far more often
than the scheduler's interval, to make its cost visible). It prints both rates, their ratio (target ≥ 0.8),
and checks at the end that every entry is sealed once and that the chain verifies.
"""

import argparse
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import fresh_database  # noqa: E402
from referral import create_app  # noqa: E402
from referral.actors import Actor  # noqa: E402
from referral.audit import integrity  # noqa: E402
from referral.audit.models import AuditEntry, AuditSeal  # noqa: E402
from referral.audit.service import record  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402

DATABASE = "referral_bench_audit"
READER = Actor.system_actor("bench")


def write_for(app, seconds: float, counts: list, index: int) -> None:
    """Record one audited read per transaction until the time is up; count them."""
    with app.app_context():
        end = time.perf_counter() + seconds
        written = 0
        while time.perf_counter() < end:
            record(READER, "case.read", "case", written, {"via": "bench"})
            db.session.commit()
            written += 1
        counts[index] = written
        db.session.remove()


def seal_while(app, running: threading.Event, runs: list) -> None:
    """Seal every 0.2 s while the writers write."""
    with app.app_context():
        while running.is_set():
            runs.append(integrity.seal(lag=timedelta(seconds=1), batch_size=1000).sealed)
            time.sleep(0.2)
        db.session.remove()


def rate(app, writers: int, seconds: float, sealing: bool) -> tuple[float, int]:
    """Return entries written per second by the writers (and how many the sealer sealed meanwhile)."""
    counts, runs = [0] * writers, []
    running = threading.Event()
    running.set()
    threads = [threading.Thread(target=write_for, args=(app, seconds, counts, i)) for i in range(writers)]
    sealer = threading.Thread(target=seal_while, args=(app, running, runs)) if sealing else None
    if sealer:
        sealer.start()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    running.clear()
    if sealer:
        sealer.join()
    return sum(counts) / elapsed, sum(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each mode")
    parser.add_argument("--url", default=None, help="a PostgreSQL database to empty and use instead of a new one")
    args = parser.parse_args()
    url = args.url or fresh_database(args.database, DATABASE)
    if args.url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        args.database = sa.make_url(url).get_backend_name()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.writers + 2, "hide_parameters": True}})
    init_migrations(app)
    with app.app_context():
        upgrade()
    results = {False: [], True: []}
    for _ in range(args.rounds):
        for sealing in (False, True):
            per_second, sealed = rate(app, args.writers, args.seconds, sealing)
            results[sealing].append(per_second)
            print(f"  sealing {'on ' if sealing else 'off'}: {per_second:8.0f} writes/s"
                  + (f" ({sealed} sealed meanwhile)" if sealing else ""), flush=True)
    off, on = max(results[False]), max(results[True])
    print(f"{args.database}, {args.writers} writers, {args.seconds:.0f} s a round, best of {args.rounds}:")
    print(f"  sealing off {off:8.0f} writes/s | sealing on {on:8.0f} writes/s | ratio {on / off:.2f} (target ≥ 0.8)")
    with app.app_context():
        integrity.seal(lag=timedelta(0), batch_size=5000)
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        seals = db.session.scalar(sa.select(sa.func.count()).select_from(AuditSeal))
        started = time.perf_counter()
        verified = integrity.verify_chain()
        took = time.perf_counter() - started
        outcome = "intact" if verified.broken is None else verified.broken
        print(f"  {entries} entries, {seals} seals; verify: {outcome}, {verified.checked} checked in {took:.1f} s")
        db.engine.dispose()


if __name__ == "__main__":
    main()

"""Requests per second through the production server: one case, the inbox page, beside the server's floor.

Run with ``python bench/http_load.py [--cases N] [--workers W] [--threads T] [--seconds S]`` (the defaults are
``referral serve``'s: three sync workers per core).
It builds the PostgreSQL database ``referral_bench_http`` on 127.0.0.1 (or the
one named with ``--database-name``; dropped and created) with the demo data and
N cases (as ``bench/referrals.py`` seeds them), starts ``referral serve`` on a
free loopback port with the given workers and threads, and drives it with
``wrk`` (Debian's package) at 1, 10 and 50 connections for each of:

* ``GET /healthz`` — the floor: the same server, no database, no token;
* ``GET /api/v1/cases/{id}`` — one case in full (token, visibility, audit row);
* ``GET /api/v1/referrals?box=incoming&status=requested`` — one inbox page of 50.

It prints requests per second, p50 and p99 latency, errors (non-2xx answers and
socket errors) and each web worker's resident memory at boot and after the load, and each
endpoint's throughput as a share of the floor's.

Goals on this 2-core machine: at 10 connections at least 400 req/s with p99 at
most 50 ms and no errors for the case and the inbox; no errors at 50
connections; at most 120 MB per worker.
"""

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.common import fresh_database  # noqa: E402
from bench.referrals import seed  # noqa: E402
from referral import create_app  # noqa: E402
from referral.actors import Actor  # noqa: E402
from referral.auth import service as accounts  # noqa: E402
from referral.auth.models import User  # noqa: E402
from referral.extensions import db  # noqa: E402
from referral.referrals.models import Referral  # noqa: E402
from referral.schema_migrations import init_migrations  # noqa: E402
from referral.server import default_workers  # noqa: E402

DATABASE = "referral_bench_http"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(url: str, cases: int) -> tuple[str, int]:
    """Seed the database; return a token of the clinic's staff user and a case it holds in full."""
    app = init_migrations(create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": False}))
    with app.app_context():
        upgrade()
        seed(cases, 5, random.Random(7))
        user = db.session.scalar(sa.select(User).where(User.email == "health@demo.kz"))
        case_id = db.session.scalar(
            sa.select(Referral.case_id).where(Referral.to_agency_id == user.agency_id,
                                              Referral.status == "in-progress").order_by(Referral.id).limit(1))
        _, token = accounts.create_token(user, Actor.system_actor("bench"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return token, case_id


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "REFERRAL_DATABASE_URL": url, "REFERRAL_SECRET_KEY": "bench-secret-key",
           "REFERRAL_INSTANCE_PATH": "/tmp/referral_bench_instance"}
    # ``python -m`` from the checkout: the venv's ``referral`` script imports the installed package, which in an
    # editable install elsewhere is another checkout's code.
    server = subprocess.Popen([sys.executable, "-m", "referral", "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(workers), "--threads", str(threads)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def worker_rss_mb(server: subprocess.Popen) -> list[tuple[float, float]]:
    """Return the resident memory of each gunicorn worker (the server's children), and its proportional share
    (PSS: pages shared with the master or the other workers counted once among them), in MB."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    found = []
    for pid in children.read_text().split() if children.exists() else []:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup")
        pss = re.search(r"^Pss:\s+(\d+) kB", rollup.read_text(), re.MULTILINE) if rollup.exists() else None
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        found.append((rss / 1024, int(pss.group(1)) / 1024 if pss else float("nan")))
    return found


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, token: str | None) -> dict:
    """Run wrk against one URL; return req/s, p50 and p99 in ms, and errors."""
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency",
               "--timeout", "10s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s*(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    if "50" not in latency or "99" not in latency:
        raise SystemExit("unexpected wrk output:\n" + output)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50": _milliseconds(latency["50"]), "p99": _milliseconds(latency["99"]),
            "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=default_workers(), help="as referral serve: 3 per core")
    parser.add_argument("--threads", type=int, default=1, help="as referral serve: 1, gunicorn's sync workers")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="1,10,50")
    parser.add_argument("--database-name", default=DATABASE, help="the PostgreSQL database to drop and build")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/http_load.py needs wrk: apt-get install wrk")
    url = fresh_database("postgresql", args.database_name)
    token, case_id = prepare(url, args.cases)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    targets = [("floor: GET /healthz", f"{base}/healthz", None),
               ("GET /api/v1/cases/{id}", f"{base}/api/v1/cases/{case_id}", token),
               ("GET /api/v1/referrals (inbox page)",
                f"{base}/api/v1/referrals?box=incoming&status=requested&per_page=50", token)]
    print(f"referral serve --workers {args.workers} --threads {args.threads}; {args.cases:,} cases; "
          f"{args.seconds} s per run; load average {os.getloadavg()[0]:.1f}")
    booted = worker_rss_mb(server)
    try:
        for _label, target, auth in targets:  # warm every worker's caches and pools
            wrk(target, 4, 2, auth)
        floor = {}
        for connections in (int(n) for n in args.connections.split(",")):
            for label, target, auth in targets:
                result = wrk(target, connections, args.seconds, auth)
                floor.setdefault(connections, result["rps"])
                share = result["rps"] / floor[connections]
                print(f"{label:<38} c={connections:<3} {result['rps']:8.0f} req/s  p50 {result['p50']:6.1f} ms  "
                      f"p99 {result['p99']:7.1f} ms  errors {result['errors']:<4} "
                      f"({share:.0%} of the floor)")
        rss = worker_rss_mb(server)
        for label, found in (("at boot", booted), ("after the load", rss)):
            print(f"worker RSS {label}: " + ", ".join(f"{mb:.0f} MB (PSS {pss:.0f} MB)" for mb, pss in found))
        print(f"load average {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

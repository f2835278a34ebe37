"""The outbox under faults, against real peers (aiosmtpd, local HTTP receivers): a hanging webhook delays only its
own messages, backoff counts from each attempt, every message has a key that is the same on every attempt, and a
scheduler killed at random points loses nothing and repeats only what the receiver can drop by that key."""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from referral.extensions import db, utcnow
from referral.notifications import delivery as outbox
from referral.notifications.models import Delivery, DeliveryStatus
from tests.appfixtures import PG_URL


def ids(inbox) -> list[str]:
    return [message["Message-ID"] for message in inbox.messages]


class Gauge:
    """How many calls a receiver is serving at once, and the most it served at once."""

    def __init__(self) -> None:
        self.lock, self.busy, self.most = threading.Lock(), 0, 0

    def enter(self) -> None:
        with self.lock:
            self.busy += 1
            self.most = max(self.most, self.busy)

    def leave(self) -> None:
        with self.lock:
            self.busy -= 1


def receiver(hang: threading.Event | None = None, pause: float = 0.0, gauge: Gauge | None = None):
    """Start an HTTP receiver on 127.0.0.1 recording each call's webhook-id; it may hang until ``hang`` is set."""
    calls: list[str] = []
    gauge = gauge or Gauge()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's handler name
            self.rfile.read(int(self.headers["Content-Length"]))
            gauge.enter()
            if hang is not None:
                hang.wait(30)
            time.sleep(pause)
            gauge.leave()
            calls.append(self.headers.get("webhook-id"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls, f"http://127.0.0.1:{server.server_port}/hook"


def queue(agency=None, user=None, count=1):
    now = utcnow()
    rows = []
    for index in range(count):
        if agency is not None:
            rows.append(Delivery(channel="webhook", agency_id=agency.id, next_attempt_at=now, created_at=now,
                                 payload={"event": "referral.requested", "n": index}))
        else:
            rows.append(Delivery(channel="email", user_id=user.id, next_attempt_at=now, created_at=now,
                                 payload={"to": user.email, "subject": f"Notice {index}", "body": "A new task."}))
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


@pytest.mark.skipif(not PG_URL, reason="destinations are served at once on PostgreSQL (SQLite writes one at a time)")
def test_a_hanging_webhook_delays_only_its_own_messages(make_app, make_agency, make_user, smtp_server):
    box, smtp_url = smtp_server
    app = make_app(REFERRAL_SMTP_URL=smtp_url, REFERRAL_WEBHOOK_ALLOW_PRIVATE=True,
                   REFERRAL_WEBHOOK_TIMEOUT_SECONDS=20)
    hang = threading.Event()
    servers = []
    with app.app_context():
        user = make_user()
        for _ in range(3):
            server, _calls, url = receiver(hang)
            servers.append(server)
            queue(agency=make_agency(type="health", webhook_url=url))
        queue(user=user, count=6)
        db.session.remove()

    def run():
        with app.app_context():
            outbox.deliver_outbox()
            db.session.remove()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        for _ in range(150):
            if len(ids(box)) == 6:
                break
            time.sleep(0.1)
        # Every e-mail went out while the three webhook calls were still hanging (before: 10, 20, 30 s late).
        assert len(ids(box)) == 6 and not hang.is_set()
    finally:
        hang.set()
        worker.join(60)
        for server in servers:
            server.shutdown()
            server.server_close()


def test_backoff_counts_from_the_attempt_not_from_the_start_of_the_round(make_app, make_agency):
    app = make_app(REFERRAL_WEBHOOK_ALLOW_PRIVATE=True, REFERRAL_WEBHOOK_TIMEOUT_SECONDS=1)
    with socket.socket() as silent:  # accepts the connection, never answers: the call times out
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with app.app_context():
            [delivery_id] = queue(agency=make_agency(type="health",
                                                     webhook_url=f"http://127.0.0.1:{silent.getsockname()[1]}/"))
            started = utcnow()
            assert outbox.deliver_outbox().retried == 1
            delivery = db.session.get(Delivery, delivery_id)
            assert delivery.last_error == outbox.UNREACHABLE
            assert delivery.next_attempt_at >= started + timedelta(seconds=1) + outbox.BACKOFF


def test_each_message_carries_a_key_that_is_the_same_on_every_attempt(make_app, make_agency, make_user, smtp_server):
    box, smtp_url = smtp_server
    server, calls, url = receiver()
    app = make_app(REFERRAL_SMTP_URL=smtp_url, REFERRAL_MAIL_FROM="noreply@referral.test",
                   REFERRAL_WEBHOOK_ALLOW_PRIVATE=True)
    try:
        with app.app_context():
            [hook] = queue(agency=make_agency(type="health", webhook_url=url))
            [mail] = queue(user=make_user())
            assert outbox.deliver_outbox().sent == 2
            # Sent again (as after a crash between the send and its record): the same keys.
            db.session.execute(sa.update(Delivery).values(status=DeliveryStatus.pending))
            db.session.commit()
            assert outbox.deliver_outbox().sent == 2
        assert calls == [f"msg_{hook}", f"msg_{hook}"]
        assert ids(box) == [f"<msg_{mail}@referral.test>"] * 2
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(not PG_URL, reason="real scheduler processes share PostgreSQL")
def test_a_scheduler_killed_at_random_points_loses_nothing_and_repeats_only_what_carries_its_key(
        app, make_agency, make_user, smtp_server):
    box, smtp_url = smtp_server
    server, calls, url = receiver(pause=0.02)
    agencies = [make_agency(type="health", webhook_url=url) for _ in range(3)]
    user = make_user()
    expected_hooks = [delivery_id for agency in agencies for delivery_id in queue(agency=agency, count=8)]
    expected_mails = queue(user=user, count=24)
    db.session.remove()
    env = {**os.environ, "REFERRAL_DATABASE_URL": PG_URL, "REFERRAL_SECRET_KEY": "test",
           "REFERRAL_SMTP_URL": smtp_url, "REFERRAL_MAIL_FROM": "noreply@referral.test",
           "REFERRAL_WEBHOOK_ALLOW_PRIVATE": "1", "REFERRAL_OUTBOX_LEASE_SECONDS": "1"}
    command = [sys.executable, "-m", "referral", "scheduler", "run", "--once"]
    chance = random.Random(20261202)
    kills = 0
    try:
        for _ in range(4):
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Kill it once it has sent a random few more messages: in the middle of a round, between a send
            # and its record or between two messages, wherever that lands.
            target = len(calls) + len(ids(box)) + chance.randint(1, 12)
            while process.poll() is None and len(calls) + len(ids(box)) < target:
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.communicate(timeout=30)
            time.sleep(1.1)  # the dead scheduler's leases run out
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert final.returncode == 0, final.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert kills >= 1
    statuses = Counter(db.session.scalars(sa.select(Delivery.status)))
    assert statuses == {DeliveryStatus.sent: len(expected_hooks) + len(expected_mails)}
    # Every message arrived; a repeat is only ever one the receiver recognises by the key it has seen.
    assert set(calls) == {f"msg_{delivery_id}" for delivery_id in expected_hooks}
    assert set(ids(box)) == {f"<msg_{delivery_id}@referral.test>" for delivery_id in expected_mails}
    repeats = len(calls) - len(set(calls)) + len(ids(box)) - len(set(ids(box)))
    assert repeats <= kills * 8  # at most the messages in flight when a scheduler died (8 lanes)



@pytest.mark.skipif(not PG_URL, reason="destinations are served at once on PostgreSQL (SQLite writes one at a time)")
def test_agencies_behind_one_host_share_its_bound(make_app, make_agency):
    app = make_app(REFERRAL_WEBHOOK_ALLOW_PRIVATE=True, REFERRAL_OUTBOX_PER_DESTINATION=2)
    gauge = Gauge()
    server, calls, url = receiver(pause=0.2, gauge=gauge)
    try:
        with app.app_context():
            for index in range(4):  # one integrator's endpoint for four agencies (before: 8 calls at once)
                queue(agency=make_agency(type="health", webhook_url=f"{url}/{index}"), count=3)
            assert outbox.deliver_outbox().sent == 12
        assert gauge.most == 2 and len(calls) == 12
    finally:
        server.shutdown()
        server.server_close()

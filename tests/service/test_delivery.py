"""E-mail over a real SMTP server on 127.0.0.1, and webhooks to a real local HTTP receiver."""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from referral.actors import Actor
from referral.cases import service as cases
from referral.designer import service as designer
from referral.extensions import db, utcnow
from referral.notifications.delivery import MAX_ATTEMPTS, deliver_outbox, retry, signature
from referral.notifications.models import Delivery
from referral.referrals import service as referrals

WORKFLOW = {
    "key": "mail", "name": "Mail",
    "stages": [
        {"key": "intake", "name": "Intake", "agency_type": "social", "start": True},
        {"key": "screening", "name": "Health screening", "agency_type": "health", "respond_within": "P1D"},
        {"key": "done", "name": "Done", "agency_type": "social", "terminal": True, "respond_within": "P1D"},
    ],
    "transitions": [{"from": "intake", "to": "screening"}, {"from": "screening", "to": "done"}],
}


class Receiver(BaseHTTPRequestHandler):
    calls: list
    status = 204

    def do_POST(self):  # noqa: N802 - http.server's handler name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_receiver():
    handler = type("Handler", (Receiver,), {"calls": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def scenario(make_app, make_agency, make_user, smtp_url=None, webhook_url=None, secret="s3cret"):
    # The receivers of these tests listen on 127.0.0.1, as on a closed network.
    app = make_app(REFERRAL_SMTP_URL=smtp_url, REFERRAL_MAIL_FROM="noreply@referral.test",
                   REFERRAL_WEBHOOK_ALLOW_PRIVATE=True)
    context = app.app_context()
    context.push()
    designer.save_draft(WORKFLOW, Actor.system_actor("test"))
    designer.publish("mail", Actor.system_actor("test"))
    social = make_agency(type="social")
    health = make_agency(type="health", webhook_url=webhook_url, webhook_secret=secret)
    sender = make_user(agency=social)
    receiver = make_user(agency=health, email="nurse@example.org", locale="ru")
    child = cases.ChildData(given_name="Madina", family_name="Secretova", sex="female", region="KZ-71",
                            estimated_age=8)
    case = cases.register_case("mail", "high", child, Actor.of(sender))
    referrals.refer(case.id, "screening", health.code, "Check-up", Actor.of(sender))
    db.session.commit()
    return app, context, case, receiver


def test_email_is_delivered_over_smtp_in_the_recipients_language_without_the_childs_name(
        make_app, make_agency, make_user, smtp_server):
    inbox, url = smtp_server
    app, context, case, receiver = scenario(make_app, make_agency, make_user, smtp_url=url)
    try:
        result = deliver_outbox()
        assert result.sent == 1
        assert len(inbox.messages) == 1
        message = inbox.messages[0]
        assert message["To"] == "nurse@example.org" and message["From"] == "noreply@referral.test"
        text = message["Subject"] + message.get_content()
        assert case.number in text
        assert "Madina" not in text and "Secretova" not in text
        assert "Случай" in text or "случай" in text.lower() or "Дело" in text  # Russian, the reader's language
        assert deliver_outbox().sent == 0  # sent once only
    finally:
        context.pop()


def test_webhook_is_signed_and_carries_no_personal_data(make_app, make_agency, make_user, http_receiver):
    handler, url = http_receiver
    app, context, case, _ = scenario(make_app, make_agency, make_user, webhook_url=url)
    try:
        assert deliver_outbox().sent == 1
        headers, body = handler.calls[0]
        assert headers["X-Referral-Signature"] == signature("s3cret", body)
        event = json.loads(body)
        assert event["event"] == "referral.requested" and event["case_number"] == case.number
        assert "Madina" not in body.decode() and "Secretova" not in body.decode()
    finally:
        context.pop()


def test_a_failing_receiver_is_retried_with_backoff_then_marked_failed_and_can_be_retried(
        make_app, make_agency, make_user, http_receiver):
    handler, url = http_receiver
    handler.status = 500
    app, context, case, _ = scenario(make_app, make_agency, make_user, webhook_url=url)
    try:
        now = utcnow()
        assert deliver_outbox(now=now).retried == 1
        delivery = db.session.scalar(sa.select(Delivery).where(Delivery.channel == "webhook"))
        assert delivery.attempts == 1 and delivery.status.value == "pending"
        # The first retry within the minute (30 s, stretched by up to a quarter at random).
        assert timedelta(seconds=30) <= delivery.next_attempt_at - now <= timedelta(seconds=37.5)
        assert deliver_outbox(now=now + timedelta(seconds=10)).retried == 0  # not due yet
        for _attempt in range(2, MAX_ATTEMPTS + 1):
            db.session.refresh(delivery)
            deliver_outbox(now=delivery.next_attempt_at)
        db.session.refresh(delivery)
        assert delivery.status.value == "failed" and delivery.attempts == MAX_ATTEMPTS
        assert "HTTP 500" in delivery.last_error
        assert len(handler.calls) == MAX_ATTEMPTS
        handler.status = 200
        retry(delivery.id, Actor.system_actor("test"))
        db.session.commit()
        assert deliver_outbox().sent == 1
    finally:
        context.pop()


def test_an_unreachable_smtp_server_is_retried_not_lost(make_app, make_agency, make_user):
    app, context, case, _ = scenario(make_app, make_agency, make_user, smtp_url="smtp://127.0.0.1:9")
    try:
        result = deliver_outbox()
        assert result.retried == 1 and result.sent == 0
        delivery = db.session.scalar(sa.select(Delivery))
        assert delivery.status.value == "pending" and "SMTP" in delivery.last_error
    finally:
        context.pop()


class Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_POST(self):  # noqa: N802 - http.server's handler name
        self.send_response(302)
        self.send_header("Location", type(self).target)
        self.end_headers()

    def log_message(self, *args):
        pass


def _first_webhook():
    return db.session.scalar(sa.select(Delivery).where(Delivery.channel == "webhook"))


def test_a_redirect_is_a_failure_never_followed(make_app, make_agency, make_user, http_receiver):
    handler, internal = http_receiver
    redirector = type("Handler", (Redirector,), {"target": internal})
    server = ThreadingHTTPServer(("127.0.0.1", 0), redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app, context, case, _ = scenario(make_app, make_agency, make_user,
                                         webhook_url=f"http://127.0.0.1:{server.server_port}/hook")
        deliver_outbox()
        delivery = _first_webhook()
        assert delivery.status.value == "pending" and delivery.last_error == "HTTP 302"
        assert handler.calls == []  # the internal port behind the redirect was never reached
    finally:
        server.shutdown()
        server.server_close()
        context.pop()


def test_delivery_refuses_a_private_address_even_if_it_was_accepted_once(make_app, make_agency, make_user,
                                                                        http_receiver):
    """A name may resolve to a public address at save and to loopback later: delivery checks again."""
    handler, url = http_receiver
    app, context, case, _ = scenario(make_app, make_agency, make_user, webhook_url=url)
    try:
        app.config["REFERRAL_WEBHOOK_ALLOW_PRIVATE"] = False
        deliver_outbox()
        delivery = _first_webhook()
        assert delivery.last_error == "the webhook URL does not resolve to a public address"
        assert handler.calls == []
    finally:
        context.pop()


def test_an_unreachable_receiver_gets_a_neutral_error(make_app, make_agency, make_user):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app, context, case, _ = scenario(make_app, make_agency, make_user, webhook_url=f"http://127.0.0.1:{closed_port}/")
    try:
        deliver_outbox()
        assert _first_webhook().last_error == "the receiver could not be reached"
    finally:
        context.pop()

"""Delivering the outbox: e-mail over SMTP and signed webhooks (Standard Webhooks 1.0), retried with exponential
backoff and jitter for at least a day."""

import base64
import hashlib
import hmac
import http.client
import json
import random
import smtplib
import ssl
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from agencies import Permission, Role

from .. import targets
from ..actors import Actor, require
from ..audit.service import record
from ..auth.models import User
from ..directory.models import Agency
from ..directory.service import SECRET_PREFIX
from ..errors import NotFound
from ..extensions import db, utcnow
from ..queues import lease_due
from .models import Channel, Delivery, DeliveryStatus, Notification
from .service import agency_params, notify_users

DELIVERER = Actor.system_actor("delivery")
#: First retry after this long (§16: within a minute, jitter included); each further one waits twice as long,
BACKOFF = timedelta(seconds=30)
#: ... but never longer than this between two attempts.
MAX_BACKOFF = timedelta(hours=8)
#: Each wait is stretched by up to this fraction at random, so that messages that failed together (a receiver
#: that was down) do not all come back at the same moment.
JITTER = 0.25
#: A message is tried for at least this long before it is given up and shown as failed to admins.
RETRY_SPAN = timedelta(hours=24)
LEASE = timedelta(minutes=2)
#: Seconds the SMTP server has to answer (a webhook's receiver has REFERRAL_WEBHOOK_TIMEOUT_SECONDS).
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Referral-Signature"


def _wait(attempts: int) -> timedelta:
    return min(BACKOFF * 2 ** min(attempts - 1, 32), MAX_BACKOFF)


def backoff(attempts: int, chance=random.random) -> timedelta:
    """Return how long to wait after a message's ``attempts``-th failed attempt: BACKOFF doubled each time up to
    MAX_BACKOFF, stretched by up to JITTER at random (never shortened, so the schedule spans RETRY_SPAN)."""
    return _wait(attempts) * (1 + JITTER * chance())


def _attempts_over(span: timedelta) -> int:
    """Return how many attempts the unstretched waits take to cover a span."""
    attempts, waited = 1, timedelta(0)
    while waited < span:
        waited += _wait(attempts)
        attempts += 1
    return attempts


#: Attempts before a delivery is given up: the last comes at least RETRY_SPAN after the first (13 for a day).
MAX_ATTEMPTS = _attempts_over(RETRY_SPAN)


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str) -> None:
        """Count one message as sent, retried or failed (lanes count from several threads)."""
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)


class DeliveryError(Exception):
    """A delivery that did not go through this time."""


class ReceiverGone(DeliveryError):
    """The webhook's receiver answered 410 Gone: it wants no more calls."""


def signature(secret: str, body: bytes) -> str:
    """Return the value of the signature header for a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signing_key(secret: str) -> bytes:
    """Return the HMAC key of a webhook secret: the bytes after ``whsec_`` (base64), or a typed secret's UTF-8."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX):])
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return one Standard Webhooks signature: ``v1,`` + base64 of HMAC-SHA256 of "id.timestamp.body"."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def send_email(smtp_url: str, sender: str, payload: dict, *, message_id: str | None = None) -> None:
    """Send one e-mail through the SMTP server named by a URL (smtp://, smtp+starttls://, smtps://).

    ``message_id`` is the same on every attempt of one message, so that a repeat can be recognised.
    """
    url = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(payload["body"])
    port = url.port or {"smtps": 465, "smtp+starttls": 587}.get(url.scheme, 25)
    try:
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(url.hostname, port, timeout=TIMEOUT_SECONDS,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(url.hostname, port, timeout=TIMEOUT_SECONDS)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP: {error}") from error


#: What an admin reads when a receiver cannot be reached: the same whatever the cause, so the error
#: cannot be used to learn which internal hosts and ports answer.
UNREACHABLE = "the receiver could not be reached"
REFUSED_TARGET = "the webhook URL does not resolve to a public address"


def send_webhook(url: str, secret: str | None, event: dict, *, allow_private: bool = False,
                 message_id: str | None = None, previous_secret: str | None = None,
                 timeout: float = 15, timestamp: int | None = None) -> None:
    """POST one JSON event with the Standard Webhooks headers (and ``X-Referral-Signature``, HMAC-SHA256 of the
    body); raise ReceiverGone on 410 and DeliveryError on any other answer than 2xx.

    ``webhook-signature`` holds one signature per secret: the current one's, and during a rotation's grace
    period also the ``previous_secret``'s, space-separated. Only public addresses are connected to (see
    ``referral.targets``) and redirects are never followed: a 3xx is a failure like any other non-2xx answer.
    """
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    # The message id is the same on every attempt, for the receiver to drop repeats by; the timestamp is this
    # attempt's, so that a receiver can refuse a captured call replayed later.
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(timestamp if timestamp is not None else utcnow().timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": "referral-engine",
               "X-Referral-Event": event.get("event", ""),
               "webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
        headers["webhook-signature"] = " ".join(
            standard_signature(key, message_id, timestamp, body) for key in (secret, previous_secret) if key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(REFUSED_TARGET)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    connection._create_connection = lambda address, timeout, source=None: targets.connect(
        address[0], address[1], timeout, allow_private)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    except targets.TargetRefused as error:
        raise DeliveryError(REFUSED_TARGET) from error
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(UNREACHABLE) from error
    finally:
        connection.close()
    if status == 410:
        raise ReceiverGone("HTTP 410")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def message_id(delivery: Delivery) -> str:
    """Return the key a receiver can drop a repeated message by: the same on every attempt of a delivery."""
    return f"msg_{delivery.id}"


def _send(delivery: Delivery, moment: datetime) -> None:
    config = current_app.config
    if delivery.channel is Channel.email:
        if not config.get("REFERRAL_SMTP_URL"):
            raise DeliveryError("REFERRAL_SMTP_URL is not set")
        send_email(config["REFERRAL_SMTP_URL"], config["REFERRAL_MAIL_FROM"], delivery.payload,
                   message_id=_email_message_id(delivery))
        return
    agency = delivery.agency
    if agency is None or not agency.webhook_url:
        raise DeliveryError("the agency has no webhook URL")
    until = agency.webhook_previous_secret_until
    previous = agency.webhook_previous_secret if until is not None and until > moment else None
    send_webhook(agency.webhook_url, agency.webhook_secret, delivery.payload,
                 allow_private=config["REFERRAL_WEBHOOK_ALLOW_PRIVATE"], message_id=message_id(delivery),
                 previous_secret=previous, timeout=config["REFERRAL_WEBHOOK_TIMEOUT_SECONDS"],
                 timestamp=int(moment.timestamp()))


def _email_message_id(delivery: Delivery) -> str:
    domain = (current_app.config["REFERRAL_MAIL_FROM"].rpartition("@")[2] or "referral.invalid").strip("<> ")
    return f"<{message_id(delivery)}@{domain}>"


def deliver_outbox(now: datetime | None = None, *, batch_size: int = 50, clock=utcnow) -> DeliveryResult:
    """Try every delivery that is due; back off after a failure, give up after MAX_ATTEMPTS.

    Each message is claimed, its attempt recorded and committed, then sent, then its result recorded and
    committed: a crash can repeat only the message in flight, and a receiver recognises the repeat by its
    key (the webhook's ``webhook-id``, the e-mail's ``Message-ID``). Destinations are served at once, at
    most ``REFERRAL_OUTBOX_PER_DESTINATION`` messages in parallel each, so a hanging endpoint delays only
    its own messages; after one failure a destination is left alone until the next round.
    """
    result = DeliveryResult()
    config = current_app.config
    lease = timedelta(seconds=config["REFERRAL_OUTBOX_LEASE_SECONDS"])
    due = Delivery.status == DeliveryStatus.pending
    while True:
        moment = now or clock()
        ids = lease_due(Delivery, sa.and_(due, Delivery.next_attempt_at <= moment),
                        (Delivery.next_attempt_at, Delivery.id), batch_size, moment, lease)
        if not ids:
            return result
        lanes = _lanes(ids, config["REFERRAL_OUTBOX_PER_DESTINATION"])
        if len(lanes) == 1 or db.session.get_bind().dialect.name != "postgresql":
            # SQLite writes one at a time anyway; a single lane needs no threads.
            for lane in lanes:
                _deliver_lane(lane, now, clock, result)
        else:
            app = current_app._get_current_object()
            with ThreadPoolExecutor(max_workers=min(len(lanes), config["REFERRAL_OUTBOX_WORKERS"])) as pool:
                for done in [pool.submit(_in_own_context, app, _deliver_lane, lane, now, clock, result)
                             for lane in lanes]:
                    done.result()


def _lanes(ids: list[int], per_destination: int) -> list[list[int]]:
    """Split leased deliveries into lanes: each destination's messages, in order, dealt over its lanes.

    A destination is the SMTP server, or the host a webhook goes to: agencies served by one integrator's
    endpoint share its bound, so a hanging host ties up at most ``per_destination`` senders.
    """
    destinations: dict[tuple, list[list[int]]] = {}
    rows = db.session.execute(sa.select(Delivery.id, Delivery.channel, Delivery.agency_id, Agency.webhook_url)
                              .outerjoin(Agency, Agency.id == Delivery.agency_id)
                              .where(Delivery.id.in_(ids))).all()
    where = {row.id: ("email",) if row.channel is Channel.email else _webhook_host(row.webhook_url, row.agency_id)
             for row in rows}
    db.session.commit()  # the lanes are sent from other connections; hold nothing here
    for index, delivery_id in enumerate(ids):
        lanes = destinations.setdefault(where[delivery_id], [[] for _ in range(per_destination)])
        lanes[index % per_destination].append(delivery_id)
    return [lane for lanes in destinations.values() for lane in lanes if lane]


def _webhook_host(url: str | None, agency_id: int | None) -> tuple:
    try:
        host = urlsplit(url or "").netloc.lower()
    except ValueError:
        host = ""
    return ("webhook", host) if host else ("webhook-agency", agency_id)


def _in_own_context(app, function, *args):
    with app.app_context():
        try:
            return function(*args)
        finally:
            db.session.remove()


def _deliver_lane(lane: list[int], now: datetime | None, clock, result: DeliveryResult) -> None:
    """Send a lane's messages one after another; after a failure, leave the rest for the next round."""
    for position, delivery_id in enumerate(lane):
        if _deliver_one(delivery_id, now, clock, result) is False:
            _release(lane[position + 1:])
            return


def _release(ids: list[int]) -> None:
    if ids:
        db.session.execute(sa.update(Delivery).where(Delivery.id.in_(ids)).values(lease_until=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def _deliver_one(delivery_id: int, now: datetime | None, clock, result: DeliveryResult) -> bool | None:
    """Claim, send and record one message; return whether it went out (None: nothing to send)."""
    delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
    if delivery is None or delivery.status is not DeliveryStatus.pending:
        return None
    delivery.attempts += 1
    db.session.commit()  # the attempt is on record before the message leaves
    try:
        # Signed with the wall clock: a receiver checks the timestamp against its own (``now`` only schedules).
        _send(delivery, clock())
    except DeliveryError as error:
        delivery.last_error = str(error)[:500]
        delivery.lease_until = None
        if isinstance(error, ReceiverGone):
            delivery.status = DeliveryStatus.failed
            _turn_off_webhook(delivery)
            result.count("failed")
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.failed
            result.count("failed")
        else:
            # Counted from this attempt, not from the start of the round.
            delivery.next_attempt_at = (now or clock()) + backoff(delivery.attempts)
            result.count("retried")
        db.session.commit()
        return False
    delivery.status = DeliveryStatus.sent
    delivery.sent_at = clock()
    delivery.last_error = None
    delivery.lease_until = None
    if delivery.channel is Channel.webhook and delivery.payload.get("case_id") is not None:
        # What reached another system is a disclosure of the case (its number and stage, never the child).
        record(DELIVERER, "case.webhook_sent", "case", delivery.payload["case_id"],
               {"agency": delivery.payload.get("agency"), "event": delivery.payload.get("event")})
    db.session.commit()
    result.count("sent")
    return True


#: What an admin reads on the messages a receiver's 410 Gone left unsent.
GONE = "the receiver answered 410 Gone: the webhook was turned off"


def _turn_off_webhook(delivery: Delivery) -> None:
    """Turn an agency's webhook off after its receiver answered 410 Gone, give up its other waiting calls and
    tell the agency's admins (every admin when it has none): the address is removed, an admin enters it again
    to turn the webhook back on."""
    agency = delivery.agency
    if agency is None or not agency.webhook_url:
        return
    url = agency.webhook_url
    delivery.last_error = GONE
    # Checks the address it removes: of two calls that got 410 at once, one turns the webhook off and tells.
    turned_off = db.session.execute(sa.update(Agency).where(Agency.id == agency.id, Agency.webhook_url == url)
                                    .values(webhook_url=None).execution_options(synchronize_session=False))
    db.session.expire(agency, ["webhook_url"])
    if turned_off.rowcount != 1:
        return
    db.session.execute(sa.update(Delivery).where(
        Delivery.agency_id == agency.id, Delivery.channel == Channel.webhook,
        Delivery.status == DeliveryStatus.pending, Delivery.id != delivery.id,
    ).values(status=DeliveryStatus.failed, last_error=GONE, lease_until=None).execution_options(
        synchronize_session=False))
    record(DELIVERER, "agency.webhook_gone", "agency", agency.id, {"code": agency.code, "url": url})
    admins = sa.select(User.id).where(User.role == Role.admin, User.is_active_account.is_(True)).order_by(User.id)
    recipients = list(db.session.scalars(admins.where(User.agency_id == agency.id))) or list(
        db.session.scalars(admins))
    notify_users(recipients, "webhook.gone", {**agency_params(agency), "url": url},
                 dedupe=f"webhook-gone:{delivery.id}")


def retry(delivery_id: int, actor, now: datetime | None = None) -> Delivery:
    """Put a failed delivery back in the queue for another round of attempts; raise NotFound."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status is not DeliveryStatus.failed:
        raise NotFound(_l("No such failed delivery."))
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    record(actor, "delivery.retry", "delivery", delivery.id, {"channel": delivery.channel.value})
    return delivery


def troubled_deliveries(actor) -> sa.Select:
    """Return a select of failed deliveries and of pending ones that failed once, newest first; raise Forbidden."""
    require(actor, Permission.manage_agencies)
    return (sa.select(Delivery).options(joinedload(Delivery.user), joinedload(Delivery.agency))
            .where(sa.or_(Delivery.status == DeliveryStatus.failed,
                          sa.and_(Delivery.status == DeliveryStatus.pending, Delivery.last_error.is_not(None))))
            .order_by(sa.case((Delivery.status == DeliveryStatus.failed, 0), else_=1),
                      Delivery.created_at.desc(), Delivery.id.desc()))


def events_of(deliveries: list[Delivery]) -> dict[int, tuple[str, str | None]]:
    """Return, by delivery id, the event type and case number it is about; no message text, no address book."""
    email_notes = {}
    for delivery in deliveries:
        key = delivery.dedupe_key or ""
        if delivery.channel is Channel.email and key.startswith("email:") and key[6:].isdigit():
            email_notes[delivery.id] = int(key[6:])
    notes = {note.id: note for note in db.session.scalars(
        sa.select(Notification).where(Notification.id.in_(set(email_notes.values()))))} if email_notes else {}
    about = {}
    for delivery in deliveries:
        if delivery.channel is Channel.webhook:
            about[delivery.id] = (delivery.payload.get("event", ""), delivery.payload.get("case_number"))
            continue
        note = notes.get(email_notes.get(delivery.id))
        about[delivery.id] = (note.kind, (note.params or {}).get("case")) if note is not None else ("", None)
    return about

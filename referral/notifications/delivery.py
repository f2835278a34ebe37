"""Delivering the outbox: e-mail over SMTP and signed webhooks, retried with exponential backoff."""

import hashlib
import hmac
import http.client
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from .. import targets
from ..audit.service import record
from ..errors import NotFound
from ..extensions import db, utcnow
from ..queues import claim_due
from .models import Channel, Delivery, DeliveryStatus

#: Attempts before a delivery is given up and shown as failed to admins.
MAX_ATTEMPTS = 6
#: First retry after this long; each further one waits twice as long.
BACKOFF = timedelta(seconds=30)
LEASE = timedelta(minutes=2)
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Referral-Signature"


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class DeliveryError(Exception):
    """A delivery that did not go through this time."""


def signature(secret: str, body: bytes) -> str:
    """Return the value of the signature header for a webhook body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_email(smtp_url: str, sender: str, payload: dict) -> None:
    """Send one e-mail through the SMTP server named by a URL (smtp://, smtp+starttls://, smtps://)."""
    url = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
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


def send_webhook(url: str, secret: str | None, event: dict, *, allow_private: bool = False) -> None:
    """POST one JSON event, signed with HMAC-SHA256 of the body; raise DeliveryError unless 2xx.

    Only public addresses are connected to (see ``referral.targets``) and redirects are never
    followed: a 3xx is a failure like any other non-2xx answer.
    """
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "referral-engine",
               "X-Referral-Event": event.get("event", "")}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(REFUSED_TARGET)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
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
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def _claim(now: datetime, batch_size: int) -> list[Delivery]:
    due = sa.and_(Delivery.status == DeliveryStatus.pending, Delivery.next_attempt_at <= now)
    return claim_due(Delivery, due, (Delivery.next_attempt_at, Delivery.id), batch_size, now, LEASE)


def _send(delivery: Delivery) -> None:
    config = current_app.config
    if delivery.channel is Channel.email:
        if not config.get("REFERRAL_SMTP_URL"):
            raise DeliveryError("REFERRAL_SMTP_URL is not set")
        send_email(config["REFERRAL_SMTP_URL"], config["REFERRAL_MAIL_FROM"], delivery.payload)
        return
    agency = delivery.agency
    if agency is None or not agency.webhook_url:
        raise DeliveryError("the agency has no webhook URL")
    send_webhook(agency.webhook_url, agency.webhook_secret, delivery.payload,
                 allow_private=config["REFERRAL_WEBHOOK_ALLOW_PRIVATE"])


def deliver_outbox(now: datetime | None = None, *, batch_size: int = 50, clock=utcnow) -> DeliveryResult:
    """Try every delivery that is due; back off after a failure, give up after MAX_ATTEMPTS."""
    result = DeliveryResult()
    while True:
        moment = now or clock()
        batch = _claim(moment, batch_size)
        if not batch:
            return result
        for delivery in batch:
            delivery.attempts += 1
            delivery.lease_until = None
            try:
                _send(delivery)
            except DeliveryError as error:
                delivery.last_error = str(error)[:500]
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.status = DeliveryStatus.failed
                    result.failed += 1
                else:
                    delivery.next_attempt_at = moment + BACKOFF * 2 ** (delivery.attempts - 1)
                    result.retried += 1
            else:
                delivery.status = DeliveryStatus.sent
                delivery.sent_at = clock()
                delivery.last_error = None
                result.sent += 1
        db.session.commit()


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

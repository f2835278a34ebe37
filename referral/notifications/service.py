"""Writing and reading in-app notifications; messages name the case number, never the child."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext

from workflows import N_, TRANSLATED_LANGUAGES, Stage

from ..actors import Actor
from ..audit.models import AuditEntry
from ..audit.service import record
from ..auth.models import User
from ..bulk import insert_rows, on_postgresql, recordset
from ..directory.models import NAME_LANGUAGES, Agency
from ..extensions import db, dialect_insert, utcnow
from ..i18n import reading_language, show_date, show_moment
from .models import Channel, Delivery, DeliveryStatus, Notification

#: Message templates by kind. Parameters: case (number), stage (name; ``stage_ru``, ``stage_kk`` where the
#: workflow translates it), agency (name; ``agency_ru``, ``agency_kk`` where the directory translates it), reason.
TEMPLATES = {
    "referral.requested": N_("Case %(case)s: %(agency)s asks your agency to take on “%(stage)s”."),
    "referral.accepted": N_("Case %(case)s: %(agency)s accepted your referral to “%(stage)s”."),
    "referral.rejected": N_("Case %(case)s: %(agency)s rejected your referral to “%(stage)s”; refer it elsewhere."),
    "referral.started": N_("Case %(case)s: %(agency)s started work on “%(stage)s”."),
    "referral.resumed": N_("Case %(case)s: %(agency)s resumed work on “%(stage)s”."),
    "referral.held": N_("Case %(case)s: %(agency)s put “%(stage)s” on hold."),
    "referral.completed": N_("Case %(case)s: %(agency)s completed “%(stage)s”."),
    "referral.failed": N_("Case %(case)s: %(agency)s could not complete “%(stage)s”."),
    "referral.cancelled": N_("Case %(case)s: the referral to “%(stage)s” was cancelled."),
    "referral.handed_over": N_("Case %(case)s: “%(stage)s” was handed over to %(agency)s."),
    "case.closed": N_("Case %(case)s was closed."),
    "workflow.migrated": N_("Case %(case)s now follows version %(version)s of its workflow; the stages and "
                            "deadlines of your referral may have changed."),
    "consent.withdrawn": N_("Case %(case)s: a consent to share the case was withdrawn. Your agency keeps its "
                            "referral to “%(stage)s”; share only what the remaining consents cover."),
    "case.inquiry": N_("Case %(case)s: %(agency)s is registering a child who may be the one in this case and asks "
                       "your agency to get in touch before a second file is opened."),
    "referral.assigned": N_("Case %(case)s: “%(stage)s” was assigned to you."),
    "referral.message": N_("Case %(case)s: %(agency)s wrote to you about “%(stage)s”; read it on the referral."),
    "referral.no_response": N_(
        "Case %(case)s: %(agency)s did not answer your referral to “%(stage)s” in time; it was cancelled. "
        "Refer the case to another agency."),
    "deadline.reminder": N_("Case %(case)s: “%(stage)s” — the %(deadline)s deadline is at %(due)s."),
    "deadline.missed": N_("Case %(case)s: %(agency)s missed the %(deadline)s deadline for “%(stage)s” (%(due)s)."),
    "deadline.review_due": N_("Case %(case)s: the periodic review of “%(stage)s” is due."),
    "webhook.gone": N_("The webhook of %(agency)s answered 410 Gone, so it was turned off: no more events go to "
                       "%(url)s. Enter the address again on the agency's page to turn it back on."),
    "calendar.deadlines_moved": N_("Case %(case)s: %(change)s in the working calendar, so your agency's "
                                   "deadlines moved (%(count)s): %(moves)s."),
    "digest": N_("Your open work: %(requested)s referrals waiting for an answer, %(active)s in progress, "
                 "%(overdue)s overdue."),
}


NOTIFIER = Actor.system_actor("notifications")


def stage_params(stage: Stage) -> dict:
    """Return a message's stage parameters: its key, its English name and the names the workflow translates."""
    params = {"stage": stage.name, "stage_key": stage.key}
    for language in TRANSLATED_LANGUAGES:
        name = stage.name_in(language)
        if name != stage.name:
            params[f"stage_{language}"] = name
    return params


def agency_params(agency: Agency | None) -> dict:
    """Return a message's agency parameters: its code, its own name and the names the directory translates."""
    if agency is None:
        return {"agency": ""}
    params = {"agency": agency.name, "agency_code": agency.code}
    for language in NAME_LANGUAGES:
        name = agency.name_in(language)
        if name != agency.name:
            params[f"agency_{language}"] = name
    return params


def _insert_ignoring_duplicates(table, rows: list[dict], returning: bool = True) -> list[int]:
    """Insert rows, skipping any whose dedupe_key exists; return the ids of the rows written (if asked)."""
    if not rows:
        return []
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # The rows name cases, referrals and users by id, so those are written already: what waits for the
    # session's flush (timeline, audit) is written with the rest of the act, not before this insert.
    with db.session.no_autoflush:
        if not returning:
            db.session.execute(statement, rows)
            return []
        statement = statement.returning(table.c.id)
        # Executed with a list of rows, SQLAlchemy batches them into few statements and caches the SQL.
        return [row_id for row_id in db.session.scalars(statement, rows) if row_id is not None]


DEADLINE_LABELS = {"respond": N_("response"), "complete": N_("completion"), "review": N_("review")}

#: What a change of the working calendar did to a day (``calendar.deadlines_moved``).
CALENDAR_CHANGES = {"day_off": N_("%(day)s became a day off"), "working_day": N_("%(day)s became a working day"),
                    "removed": N_("the override of %(day)s was removed")}


class NotificationBatch:
    """Notifications gathered while the scheduler works through a batch, written in one statement."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        #: Audit rows of what the notifications disclosed (``case.notified``), written with them.
        self.disclosures: list[dict] = []
        #: Webhook calls to queue (outbox rows), written after the notifications.
        self.webhooks: list[dict] = []
        #: Messages to every active user of an agency but one: on PostgreSQL the INSERT joins them to the
        #: users (``_fan_out``), so that a reminder to an agency of five travels as one row, not five.
        self.to_agencies: list[dict] = []
        self._agency_users: dict[int, list[int]] = {}

    def agency_users(self, agency_id: int) -> list[int]:
        """Return the active users of an agency, looked up once per batch."""
        if agency_id not in self._agency_users:
            self._agency_users[agency_id] = _active_users(agency_id)
        return self._agency_users[agency_id]

    def to_agency(self, agency_id: int, exclude_user_id: int | None, kind: str, params: dict,
                  case_id: int | None, referral_id: int | None, dedupe: str | None) -> None:
        """Gather a message to every active user of an agency but ``exclude_user_id``."""
        self.to_agencies.append({"position": len(self.to_agencies), "agency_id": agency_id,
                                 "exclude_user_id": exclude_user_id, "kind": kind, "params": dict(params),
                                 "case_id": case_id, "referral_id": referral_id, "created_at": utcnow(),
                                 "dedupe": dedupe})

    def write(self) -> None:
        """Insert what was gathered (skipping duplicates) and queue the e-mails, a statement per table."""
        rows, self.rows = self.rows, []
        to_agencies, self.to_agencies = self.to_agencies, []
        if on_postgresql():
            _with_emails(_fan_out(to_agencies, returning=bool(current_app.config.get("REFERRAL_SMTP_URL"))))
        else:
            for message in to_agencies:
                readers = [user_id for user_id in self.agency_users(message["agency_id"])
                           if user_id != message["exclude_user_id"]]
                rows += _rows(readers, message["kind"], message["params"], message["case_id"],
                              message["referral_id"], message["dedupe"], message["created_at"])
        if current_app.config.get("REFERRAL_SMTP_URL"):
            _write(rows, need_ids=False)  # the e-mails need the notifications' ids
        else:
            insert_rows(Notification.__table__, rows, skip_duplicates_of="dedupe_key")
        disclosures, self.disclosures = self.disclosures, []
        insert_rows(AuditEntry.__table__, disclosures)
        webhooks, self.webhooks = self.webhooks, []
        insert_rows(Delivery.__table__, webhooks, skip_duplicates_of="dedupe_key")


_FAN_OUT_TYPES = {"position": sa.Integer(), "agency_id": sa.Integer(), "exclude_user_id": sa.Integer(),
                  "kind": Notification.__table__.c.kind.type, "params": Notification.__table__.c.params.type,
                  "case_id": sa.Integer(), "referral_id": sa.Integer(),
                  "created_at": Notification.__table__.c.created_at.type, "dedupe": sa.Text()}


def _fan_out(messages: list[dict], returning: bool) -> list[int]:
    """Write each message to every active user of its agency but the one left out, in one INSERT … SELECT
    that joins the users (PostgreSQL); skip those whose dedupe key (the message's, then the user's id) exists.

    Return the new notifications' ids if ``returning`` (e-mail copies need them), else an empty list.
    """
    if not messages:
        return []
    table = Notification.__table__
    source = recordset(_FAN_OUT_TYPES, messages, name="messages")
    dedupe_key = sa.case((source.c.dedupe.is_(None), sa.null()),
                         else_=source.c.dedupe.concat(":").concat(sa.cast(User.id, sa.Text)))
    chosen = (sa.select(User.id, source.c.kind, source.c.params, source.c.case_id, source.c.referral_id,
                        source.c.created_at, dedupe_key)
              .select_from(source).join(User, User.agency_id == source.c.agency_id)
              .where(User.is_active_account.is_(True),
                     sa.or_(source.c.exclude_user_id.is_(None), User.id != source.c.exclude_user_id))
              .order_by(source.c.position, User.id))
    statement = dialect_insert(table).from_select(
        ["user_id", "kind", "params", "case_id", "referral_id", "created_at", "dedupe_key"], chosen,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    if not returning:
        db.session.execute(statement)
        return []
    return list(db.session.scalars(statement.returning(table.c.id)))


def _write(rows: list[dict], need_ids: bool = True) -> list[int]:
    if not need_ids and not current_app.config.get("REFERRAL_SMTP_URL"):
        # No e-mail to queue and no caller wanting ids: the cheaper plain executemany will do.
        _insert_ignoring_duplicates(Notification.__table__, rows, returning=False)
        return []
    return _with_emails(_insert_ignoring_duplicates(Notification.__table__, rows))


def _with_emails(ids: list[int]) -> list[int]:
    """Queue the e-mail copies of new notifications if e-mail is configured; return their ids."""
    if ids and current_app.config.get("REFERRAL_SMTP_URL"):
        queue_emails(ids, utcnow())
    return ids


def _active_users_of(agency_id: int, *columns) -> sa.Select:
    """Return a select of ``columns`` (the id if none) over an agency's active users, by id."""
    return sa.select(*(columns or (User.id,))).where(User.agency_id == agency_id, User.is_active_account.is_(True)) \
        .order_by(User.id)


def _reading_users(statement):
    """Execute a statement that reads the users, flushing first only if this transaction changed a user.

    Without user changes, the timeline and audit rows waiting for the flush need not be written for this
    read, and go in one flush with the rest of the act.
    """
    if any(isinstance(held, User) for held in (*db.session.new, *db.session.dirty)):
        return db.session.execute(statement)
    with db.session.no_autoflush:
        return db.session.execute(statement)


def _active_users(agency_id: int) -> list[int]:
    return list(_reading_users(_active_users_of(agency_id)).scalars())


def _notify_active_users(agency_id: int, exclude_user_id: int | None, kind: str, params: dict,
                         case_id: int | None, referral_id: int | None) -> tuple[list[int], list[int]]:
    """Notify each active user of an agency but one in one INSERT … SELECT; return the users and the new ids.

    Without a dedupe key nothing is skipped, so the rows written are one per recipient; e-mail copies are
    queued as ``notify_users`` queues them.
    """
    table = Notification.__table__
    chosen = _active_users_of(
        agency_id, User.id, sa.literal(kind, table.c.kind.type), sa.literal(dict(params), table.c.params.type),
        sa.literal(case_id, table.c.case_id.type), sa.literal(referral_id, table.c.referral_id.type),
        sa.literal(utcnow(), table.c.created_at.type))
    if exclude_user_id is not None:
        chosen = chosen.where(User.id != exclude_user_id)
    statement = sa.insert(table).from_select(
        ["user_id", "kind", "params", "case_id", "referral_id", "created_at"], chosen,
    ).returning(table.c.user_id, table.c.id)
    written = sorted(_reading_users(statement).all())
    return [user_id for user_id, _ in written], _with_emails([row_id for _, row_id in written])


def notify_users(user_ids, kind: str, params: dict, *, case_id: int | None = None,
                 referral_id: int | None = None, dedupe: str | None = None,
                 batch: NotificationBatch | None = None, want_ids: bool = True) -> list[int]:
    """Write a notification for each user, and queue its e-mail copy; return the new notification ids.

    With ``dedupe``, a user who already has a notification with this key gets
    nothing new: the scheduler may run a sweep twice, the user hears once.
    With ``batch``, the rows wait in the batch until it is written. With
    ``want_ids=False`` the ids are not read back unless e-mail needs them (an
    empty list is returned): the insert has no RETURNING.
    """
    if kind not in TEMPLATES:
        raise KeyError(kind)
    rows = _rows(user_ids, kind, params, case_id, referral_id, dedupe, utcnow())
    if batch is not None:
        batch.rows.extend(rows)
        return []
    ids = _write(rows, need_ids=want_ids)
    return ids if want_ids else []


def _rows(user_ids, kind: str, params: dict, case_id: int | None, referral_id: int | None, dedupe: str | None,
          now: datetime) -> list[dict]:
    """Return a notification row for each user (once each); with ``dedupe``, keyed by it and the user's id."""
    return [{"user_id": user_id, "kind": kind, "params": dict(params), "case_id": case_id,
             "referral_id": referral_id, "created_at": now,
             "dedupe_key": f"{dedupe}:{user_id}" if dedupe else None}
            for user_id in dict.fromkeys(user_ids)]


def notify_agency(agency_id: int, kind: str, params: dict, *, case_id: int | None = None,
                  referral_id: int | None = None, exclude_user_id: int | None = None,
                  dedupe: str | None = None, batch: NotificationBatch | None = None,
                  want_ids: bool = False) -> list[int]:
    """Notify each active user of an agency (but the one who acted), and call the agency's webhook.

    Return the new notification ids if ``want_ids`` (else an empty list: see ``notify_users``).
    """
    if kind not in TEMPLATES:
        raise KeyError(kind)
    if batch is None and dedupe is None:
        recipients, ids = _notify_active_users(agency_id, exclude_user_id, kind, params, case_id, referral_id)
        ids = ids if want_ids else []
    elif batch is not None:
        recipients = [user_id for user_id in batch.agency_users(agency_id) if user_id != exclude_user_id]
        if recipients:
            batch.to_agency(agency_id, exclude_user_id, kind, params, case_id, referral_id, dedupe)
        ids = []
    else:
        recipients = [user_id for user_id in _active_users(agency_id) if user_id != exclude_user_id]
        ids = notify_users(recipients, kind, params, case_id=case_id, referral_id=referral_id, dedupe=dedupe,
                           want_ids=want_ids)
    agency = db.session.get(Agency, agency_id)
    if agency is not None and agency.webhook_url:
        queue_webhook(agency, kind, params, case_id=case_id, referral_id=referral_id,
                      dedupe=f"{dedupe}:agency" if dedupe else None, batch=batch)
    if agency is not None and case_id is not None and recipients:
        _disclosed(agency, kind, case_id, batch)
    return ids


def _disclosed(agency: Agency, kind: str, case_id: int, batch: NotificationBatch | None) -> None:
    """Audit that an agency was told about a case: the disclosures list of the case shows it."""
    detail = {"agency": agency.code, "kind": kind}
    if batch is None:
        record(NOTIFIER, "case.notified", "case", case_id, detail)
        return
    batch.disclosures.append({"occurred_at": utcnow(), "actor_user_id": None, "actor_label": NOTIFIER.label,
                              "action": "case.notified", "object_type": "case", "object_id": str(case_id),
                              "remote_addr": None, "detail": detail})


def email_link(notification: Notification, base_url: str) -> tuple[str, str]:
    """Return where an e-mail leads and the line that says so: a referral's page with its accept and reject
    forms (sign-in first), else the case, else the home page."""
    if notification.referral_id is not None:
        return f"{base_url}/inbox/{notification.referral_id}", N_("Answer or open the referral: %(link)s")
    if notification.case_id is not None:
        return f"{base_url}/cases/{notification.case_id}", N_("Open: %(link)s")
    return base_url, N_("Open: %(link)s")


def queue_emails(notification_ids: list[int], now) -> None:
    """Queue an e-mail copy of each notification whose reader wants e-mail, in the reader's language."""
    rows = []
    base_url = current_app.config["REFERRAL_BASE_URL"].rstrip("/")
    for notification, user in db.session.execute(
        sa.select(Notification, User).join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(notification_ids), User.wants_email.is_(True), User.is_active_account.is_(True))
    ):
        with force_locale(user.locale or "en"):
            text = render(notification)
            subject = gettext("Referral engine: %(text)s") % {"text": text}
            link, action = email_link(notification, base_url)
            body = "\n\n".join([text, gettext(action) % {"link": link},
                                 gettext("You receive this because e-mail notifications are on in your profile.")])
        rows.append({"channel": Channel.email.value, "status": DeliveryStatus.pending.value, "user_id": user.id,
                     "payload": {"to": user.email, "subject": subject[:200], "body": body},
                     "dedupe_key": f"email:{notification.id}", "attempts": 0, "next_attempt_at": now,
                     "created_at": now})
    _insert_ignoring_duplicates(Delivery.__table__, rows)


def queue_webhook(agency: Agency, kind: str, params: dict, *, case_id: int | None, referral_id: int | None,
                  dedupe: str | None = None, now=None, batch: NotificationBatch | None = None) -> None:
    """Queue one signed JSON event to an agency's webhook: codes and numbers, never a child's name.

    With ``batch``, the outbox row waits in the batch until it is written.
    """
    now = now or utcnow()
    event = {"id": uuid.uuid4().hex, "event": kind, "occurred_at": now.isoformat(), "agency": agency.code,
             "case_id": case_id, "case_number": params.get("case"), "referral_id": referral_id,
             "stage": params.get("stage_key"), "deadline_kind": params.get("deadline_kind"),
             "due_at": params.get("due_at")}
    row = {"channel": Channel.webhook.value, "status": DeliveryStatus.pending.value, "agency_id": agency.id,
           "payload": event, "dedupe_key": dedupe and f"webhook:{dedupe}", "attempts": 0, "next_attempt_at": now,
           "created_at": now}
    if batch is not None:
        batch.webhooks.append(row)
        return
    _insert_ignoring_duplicates(Delivery.__table__, [row])


def render(notification: Notification) -> str:
    """Return a notification's text in the reader's language."""
    template = TEMPLATES.get(notification.kind)
    if template is None:
        return notification.kind
    params = {"case": "", "stage": "", "agency": "", "due": "", **(notification.params or {})}
    # Written in the languages the workflow and the directory had then; a language they lacked reads the name.
    for name in ("stage", "agency"):
        translated = params.get(f"{name}_{reading_language()}")
        if isinstance(translated, str) and translated.strip():
            params[name] = translated
    if "deadline_kind" in params:
        params["deadline"] = gettext(DEADLINE_LABELS.get(params["deadline_kind"], params["deadline_kind"]))
    if params.get("due_at"):
        params["due"] = show_moment(datetime.fromisoformat(params["due_at"]))
    if params.get("change") in CALENDAR_CHANGES:
        params["change"] = gettext(CALENDAR_CHANGES[params["change"]]) % {
            "day": show_date(date.fromisoformat(params["day"]))}
    if isinstance(params.get("moves"), list):
        params["moves"] = "; ".join(_moved(move) for move in params["moves"])
    return gettext(template) % params


def _moved(move: dict) -> str:
    kind = move.get("deadline_kind", "")
    return gettext("%(deadline)s to %(due)s") % {"deadline": gettext(DEADLINE_LABELS.get(kind, kind)),
                                                  "due": show_moment(datetime.fromisoformat(move["due_at"]))}


def notifications_query(user_id: int, *, unread_only: bool = False) -> sa.Select:
    """Return a select of a user's notifications, newest first."""
    statement = sa.select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(user_id: int) -> int:
    """Return how many notifications a user has not read."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def mark_read(user_id: int, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's notifications as read; return how many changed."""
    statement = (sa.update(Notification)
                 .where(Notification.user_id == user_id, Notification.read_at.is_(None))
                 .values(read_at=utcnow()))
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    return db.session.execute(statement).rowcount

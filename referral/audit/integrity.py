"""Tamper evidence for the audit log (DESIGN §13): seals chaining each entry to those before it, and their check.

Writing an entry stays a plain INSERT, so audited reads on many web workers never wait for one another.
The scheduler seals the entries afterwards, in id order and in batches: each seal is the SHA-256 of the
previous seal and the entry's canonical form, kept in ``audit_seals`` beside the entry, which is never
updated. Only the sealer takes a lock, so two schedulers never seal an entry twice nor skip one.

An id is drawn from the sequence when the entry is inserted, but it is seen only when its transaction
commits, so a lower id may appear after a higher one. The sealer therefore leaves the newest entries for a
lag, and on PostgreSQL also every entry newer than the start of the oldest transaction still writing (a
retention run, a slow request): all that could still appear lies beyond what it seals. The lag covers the
moment between an entry's time being taken by the worker and its id being drawn, and clocks of workers and
database apart by less than it. An unsealed entry below the sealed head can only have been inserted
afterwards, back-dated, and ``verify_chain`` reports it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db, utcnow
from .models import AuditEntry, AuditSeal

#: The "previous hash" of the first entry.
CHAIN_START = "0" * 64
#: The key of the PostgreSQL advisory lock the sealer holds for its transaction ("audi").
SEALER_LOCK = 0x61756469

_entries = AuditEntry.__table__
_seals = AuditSeal.__table__


def canonical(entry) -> bytes:
    """Return the bytes a seal covers: every column of an entry (a row or a model), as sorted, compact JSON."""
    form = {
        "id": entry.id,
        "at": entry.occurred_at.isoformat(timespec="microseconds"),
        "actor_user_id": entry.actor_user_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "remote_addr": entry.remote_addr,
        "detail": entry.detail,
    }
    return json.dumps(form, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(previous: str, entry) -> str:
    """Return the seal of an entry that follows the seal ``previous`` (hex SHA-256)."""
    return hashlib.sha256(previous.encode() + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Head:
    """The last sealed entry and its seal (``entry_id`` None and CHAIN_START while nothing is sealed)."""

    entry_id: int | None
    hash: str


@dataclass(frozen=True)
class SealRun:
    """What a sealing run did: how many entries it sealed, and the head it left."""

    sealed: int
    head: Head

    def __str__(self) -> str:
        return f"sealed {self.sealed}, head entry {self.head.entry_id} hash {self.head.hash}"


def chain_head() -> Head:
    """Return the last seal of the chain."""
    row = db.session.execute(sa.select(_seals.c.entry_id, _seals.c.hash).order_by(_seals.c.entry_id.desc())
                             .limit(1)).first()
    return Head(None, CHAIN_START) if row is None else Head(row.entry_id, row.hash)


def _lock_sealer() -> None:
    """Wait until no other sealer works, for the rest of the transaction; audit writers are never waited for."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(SEALER_LOCK)))
    else:
        # SQLite lets one writer at a time: a write that changes nothing takes that lock before the head is read.
        db.session.execute(sa.update(_seals).where(sa.false()).values(hash=_seals.c.hash))


def _horizon(now: datetime, lag: timedelta) -> datetime:
    """Return the time before which every entry that will ever have a lower id than the next one is visible."""
    latest = now
    if db.session.get_bind().dialect.name == "postgresql":
        # A transaction holds an entry's id from its INSERT on, and has a transaction id from then: those
        # still open began before any entry they hold was written.
        oldest = db.session.scalar(sa.text(
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"))
        if oldest is not None:
            latest = min(latest, oldest)
    return latest - lag


def seal_batch(*, lag: timedelta, batch_size: int, now: datetime | None = None) -> SealRun:
    """Seal up to ``batch_size`` entries after the head, in id order, that are older than the horizon; flush.

    Stops at the first entry too new, so that the chain never passes an id whose neighbours may still appear.
    """
    now = now or utcnow()
    _lock_sealer()
    head = chain_head()
    cutoff = _horizon(now, lag)
    after = head.entry_id if head.entry_id is not None else 0
    rows = db.session.execute(sa.select(_entries).where(_entries.c.id > after).order_by(_entries.c.id)
                              .limit(batch_size)).all()
    previous, seals = head.hash, []
    for row in rows:
        if row.occurred_at >= cutoff:
            break
        previous = entry_hash(previous, row)
        seals.append({"entry_id": row.id, "hash": previous, "sealed_at": now})
    if not seals:
        return SealRun(0, head)
    db.session.execute(sa.insert(AuditSeal), seals)
    return SealRun(len(seals), Head(seals[-1]["entry_id"], previous))


def seal(*, lag: timedelta, batch_size: int, now: datetime | None = None) -> SealRun:
    """Seal every entry older than the horizon, each batch in a transaction of its own; return the total."""
    sealed = 0
    while True:
        run = seal_batch(lag=lag, batch_size=batch_size, now=now)
        db.session.commit()
        sealed += run.sealed
        if run.sealed < batch_size:
            return SealRun(sealed, run.head)


@dataclass(frozen=True)
class Break:
    """The first entry at which the chain does not hold, and why."""

    entry_id: int
    #: ``changed``: the entry does not match its seal (it, or its seal, was changed, or an entry before it
    #: removed); ``deleted``: a seal whose entry is gone; ``inserted``: an unsealed entry below the head;
    #: ``anchor``: the anchored seal is not the one the chain holds.
    reason: str

    def __str__(self) -> str:
        return {
            "changed": f"entry {self.entry_id} does not match its seal: it was changed, or an entry before it "
                       "was removed",
            "deleted": f"entry {self.entry_id} was sealed and is gone",
            "inserted": f"entry {self.entry_id} is below the sealed head but unsealed: it was inserted afterwards",
            "anchor": f"entry {self.entry_id} does not carry the anchored hash: the chain was rewritten",
        }[self.reason]


@dataclass(frozen=True)
class Verification:
    """What verify_chain found: entries checked, the head, the entries not sealed yet, the first break."""

    checked: int
    head: Head
    unsealed: int
    broken: Break | None


def verify_chain(*, anchor: Head | None = None, batch_size: int = 5000) -> Verification:
    """Recompute every seal in id order; return the first break (by entry id), or None if the chain holds.

    With an ``anchor`` (a head logged earlier and kept elsewhere), also check that the chain still passes it.
    """
    checked, previous, last_id = 0, CHAIN_START, 0
    broken: Break | None = None
    anchored = anchor is None
    statement = (sa.select(_seals.c.entry_id.label("sealed_id"), _seals.c.hash.label("seal"), *_entries.c)
                 .select_from(_seals.outerjoin(_entries, _entries.c.id == _seals.c.entry_id))
                 .order_by(_seals.c.entry_id).limit(batch_size))
    while broken is None:
        rows = db.session.execute(statement.where(_seals.c.entry_id > last_id)).all()
        for row in rows:
            if row.id is None:
                broken = Break(row.sealed_id, "deleted")
            elif entry_hash(previous, row) != row.seal:
                broken = Break(row.sealed_id, "changed")
            elif anchor is not None and row.sealed_id == anchor.entry_id and row.seal != anchor.hash:
                broken = Break(row.sealed_id, "anchor")
            if broken is not None:
                break
            anchored = anchored or row.sealed_id == anchor.entry_id
            previous, last_id, checked = row.seal, row.sealed_id, checked + 1
        if len(rows) < batch_size:
            break
    head = chain_head()
    top = head.entry_id or 0
    unsealed_below = _entries.outerjoin(_seals, _seals.c.entry_id == _entries.c.id)
    inserted = db.session.scalar(
        sa.select(sa.func.min(_entries.c.id)).select_from(unsealed_below)
        .where(_seals.c.entry_id.is_(None), _entries.c.id < top))
    if inserted is not None and (broken is None or inserted < broken.entry_id):
        broken = Break(inserted, "inserted")
    if broken is None and not anchored:
        broken = Break(anchor.entry_id, "anchor")
    unsealed = db.session.scalar(sa.select(sa.func.count()).select_from(_entries).where(_entries.c.id > top))
    return Verification(checked=checked, head=head, unsealed=unsealed, broken=broken)


@dataclass(frozen=True)
class Anchor:
    """What to keep outside the database: how many entries are sealed, and the head they end in."""

    sealed: int
    head: Head
    unsealed: int

    def __str__(self) -> str:
        return (f"{self.sealed} entries sealed, head entry {self.head.entry_id} hash {self.head.hash}, "
                f"{self.unsealed} not yet sealed")


def anchor() -> Anchor:
    """Return the chain's head with the count of sealed and unsealed entries (no personal data: ids and hashes)."""
    head = chain_head()
    sealed = db.session.scalar(sa.select(sa.func.count()).select_from(_seals))
    unsealed = db.session.scalar(sa.select(sa.func.count()).select_from(_entries)
                                 .where(_entries.c.id > (head.entry_id or 0)))
    return Anchor(sealed, head, unsealed)

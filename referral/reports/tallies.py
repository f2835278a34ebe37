"""Keeping the report tallies on PostgreSQL: built once by the scheduler, followed by triggers, folded daily.

Triggers (migration 0026) add delta rows in the writer's own transaction: insert-only, so that two accepts
never wait on one tally row. They do nothing until ``build`` has counted every referral and written the time
zone the tallies' days are in; a report reads the tallies only while that zone is the service's
(``REFERRAL_TIMEZONE``), and computes from the referrals otherwise. SQLite keeps no tallies: its reports
always read the referrals.
"""

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..auth.models import Setting
from ..errors import Conflict
from ..extensions import db
from .models import referral_case_tallies, referral_duration_tallies, referral_tallies

ZONE_KEY = "report_tallies_zone"
_COUNTS = ("referrals", "accepted", "rejected", "no_response", "completed", "failed", "active")
_LOCAL = "AT TIME ZONE 'UTC' AT TIME ZONE :zone)::date"
#: Each table of tallies, the rows ``t`` a build counts into it, and its count columns.
_TABLES = (
    (referral_tallies, "referrals r JOIN cases c ON c.id = r.case_id "
                       "CROSS JOIN LATERAL referral_tally_rows(r, c.region, 1, :zone) t", _COUNTS),
    (referral_duration_tallies, "referrals r JOIN cases c ON c.id = r.case_id "
                                "CROSS JOIN LATERAL referral_duration_rows(r, c.region, 1, :zone) t", ("n",)),
    (referral_case_tallies, f"(SELECT (r.created_at {_LOCAL} AS day, c.region, (lag(r.created_at) OVER "
                            f"(PARTITION BY r.case_id ORDER BY r.created_at, r.id) {_LOCAL} AS previous_day, 1 AS n "
                            "FROM referrals r JOIN cases c ON c.id = r.case_id) t", ("n",)),
)


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _keys(table: sa.Table, counts) -> list[str]:
    return [column.name for column in table.columns if column.name not in counts]


def _summed(table: sa.Table, counts, source: str) -> str:
    """Return ``SELECT keys, sums FROM source GROUP BY keys`` for ``table``, dropping groups that sum to nothing;
    ``source`` names its rows ``t``."""
    keys = ", ".join(f"t.{key}" for key in _keys(table, counts))
    sums = ", ".join(f"sum(t.{count})" for count in counts)
    having = " OR ".join(f"sum(t.{count}) <> 0" for count in counts)
    return f"SELECT {keys}, {sums} FROM {source} GROUP BY {keys} HAVING {having}"


def is_current() -> bool:
    """Whether a report may read the tallies: PostgreSQL, built, and in the service's time zone."""
    if not _postgresql():
        return False
    zone = db.session.scalar(sa.select(Setting.value).where(Setting.key == ZONE_KEY))
    return zone == current_app.config["REFERRAL_TIMEZONE"]


def _locked_out_writers() -> bool:
    """Lock writers of cases and referrals out (cases first, as every writer locks them), waiting at most half a
    second: a writer that holds a case and goes on to its referrals is given way to, never deadlocked with, and
    the build tries again at the scheduler's next run. Return whether the lock was taken."""
    waited = db.session.scalar(sa.text("SHOW lock_timeout"))
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(sa.text("SET LOCAL lock_timeout = '500ms'"))
        db.session.execute(sa.text("LOCK TABLE cases, referrals IN SHARE ROW EXCLUSIVE MODE"))
    except sa.exc.OperationalError:
        savepoint.rollback()
        return False
    savepoint.commit()
    db.session.execute(sa.text("SELECT set_config('lock_timeout', :waited, true)"), {"waited": waited})
    return True


def build() -> bool:
    """Count every referral into the tallies in the service's time zone, unless they already are; return
    whether they were built. Part of the caller's transaction.

    Writers of referrals and cases wait meanwhile (a lock that two schedulers also take in turn: the second
    finds the tallies built): a few seconds over half a million referrals, once, or when the zone changes.
    A lock not had within half a second leaves the build to the next run (False).
    """
    if not _postgresql() or is_current() or not _locked_out_writers():
        return False
    if is_current():
        return False
    zone = current_app.config["REFERRAL_TIMEZONE"]
    for table, source, counts in _TABLES:
        db.session.execute(sa.delete(table))
        columns = ", ".join(column.name for column in table.columns)
        db.session.execute(sa.text(f"INSERT INTO {table.name} ({columns}) {_summed(table, counts, source)}"),
                           {"zone": zone})
    setting = db.session.get(Setting, ZONE_KEY)
    if setting is None:
        db.session.add(Setting(key=ZONE_KEY, value=zone))
    else:
        setting.value = zone
    db.session.flush()
    return True


def compact() -> None:
    """Fold each group's delta rows into one row; part of the caller's transaction.

    Rows written meanwhile are not in the statement's snapshot and stay for the next fold; a second scheduler
    folding at once finds the rows it would delete gone, so that no delta is counted twice.
    """
    if not _postgresql():
        return
    for table, _, counts in _TABLES:
        columns = ", ".join(column.name for column in table.columns)
        db.session.execute(sa.text(
            f"WITH gone AS (DELETE FROM {table.name} RETURNING *) "
            f"INSERT INTO {table.name} ({columns}) {_summed(table, counts, 'gone t')}"))


def totals() -> dict:
    """Return each table's groups with their sums (groups that sum to nothing left out): what the tallies say,
    however many delta rows they are kept in."""
    found = {}
    for table, _, counts in _TABLES:
        keys = [table.c[name] for name in _keys(table, counts)]
        sums = [sa.func.sum(table.c[name]) for name in counts]
        statement = sa.select(*keys, *sums).group_by(*keys).having(sa.or_(*(total != 0 for total in sums)))
        found[table.name] = {tuple(row[:len(keys)]): tuple(int(n) for n in row[len(keys):])
                             for row in db.session.execute(statement)}
    return found


def differences() -> int:
    """Count the referrals afresh (in a savepoint rolled back) and return how many groups of the tallies differ
    from that count; 0: the tallies are right. PostgreSQL, tallies built; the caller's transaction. Raise
    Conflict as ``rebuild``."""
    kept = totals()
    savepoint = db.session.begin_nested()
    rebuild()
    fresh = totals()
    savepoint.rollback()
    return sum(len(set(kept[name].items()) ^ set(fresh[name].items())) for name in kept)


def rebuild() -> None:
    """Count the tallies afresh, whatever they hold (writers of referrals and cases wait meanwhile); raise
    Conflict if the writers' lock was not had within half a second (``build``)."""
    db.session.execute(sa.delete(Setting).where(Setting.key == ZONE_KEY))
    if not build():
        raise Conflict(_l("Referrals are being written right now; try again in a moment."))

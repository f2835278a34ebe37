"""Tallies of referrals that PostgreSQL keeps beside the referrals, so that a report over a year sums tallies
instead of sorting half a million referrals (``tallies.py`` says how they are kept): counts per local day,
histograms of durations per local month (finer, they would hold a row per referral).

Rows are deltas: a trigger adds one row per change (``+1`` for the referral's new state, ``-1`` for its old),
the scheduler folds them into one row per group, and a reader always sums. No row names a case or a child.
"""

import sqlalchemy as sa

from ..extensions import db


def _where(time: str, *, index: bool) -> list[sa.Column]:
    """The columns a report selects and groups tallies by: the local day (or the first day of the local month)
    the referral was created, the case's region, and the referral's sender, receiver and route."""
    return [
        sa.Column(time, sa.Date, nullable=False, index=index),
        sa.Column("region", sa.String(5), nullable=False),
        sa.Column("from_agency_id", sa.Integer),
        sa.Column("to_agency_id", sa.Integer, nullable=False),
    ]


#: Counts of referrals by state: each column the number of the group's referrals in that state now.
referral_tallies = sa.Table(
    "referral_tallies", db.metadata,
    *_where("day", index=True),
    sa.Column("from_stage", sa.String(64)),
    sa.Column("to_stage", sa.String(64), nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in
      ("referrals", "accepted", "rejected", "no_response", "completed", "failed", "active")),
)

#: Histograms of durations: ``n`` referrals of the group whose duration of ``kind`` falls in ``bucket``
#: (``referral_bucket`` in SQL: buckets 5 % wide, so a percentile read from them is within 2.5 %).
referral_duration_tallies = sa.Table(
    "referral_duration_tallies", db.metadata,
    *_where("month", index=False),
    #: The stage of days held; empty for hours to an answer, which a report counts per agency only.
    sa.Column("to_stage", sa.String(64), nullable=False),
    #: 1: hours from sending to the answer; 2: days a closed referral held its stage.
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("bucket", sa.Integer, nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Index("ix_referral_duration_tallies_kind_month", "kind", "month"),
)

#: Referrals per local day by the local day of their case's previous referral (NULL: the case's first): a case
#: has referrals in a period once for each referral in it whose previous one came before the period (or none
#: did), so that distinct cases are a sum too.
referral_case_tallies = sa.Table(
    "referral_case_tallies", db.metadata,
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("region", sa.String(5), nullable=False),
    sa.Column("previous_day", sa.Date),
    sa.Column("n", sa.Integer, nullable=False),
)

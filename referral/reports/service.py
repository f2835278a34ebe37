"""Oversight reports: counts and durations of referrals created in a period, computed in the database.

Counts only: no case number, no child's name, ever leaves this module. Supervisors get their agency's
figures, coordinators their region's (the case's region), administrators everything (DESIGN §14).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import array as postgresql_array
from sqlalchemy.dialects.postgresql import distinct_on

from agencies import Permission, has_permission, is_region_code
from workflows.lifecycle import ACTIVE_STATUSES, OPEN_STATUSES, ReferralStatus

from ..actors import Actor, require
from ..audit.service import record
from ..cases.models import Case
from ..deadlines.models import Deadline, DeadlineStatus
from ..directory.models import Agency
from ..errors import Invalid
from ..extensions import UTCDateTime, db, utcnow
from ..referrals.models import Referral
from . import tallies
from .models import referral_case_tallies, referral_duration_tallies, referral_tallies

#: The longest period a report covers, in days (ten years and leap days).
MAX_PERIOD_DAYS = 3653
#: The earliest and latest dates a period may name: beyond them a date is a typing slip.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
NO_RESPONSE = "no-response"


@dataclass(frozen=True)
class AgencyRow:
    """What one receiving agency did with the referrals it was sent in the period."""

    agency: Agency
    received: int
    accepted: int
    rejected: int
    cancelled_no_response: int
    completed: int
    failed: int
    respond_median_hours: float | None
    respond_p90_hours: float | None
    overdue_now: int


@dataclass(frozen=True)
class StageRow:
    """How the referrals into one stage fared; the registration referral counts at the start stage."""

    stage: str
    entered: int
    active_now: int
    median_days_in_stage: float | None
    overdue_now: int


@dataclass(frozen=True)
class FlowRow:
    from_stage: str
    to_stage: str
    count: int


@dataclass(frozen=True)
class MonthRow:
    """Referrals created in one calendar month (in the service's time zone)."""

    month: str
    registered: int
    referred: int


@dataclass(frozen=True)
class Report:
    first: date
    last: date
    agencies: list[AgencyRow]
    stages: list[StageRow]
    flows: list[FlowRow]
    months: list[MonthRow]
    totals: dict = field(default_factory=dict)
    #: The region and agency the report was narrowed to, if any.
    region: str | None = None
    agency: str | None = None


def _refuse(message, name: str, code: str):
    raise Invalid(message, errors={name: [str(message)]}, problems=[{"code": code, "message": message}])


def check_period(first: date, last: date) -> None:
    """Raise Invalid unless ``first``…``last`` is a period a report can cover."""
    for name, value in (("from", first), ("to", last)):
        if not EARLIEST <= value <= LATEST:
            _refuse(_l("Choose a date between %(earliest)s and %(latest)s.", earliest=EARLIEST.isoformat(),
                       latest=LATEST.isoformat()), name, "date_out_of_range")
    if last < first:
        _refuse(_l("The end of the period (%(to)s) comes before its start (%(from)s): swap the dates.",
                   to=last.isoformat(), **{"from": first.isoformat()}), "to", "period_reversed")
    if (last - first).days >= MAX_PERIOD_DAYS:
        _refuse(_l("A report covers at most ten years; choose a shorter period."), "to", "period_too_long")


def _local_midnight(day: date) -> datetime:
    zone = ZoneInfo(current_app.config["REFERRAL_TIMEZONE"])
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def _local_today() -> date:
    return datetime.now(ZoneInfo(current_app.config["REFERRAL_TIMEZONE"])).date()


def _month_starts(first: date, last: date) -> list[date]:
    """Return the first day of each month the period touches, and of the month after."""
    starts, day = [], first.replace(day=1)
    while day <= last:
        starts.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return starts + [day]


@dataclass(frozen=True)
class _Columns:
    """Where a scope reads a referral's sender, receiver and case region: the referrals, or a tally."""

    from_agency_id: object
    to_agency_id: object
    region: object


_REFERRALS = _Columns(Referral.from_agency_id, Referral.to_agency_id, Case.region)


@dataclass(frozen=True)
class _Scope:
    """Which referrals a report counts, and which receiving agencies get a row."""

    referrals: object
    agencies: object
    needs_case: bool
    #: Whether the scope is a set of whole cases (everything, or a region's): then its distinct cases are a sum
    #: of the case tallies; a supervisor's or an agency's referrals are not.
    whole_cases: bool = True


def _scope(actor: Actor, region: str | None, agency: Agency | None, columns: _Columns = _REFERRALS) -> _Scope:
    referrals, agencies, needs_case = [], [], False
    if actor.user is not None and not has_permission(actor.role, Permission.view_all_cases):
        if has_permission(actor.role, Permission.view_region_cases):
            referrals.append(columns.region == actor.user.agency.region)
            needs_case = True
        else:
            mine = actor.agency_id
            referrals.append(sa.or_(columns.from_agency_id == mine, columns.to_agency_id == mine))
            agencies.append(columns.to_agency_id == mine)
    if region is not None:
        referrals.append(columns.region == region)
        needs_case = True
    if agency is not None:
        referrals.append(sa.or_(columns.from_agency_id == agency.id, columns.to_agency_id == agency.id))
        agencies.append(columns.to_agency_id == agency.id)
    return _Scope(sa.and_(sa.true(), *referrals), sa.and_(sa.true(), *agencies), needs_case, not agencies)


def _referrals(scope: _Scope, days: list[tuple[date, date]]) -> sa.Select:
    """Return the base of a pass over the scope's referrals created on the local days ``[from, until)`` of any
    of ``days`` (none: no referral)."""
    base = sa.select(sa.literal(1)).select_from(Referral)
    if scope.needs_case:
        base = base.join(Case, Case.id == Referral.case_id)
    created = [sa.and_(Referral.created_at >= _local_midnight(since), Referral.created_at < _local_midnight(until))
               for since, until in days if since < until]
    return base.where(sa.or_(sa.false(), *created), scope.referrals)


def _hours(later, earlier, postgresql: bool):
    if postgresql:
        # date_part gives a double; EXTRACT gives numeric, several times slower to aggregate.
        return sa.func.date_part("epoch", later - earlier) / 3600.0
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 24.0


class _Measures:
    """The SQL expressions every table of the report is made of, over ``referrals``."""

    def __init__(self, now: datetime, postgresql: bool) -> None:
        status = Referral.status
        self.now = sa.literal(now, UTCDateTime())
        self.sent = Referral.from_agency_id.is_not(None)
        self.accepted = sa.and_(Referral.responded_at.is_not(None), status != ReferralStatus.rejected)
        self.no_response = sa.and_(status == ReferralStatus.cancelled, Referral.status_reason == NO_RESPONSE)
        self.overdue = sa.and_(status.in_(OPEN_STATUSES), Referral.due_at < self.now)
        self.active = status.in_(ACTIVE_STATUSES)
        # A referral refused or withdrawn before an answer never held its stage.
        refused = sa.or_(status == ReferralStatus.rejected,
                         sa.and_(status == ReferralStatus.cancelled, Referral.responded_at.is_(None)))
        self.respond_hours = sa.case((self.sent, _hours(Referral.responded_at, Referral.created_at, postgresql)))
        self.held = sa.not_(refused)
        self.days_held = _hours(sa.func.coalesce(Referral.closed_at, self.now), Referral.created_at, postgresql) / 24.0

    @staticmethod
    def count(condition):
        return sa.func.count(sa.case((condition, 1)))


def _spread(postgresql: bool, value, shares=(0.5, 0.9)):
    """Return one column of the percentiles of ``value`` on PostgreSQL (one sort for all shares, an array).

    Elsewhere a NULL placeholder: ``_fill_percentiles`` computes them for SQLite, which has no ordered-set
    aggregates.
    """
    if postgresql:
        return sa.func.percentile_cont(postgresql_array(list(shares))).within_group(value)
    return sa.null()


def _shares(values, count: int) -> list:
    return list(values) if values is not None else [None] * count


def _percentile_cont(ordered: list[float], share: float) -> float | None:
    """Return the percentile with linear interpolation, as PostgreSQL's ``percentile_cont`` does."""
    if not ordered:
        return None
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _fill_percentiles(base: sa.Select, key, value, shares=(0.5, 0.9)) -> dict:
    """Return ``{key: [percentiles]}`` for SQLite, which has no ordered-set aggregates.

    The database orders the already-computed durations; only the pick of the ranks is done here.
    """
    rows = db.session.execute(base.with_only_columns(key, value).where(value.is_not(None))
                              .order_by(key, value)).all()
    groups: dict = {}
    for group, number in rows:
        groups.setdefault(group, []).append(float(number))
    return {group: [_percentile_cont(values, share) for share in shares] for group, values in groups.items()}


def _rounded(value, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def referral_report(actor: Actor, first: date, last: date, *, region: str | None = None,
                    agency_code: str | None = None) -> Report:
    """Return the report over referrals created from ``first`` to ``last`` (inclusive, local dates) and audit it.

    Raise Forbidden (staff) or Invalid (a reversed, too long or out-of-range period, an unknown region or
    agency).
    """
    report = compute_report(actor, first, last, region=region, agency_code=agency_code)
    record(actor, "report.read", "report", "referrals",
           {"from": first.isoformat(), "to": last.isoformat(), "region": region, "agency": agency_code})
    return report


def resolve_filters(region: str | None, agency_code: str | None) -> Agency | None:
    """Check a report's region and agency filters; return the agency named, if any. Raise Invalid."""
    if region is not None and not is_region_code(region):
        _refuse(_l("Choose one of Kazakhstan's regions (an ISO 3166-2:KZ code)."), "region", "unknown_region")
    if agency_code is None:
        return None
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == agency_code))
    if agency is None:
        _refuse(_l("No agency has the code %(code)s.", code=agency_code), "agency", "unknown_agency")
    return agency


def compute_report(actor: Actor, first: date, last: date, *, region: str | None = None,
                   agency_code: str | None = None) -> Report:
    """Return the report without auditing it (the export audits itself); raise as ``referral_report``.

    On PostgreSQL with the tallies built (``tallies.py``) the counts and months are sums over the tallies of the
    period's days, and what the clock changes is read from the referrals: the open ones (overdue now, days in
    stage so far), and the distinct cases of a supervisor's or an agency's referrals. Up to
    ``REFERRAL_REPORT_EXACT_UP_TO`` referrals the percentiles are sorted from the referrals; above it they are
    read from the histograms of the months the period touches, corrected by the referrals of the fewer days of
    each partial month (within 2.5 %). Elsewhere, five passes over the period's
    referrals: one counts them per receiving agency and route at once (a few hundred groups, summed here into
    the agency, stage, route and total rows), one per month, one sorts the response times for their
    percentiles, one the times in stage for theirs (SQLite, which has no ordered-set aggregates, hands the
    ordered times over instead), one counts the cases.
    """
    require(actor, Permission.view_reports)
    check_period(first, last)
    agency = resolve_filters(region, agency_code)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # The percentiles sort a year of referrals in memory; and a report's plans are too short-lived for
        # just-in-time compilation to repay its cost (about a tenth of a second per statement).
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(sa.text("SET LOCAL jit = off"))
    measures = _Measures(utcnow(), postgresql)
    scope = _scope(actor, region, agency)
    base = _referrals(scope, [(first, last + timedelta(days=1))])
    if tallies.is_current():
        plan = _plan_months(first, last, _local_today())
        period = _Period(first, last, _scope(actor, region, agency, referral_tallies.c),
                         _scope(actor, region, agency, referral_duration_tallies.c), plan.months)
        groups = _tallied_groups(period, _live_overdue(base, measures, scope))
        if sum(group.counts.referrals for group in groups) <= current_app.config["REFERRAL_REPORT_EXACT_UP_TO"]:
            responses = _response_spread(base, measures, scope, postgresql)
            stages = _stage_spread(base, measures, postgresql)
        else:
            corrections = [(_referrals(scope, plan.added), 1.0), (_referrals(scope, plan.taken), -1.0)]
            responses = _tallied_response_spread(period, corrections, measures, scope)
            stages = _tallied_stage_spread(period, corrections, base, measures)
        months = _tallied_month_rows(period)
        cases = _case_count(base) if not scope.whole_cases else _tallied_case_count(
            period, _scope(actor, region, agency, _Columns(None, None, referral_case_tallies.c.region)))
    else:
        groups = _groups(base, measures, scope)
        responses = _response_spread(base, measures, scope, postgresql)
        stages = _stage_spread(base, measures, postgresql)
        months = _month_rows(base, measures, first, last)
        cases = _case_count(base)
    return Report(first=first, last=last, region=region, agency=agency_code,
                  agencies=_agency_rows(groups, responses), stages=_stage_rows(groups, stages),
                  flows=_flow_rows(groups), months=months, totals=_totals(groups, responses, cases))


@dataclass
class _Counts:
    """The counts of one group of referrals; groups add up into the report's rows."""

    referrals: int = 0
    accepted: int = 0
    rejected: int = 0
    no_response: int = 0
    completed: int = 0
    failed: int = 0
    overdue: int = 0
    active: int = 0

    def add(self, other: "_Counts") -> "_Counts":
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass(frozen=True)
class _Group:
    """Referrals alike in what the report tells apart: receiver and route, and whether the receiver gets a row
    of the agency table (a referral an agency was sent, within the scope's agencies)."""

    agency_row: bool
    to_agency_id: int
    from_stage: str | None
    to_stage: str
    counts: _Counts


def _groups(base: sa.Select, m: _Measures, scope: _Scope) -> list[_Group]:
    """Count the period's referrals per receiver and route at once: a few hundred groups, hashed in parallel."""
    keys = (sa.and_(m.sent, scope.agencies), Referral.to_agency_id, Referral.from_stage, Referral.to_stage)
    statement = base.with_only_columns(
        *keys, sa.func.count(), m.count(m.accepted), m.count(Referral.status == ReferralStatus.rejected),
        m.count(m.no_response), m.count(Referral.status == ReferralStatus.completed),
        m.count(Referral.status == ReferralStatus.failed), m.count(m.overdue), m.count(m.active)).group_by(*keys)
    return [_Group(bool(row[0]), row[1], row[2], row[3], _Counts(*row[4:])) for row in db.session.execute(statement)]


def _sum(groups, key) -> dict:
    """Return ``{key(group): _Counts}`` over the groups whose key is not None."""
    sums: dict = {}
    for group in groups:
        name = key(group)
        if name is not None:
            sums.setdefault(name, _Counts()).add(group.counts)
    return sums


def _response_spread(base: sa.Select, m: _Measures, scope: _Scope, postgresql: bool) -> dict:
    """Return ``{to_agency_id: (median, p90)}`` of the hours to an answer per row of the agency table, and the
    scope's in all under ``None``.

    One sort serves both on PostgreSQL: ``ROLLUP`` adds the grand total to the agencies' groups; referrals the
    scope counts but gives no agency row group under a key no agency has.
    """
    sent = base.where(m.sent)
    key = sa.case((scope.agencies, Referral.to_agency_id), else_=-1).label("agency")
    if not postgresql:
        spread = {agency: shares for agency, shares in _fill_percentiles(sent, key, m.respond_hours).items()
                  if agency != -1}
        total = _fill_percentiles(sent, sa.literal(0), m.respond_hours).get(0)
        return spread | {None: tuple(total or (None, None))}
    statement = sent.with_only_columns(key, _spread(True, m.respond_hours)).group_by(sa.func.rollup(key))
    rows = db.session.execute(statement).all()
    spread = {agency: tuple(_shares(shares, 2)) for agency, shares in rows if agency != -1}
    return spread if None in spread else spread | {None: (None, None)}


def _stage_spread(base: sa.Select, m: _Measures, postgresql: bool) -> dict:
    """Return ``{stage: median days in stage}``; the stage sorts as bytes (``COLLATE "C"``), the cheapest order."""
    if not postgresql:
        return {stage: shares[0] for stage, shares in
                _fill_percentiles(base.where(m.held), Referral.to_stage, m.days_held, (0.5,)).items()}
    key = Referral.to_stage.collate("C")
    statement = base.where(m.held).with_only_columns(
        key, sa.func.percentile_cont(0.5).within_group(m.days_held)).group_by(key)
    return dict(db.session.execute(statement).all())


def _case_count(base: sa.Select) -> int:
    return db.session.scalar(base.with_only_columns(sa.func.count(sa.distinct(Referral.case_id))))


@dataclass(frozen=True)
class _Period:
    """The days a report sums tallies over, its scope over either table of tallies, and the local months whose
    histograms it sums (``[begin, end)``, first days of months; None for none; see ``_plan_months``)."""

    first: date
    last: date
    counts: _Scope
    durations: _Scope
    months: tuple[date, date] | None

    def counted(self):
        t = referral_tallies.c
        return sa.and_(t.day >= self.first, t.day <= self.last, self.counts.referrals)

    def histogrammed(self, kind: int):
        d = referral_duration_tallies.c
        if self.months is None:
            return sa.false()
        return sa.and_(d.kind == kind, d.month >= self.months[0], d.month < self.months[1],
                       self.durations.referrals)


@dataclass(frozen=True)
class _MonthPlan:
    """How the histograms' months make up a period: the months summed (``[begin, end)``, first days; None for
    none), the days read from the referrals and added, and the days of those months outside the period read
    and taken away (``[since, until)`` local dates); of each partial month, whichever holds fewer days (days
    still to come hold no referral)."""

    months: tuple[date, date] | None
    added: list
    taken: list


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _plan_months(first: date, last: date, today: date) -> _MonthPlan:
    """Return how the histograms' months and a few days of referrals make up ``first`` … ``last``."""
    def past_days(since: date, until: date) -> int:
        return max(0, (min(until, today + timedelta(days=1)) - since).days)

    after = last + timedelta(days=1)
    begin, end = first.replace(day=1), _next_month(last)
    if begin == last.replace(day=1) and (first.day != 1 or after != end):  # within one month, not all of it
        return _MonthPlan(None, [(first, after)], [])
    added, taken = [], []
    if first != begin:
        if past_days(begin, first) <= past_days(first, _next_month(first)):
            taken.append((begin, first))
        else:
            added.append((first, _next_month(first)))
            begin = _next_month(first)
    if after != end:
        if past_days(after, end) <= past_days(last.replace(day=1), after):
            taken.append((after, end))
        else:
            added.append((last.replace(day=1), after))
            end = last.replace(day=1)
    return _MonthPlan((begin, end) if begin < end else None, added, taken)


def _group_key(sent, agencies, to_agency_id, from_stage, to_stage) -> tuple:
    return (sa.and_(sent, agencies), to_agency_id, from_stage, to_stage)


def _live_overdue(base: sa.Select, m: _Measures, scope: _Scope) -> dict:
    """Return ``{group key: count}`` of the period's referrals overdue now: open ones only, read from the
    referrals (the clock, not a write, makes a referral overdue)."""
    keys = _group_key(m.sent, scope.agencies, Referral.to_agency_id, Referral.from_stage, Referral.to_stage)
    # Open is unclosed (a constraint): said so, the index of open referrals serves.
    statement = base.where(Referral.closed_at.is_(None), m.overdue).with_only_columns(*keys, sa.func.count()) \
        .group_by(*keys)
    return {(bool(row[0]), *row[1:4]): row[4] for row in db.session.execute(statement)}


def _tallied_groups(period: _Period, overdue: dict) -> list[_Group]:
    """Sum the tallies of the period's days per receiver and route; the overdue counts come from ``overdue``."""
    t = referral_tallies.c
    keys = _group_key(t.from_agency_id.is_not(None), period.counts.agencies, t.to_agency_id, t.from_stage,
                      t.to_stage)
    sums = [sa.func.sum(getattr(t, name)) for name in
            ("referrals", "accepted", "rejected", "no_response", "completed", "failed", "active")]
    statement = sa.select(*keys, *sums).where(period.counted()).group_by(*keys).having(sums[0] != 0)
    groups = []
    for row in db.session.execute(statement):
        key = (bool(row[0]), *row[1:4])
        referrals, accepted, rejected, no_response, completed, failed, active = (int(n) for n in row[4:])
        counts = _Counts(referrals, accepted, rejected, no_response, completed, failed, overdue.get(key, 0), active)
        groups.append(_Group(*key, counts))
    return groups


def _double(count):
    """A histogram's count as a double: sums of integers are NUMERIC in PostgreSQL, several times slower to add,
    and a double holds every count a histogram can have exactly."""
    return sa.cast(count, sa.Double).label("n")


def _histogram_percentiles(histogram: sa.Select, shares=(0.5, 0.9)) -> dict:
    """Return ``{g: [percentile per share]}`` from a histogram ``(g, bucket, n)`` in ``referral_bucket``'s buckets.

    ``percentile_cont`` read from the buckets: the two referrals ranked either side of ``share × (count − 1)``
    are found by a running sum in bucket order, each placed inside its bucket by its rank among the bucket's
    referrals, and the percentile interpolated between them as PostgreSQL does between exact values.
    """
    h = histogram.subquery()
    running = sa.select(
        h.c.g, h.c.bucket, h.c.n, sa.func.sum(h.c.n).over(partition_by=h.c.g, order_by=h.c.bucket).label("upto"),
        sa.func.sum(h.c.n).over(partition_by=h.c.g).label("total")).subquery()
    wanted = sa.values(sa.column("share", sa.Float), name="shares").data([(share,) for share in shares])
    side = sa.values(sa.column("next", sa.Integer), name="sides").data([(0,), (1,)])
    rank = wanted.c.share * (running.c.total - 1)
    position = sa.func.least(sa.func.floor(rank) + side.c.next, running.c.total - 1)
    # Clamped: the rows of later buckets are evaluated too before DISTINCT ON keeps the first.
    inside = sa.func.least(sa.func.greatest((position - (running.c.upto - running.c.n) + 0.5) / running.c.n, 0.0),
                           1.0)
    ranked = (sa.select(running.c.g, wanted.c.share, side.c.next, rank.label("rank"),
                        sa.func.referral_bucket_value(running.c.bucket, inside).label("value"))
              .select_from(running.join(wanted, sa.true()).join(side, sa.true())).where(running.c.upto > position)
              .ext(distinct_on(running.c.g, wanted.c.share, side.c.next))
              .order_by(running.c.g, wanted.c.share, side.c.next, running.c.bucket).subquery())
    low = sa.func.min(ranked.c.value).filter(ranked.c.next == 0)
    high = sa.func.min(ranked.c.value).filter(ranked.c.next == 1)
    weight = sa.func.min(ranked.c.rank) - sa.func.floor(sa.func.min(ranked.c.rank))
    statement = sa.select(ranked.c.g, ranked.c.share, low + weight * (high - low)).group_by(ranked.c.g,
                                                                                            ranked.c.share)
    found: dict = {}
    for g, share, value in db.session.execute(statement):
        found.setdefault(g, {})[share] = value
    return {g: [values.get(share) for share in shares] for g, values in found.items()}


def _corrected(corrections: list, columns) -> list[sa.Select]:
    """Return each correction's histogram rows: ``columns`` (the last one the bucket) and the count, signed: the
    days added count for, the days taken away against."""
    *keys, bucket = columns
    return [referrals.with_only_columns(*keys, bucket.label("bucket"), _double(sa.func.count() * sign))
            .group_by(*keys, bucket) for referrals, sign in corrections]


def _tallied_response_spread(period: _Period, corrections: list, m: _Measures, scope: _Scope) -> dict:
    """``_response_spread`` read from the histograms of hours to an answer of the period's months, corrected by
    the referrals of its days those months miss or hold beyond it: the agencies', and ``None`` for all."""
    d = referral_duration_tallies.c
    tallied = sa.select(sa.case((period.durations.agencies, d.to_agency_id), else_=-1).label("g"),
                        d.bucket, _double(d.n)).where(period.histogrammed(1))
    hours = m.respond_hours
    raw = _corrected([(referrals.where(hours.is_not(None)), sign) for referrals, sign in corrections],
                     (sa.case((scope.agencies, Referral.to_agency_id), else_=-1).label("g"),
                      sa.func.referral_bucket(hours)))
    both = sa.union_all(tallied, *raw).subquery()
    # Per agency (hashed), then all of them from those few rows: GROUPING SETS would sort every tally row.
    agencies = sa.select(both.c.g, both.c.bucket, sa.func.sum(both.c.n).label("n")).group_by(
        both.c.g, both.c.bucket).cte("agency_histograms")
    histogram = sa.union_all(
        sa.select(agencies.c.g, agencies.c.bucket, agencies.c.n),
        sa.select(sa.null(), agencies.c.bucket, sa.func.sum(agencies.c.n)).group_by(agencies.c.bucket))
    spread = {g: tuple(shares) for g, shares in _histogram_percentiles(histogram).items() if g != -1}
    return spread if None in spread else spread | {None: (None, None)}


def _tallied_stage_spread(period: _Period, corrections: list, base: sa.Select, m: _Measures) -> dict:
    """``_stage_spread`` from the histograms of the months' closed referrals (corrected as the responses are)
    and the days so far of the period's open ones."""
    d = referral_duration_tallies.c
    closed = sa.select(d.to_stage.label("g"), d.bucket, _double(d.n)).where(period.histogrammed(2))
    columns = (Referral.to_stage.label("g"), sa.func.referral_bucket(m.days_held))
    held = sa.and_(m.held, Referral.closed_at.is_not(None))
    parts = [closed, *_corrected([(referrals.where(held), sign) for referrals, sign in corrections], columns),
             *_corrected([(base.where(m.held, Referral.closed_at.is_(None)), 1.0)], columns)]
    both = sa.union_all(*parts).subquery()
    histogram = sa.select(both.c.g, both.c.bucket, sa.func.sum(both.c.n).label("n")).group_by(both.c.g, both.c.bucket)
    return {stage: shares[0] for stage, shares in _histogram_percentiles(histogram, (0.5,)).items()}


def _tallied_case_count(period: _Period, scope: _Scope) -> int:
    """Count the cases of a scope of whole cases with referrals in the period: each once, by its first referral
    in it (the one whose previous referral came before the period, or that has none)."""
    k = referral_case_tallies.c
    statement = sa.select(sa.func.coalesce(sa.func.sum(k.n), 0)).where(
        k.day >= period.first, k.day <= period.last, sa.or_(k.previous_day.is_(None), k.previous_day < period.first),
        scope.referrals)
    return int(db.session.scalar(statement))


def _tallied_month_rows(period: _Period) -> list[MonthRow]:
    """``_month_rows`` summed from the tallies' days."""
    t = referral_tallies.c
    month = sa.func.to_char(t.day, "YYYY-MM")
    statement = (sa.select(month, sa.func.sum(t.referrals).filter(t.from_agency_id.is_(None)),
                           sa.func.sum(t.referrals).filter(t.from_agency_id.is_not(None)))
                 .where(period.counted()).group_by(month))
    found = {name: (int(registered or 0), int(referred or 0)) for name, registered, referred in
             db.session.execute(statement)}
    return [MonthRow(day.strftime("%Y-%m"), *found.get(day.strftime("%Y-%m"), (0, 0)))
            for day in _month_starts(period.first, period.last)[:-1]]


def _agency_rows(groups: list[_Group], responses: dict) -> list[AgencyRow]:
    sums = _sum(groups, lambda group: group.to_agency_id if group.agency_row else None)
    agencies = {a.id: a for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(sums)))}
    result = []
    for agency_id, c in sums.items():
        median, p90 = responses.get(agency_id, (None, None))
        result.append(AgencyRow(agencies[agency_id], c.referrals, c.accepted, c.rejected, c.no_response,
                                c.completed, c.failed, _rounded(median), _rounded(p90), c.overdue))
    return sorted(result, key=lambda row: row.agency.code)


def _stage_rows(groups: list[_Group], medians: dict) -> list[StageRow]:
    return sorted((StageRow(stage, c.referrals, c.active, _rounded(medians.get(stage)), c.overdue)
                   for stage, c in _sum(groups, lambda group: group.to_stage).items()), key=lambda row: row.stage)


def _flow_rows(groups: list[_Group]) -> list[FlowRow]:
    sums = _sum(groups, lambda group: None if group.from_stage is None else (group.from_stage, group.to_stage))
    return [FlowRow(*route, c.referrals) for route, c in sorted(sums.items())]


def _month_rows(base: sa.Select, m: _Measures, first: date, last: date) -> list[MonthRow]:
    """Count registrations and referrals per month; apart from the other counts, so that the planner, which
    cannot guess how few months a ``CASE`` makes, still hashes those per receiver and route in parallel."""
    starts = _month_starts(first, last)
    bounds = [_local_midnight(day) for day in starts[1:-1]]
    counts = (m.count(sa.not_(m.sent)), m.count(m.sent))
    if not bounds:  # one month: nothing to group by (and GROUP BY 0 would name a column)
        return [MonthRow(starts[0].strftime("%Y-%m"), *db.session.execute(base.with_only_columns(*counts)).one())]
    bucket = sa.case(*((Referral.created_at < sa.literal(bound, UTCDateTime()), index)
                       for index, bound in enumerate(bounds)), else_=len(bounds)).label("month")
    statement = base.with_only_columns(bucket, *counts).group_by(bucket)
    found = {index: (registered, referred) for index, registered, referred in db.session.execute(statement)}
    return [MonthRow(day.strftime("%Y-%m"), *found.get(index, (0, 0))) for index, day in enumerate(starts[:-1])]


def _totals(groups: list[_Group], responses: dict, cases: int) -> dict:
    every, sent = _Counts(), _Counts()
    for group in groups:
        every.add(group.counts)
        if group.from_stage is not None:
            sent.add(group.counts)
    median, p90 = responses[None]
    return {"referrals": every.referrals, "cases": cases, "received": sent.referrals, "accepted": sent.accepted,
            "rejected": every.rejected, "cancelled_no_response": every.no_response, "completed": sent.completed,
            "failed": sent.failed, "respond_median_hours": _rounded(median), "respond_p90_hours": _rounded(p90),
            "overdue_now": every.overdue, "active_now": every.active}


@dataclass(frozen=True)
class HomeCounts:
    """The numbers a user's home page starts with: their agency's clocks, and for coordinators the region's."""

    due_today: int
    overdue: int
    #: For coordinators and admins: ``(agency, overdue count)`` of the region's cases, most overdue first.
    region_overdue: list = field(default_factory=list)


def home_counts(actor: Actor) -> HomeCounts:
    """Return the open deadlines of the actor's agency due today (local) and overdue, and the region's overdue."""
    now = utcnow()
    today = _local_today()
    end_of_day = _local_midnight(today + timedelta(days=1))
    pending = Deadline.status == DeadlineStatus.pending
    mine = sa.and_(pending, Deadline.agency_id == actor.agency_id)
    due_today, overdue = db.session.execute(sa.select(
        sa.func.count(sa.case((sa.and_(Deadline.due_at >= now, Deadline.due_at < end_of_day), 1))),
        sa.func.count(sa.case((Deadline.due_at < now, 1)))).where(mine)).one()
    region = []
    if actor.user is not None and has_permission(actor.role, Permission.view_region_cases):
        statement = (sa.select(Agency, sa.func.count()).join(Deadline, Deadline.agency_id == Agency.id)
                     .join(Case, Case.id == Deadline.case_id)
                     .where(pending, Deadline.due_at < now, Case.region == actor.user.agency.region)
                     .group_by(Agency.id).order_by(sa.func.count().desc(), Agency.code))
        region = [(agency, count) for agency, count in db.session.execute(statement)]
    return HomeCounts(due_today, overdue, region)

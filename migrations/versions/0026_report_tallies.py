"""report tallies: referral counts per local day and duration histograms per local month, kept by triggers on
PostgreSQL; referrals indexed by creation, and their open ones

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# The triggers do nothing until the scheduler has built the tallies and written the time zone their days are
# in (settings 'report_tallies_zone'); a report reads tallies only when that zone is the service's.
ZONE = "(SELECT value #>> '{}' FROM settings WHERE key = 'report_tallies_zone')"
STATE = "status, status_reason, responded_at, closed_at, created_at, case_id, from_agency_id, to_agency_id, " \
        "from_stage, to_stage"
COUNTS = ("referrals", "accepted", "rejected", "no_response", "completed", "failed", "active")
TALLY_COLUMNS = "day, region, from_agency_id, to_agency_id, from_stage, to_stage, " + ", ".join(COUNTS)
DURATION_COLUMNS = "month, region, from_agency_id, to_agency_id, to_stage, kind, bucket, n"


def _tally(r: str, region: str, delta: str) -> str:
    """Return the SELECT list of what the referral ``r`` adds to the counts (times ``delta``): the report's
    definitions, in SQL, written once for the SQL function a build uses and for the row trigger."""
    return (f"({r}.created_at AT TIME ZONE 'UTC' AT TIME ZONE zone)::date, {region}, {r}.from_agency_id, "
            f"{r}.to_agency_id, {r}.from_stage, {r}.to_stage, {delta}, "
            f"{delta} * ({r}.responded_at IS NOT NULL AND {r}.status <> 'rejected')::integer, "
            f"{delta} * ({r}.status = 'rejected')::integer, "
            f"{delta} * ({r}.status = 'cancelled' AND coalesce({r}.status_reason = 'no-response', false))::integer, "
            f"{delta} * ({r}.status = 'completed')::integer, {delta} * ({r}.status = 'failed')::integer, "
            f"{delta} * ({r}.status IN ('accepted', 'in-progress', 'on-hold'))::integer")


def _durations(r: str, region: str, delta: str, guard: str = "true") -> str:
    """Return the SELECTs of what the referral ``r`` adds to the histograms (times ``delta``): its hours to an
    answer per agency ('' for the stage keeps one row per agency and bucket), the days a closed referral held
    its stage (one refused or withdrawn unanswered never held it)."""
    month = f"date_trunc('month', {r}.created_at AT TIME ZONE 'UTC' AT TIME ZONE zone)::date"
    refused = f"({r}.status = 'rejected' OR ({r}.status = 'cancelled' AND {r}.responded_at IS NULL))"
    return (f"SELECT {month}, {region}, {r}.from_agency_id, {r}.to_agency_id, ''::varchar, 1::smallint, "
            f"referral_bucket(date_part('epoch', {r}.responded_at - {r}.created_at) / 3600.0), {delta} "
            f"WHERE {guard} AND {r}.from_agency_id IS NOT NULL AND {r}.responded_at IS NOT NULL "
            f"UNION ALL SELECT {month}, {region}, {r}.from_agency_id, {r}.to_agency_id, {r}.to_stage, 2::smallint, "
            f"referral_bucket(date_part('epoch', {r}.closed_at - {r}.created_at) / 86400.0), {delta} "
            f"WHERE {guard} AND {r}.closed_at IS NOT NULL AND NOT {refused}")


def _follow(table: str, columns: str, old_rows: str, new_rows: str) -> str:
    """Return the INSERT of one trigger firing's deltas into ``table``: ``old_rows`` (-1 for OLD) and
    ``new_rows`` (+1 for NEW), as they are (the nightly fold sums them). Written out, not calls of the SQL
    functions: the trigger's statements keep their plans, where a function taking a record is planned again
    at every call."""
    return f"INSERT INTO {table} ({columns}) {old_rows} UNION ALL {new_rows};"


def _local(moment: str) -> str:
    return f"({moment} AT TIME ZONE 'UTC' AT TIME ZONE zone)::date"


NONE_WRITTEN = "(SELECT NULL::integer AS id, NULL::integer AS case_id WHERE false)"
NONE_REMOVED = "(SELECT NULL::integer AS id, NULL::integer AS case_id, NULL::timestamp AS created_at WHERE false)"


def _case_delta(written: str, removed: str) -> str:
    """Return the INSERT of what a statement that wrote ``written`` and removed (or changed) ``removed`` changes
    in the case tallies: the touched cases' referrals counted as they are now, less as they were."""
    previous = "lag(created_at) OVER (PARTITION BY case_id ORDER BY created_at, id)"
    return (f"WITH touched AS (SELECT case_id FROM {written} w UNION SELECT case_id FROM {removed} x), "
            "now_rows AS (SELECT r.id, r.case_id, r.created_at FROM referrals r "
            "WHERE r.case_id IN (SELECT case_id FROM touched)), "
            f"then_rows AS (SELECT id, case_id, created_at FROM now_rows WHERE id NOT IN (SELECT id FROM {written} w) "
            f"UNION ALL SELECT id, case_id, created_at FROM {removed} x), "
            f"counted AS (SELECT case_id, created_at, {previous} AS previous, 1 AS delta FROM now_rows "
            f"UNION ALL SELECT case_id, created_at, {previous}, -1 FROM then_rows) "
            "INSERT INTO referral_case_tallies (day, region, previous_day, n) "
            f"SELECT {_local('k.created_at')}, c.region, {_local('k.previous')}, sum(k.delta) FROM counted k "
            "JOIN cases c ON c.id = k.case_id GROUP BY 1, 2, 3 HAVING sum(k.delta) <> 0;")


def _move(table: str, columns: str, rows: str) -> str:
    """Return the INSERTs that move a case's referrals from its old region to its new one in ``table`` (two
    statements: PostgreSQL 15 cannot plan the two lateral calls as one UNION ALL)."""
    return "".join(f"INSERT INTO {table} ({columns}) SELECT t.* FROM referrals r CROSS JOIN LATERAL "
                   f"{rows}(r, {region}, {delta}, zone) t WHERE r.case_id = NEW.id;"
                   for region, delta in (("OLD.region", -1), ("NEW.region", 1)))


POSTGRESQL = [
    # Buckets 5 % wide from 0.01 up (bucket 0 below): a value read back at a fraction of its bucket, in
    # geometric steps, is within 2.5 % of the true one, and far closer where a bucket holds many.
    "CREATE FUNCTION referral_bucket(value double precision) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    "AS $$ SELECT CASE WHEN value < 0.01 THEN 0 ELSE 1 + floor(ln(value / 0.01) / ln(1.05))::integer END $$",
    "CREATE FUNCTION referral_bucket_value(bucket integer, fraction double precision) RETURNS double precision "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN bucket = 0 THEN 0.01 * fraction "
    "ELSE 0.01 * power(1.05, bucket - 1 + fraction) END $$",
    # What one referral adds to the tallies (times delta), for a build over every referral.
    "CREATE FUNCTION referral_tally_rows(r referrals, case_region varchar, delta integer, zone text) "
    "RETURNS TABLE (day date, region varchar, from_agency_id integer, to_agency_id integer, from_stage varchar, "
    "to_stage varchar, referrals integer, accepted integer, rejected integer, no_response integer, "
    "completed integer, failed integer, active integer) LANGUAGE sql STABLE AS $$ "
    f"SELECT {_tally('r', 'case_region', 'delta')} $$",
    "CREATE FUNCTION referral_duration_rows(r referrals, case_region varchar, delta integer, zone text) "
    "RETURNS TABLE (month date, region varchar, from_agency_id integer, to_agency_id integer, to_stage varchar, "
    "kind smallint, bucket integer, n integer) LANGUAGE sql STABLE AS $$ "
    f"{_durations('r', 'case_region', 'delta')} $$",
    "CREATE FUNCTION referral_tallies_follow() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"DECLARE zone text := {ZONE}; old_region varchar; new_region varchar; "
    "BEGIN IF zone IS NULL THEN RETURN NULL; END IF; "
    "IF TG_OP <> 'INSERT' THEN SELECT c.region INTO old_region FROM cases c WHERE c.id = OLD.case_id; END IF; "
    "IF TG_OP = 'UPDATE' AND OLD.case_id = NEW.case_id THEN new_region := old_region; "
    "ELSIF TG_OP <> 'DELETE' THEN SELECT c.region INTO new_region FROM cases c WHERE c.id = NEW.case_id; END IF; "
    + _follow("referral_tallies", TALLY_COLUMNS,
              f"SELECT {_tally('OLD', 'old_region', '-1')} WHERE TG_OP <> 'INSERT'",
              f"SELECT {_tally('NEW', 'new_region', '1')} WHERE TG_OP <> 'DELETE'")
    + _follow("referral_duration_tallies", DURATION_COLUMNS,
              _durations("OLD", "old_region", "-1", "TG_OP <> 'INSERT'"),
              _durations("NEW", "new_region", "1", "TG_OP <> 'DELETE'"))
    + " RETURN NULL; END $$",
    "CREATE FUNCTION referral_tallies_follow_region() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"DECLARE zone text := {ZONE}; BEGIN IF zone IS NULL THEN RETURN NULL; END IF; "
    + _move("referral_tallies", TALLY_COLUMNS, "referral_tally_rows")
    + _move("referral_duration_tallies", DURATION_COLUMNS, "referral_duration_rows")
    + "INSERT INTO referral_case_tallies (day, region, previous_day, n) "
    f"SELECT {_local('t.created_at')}, region, {_local('t.previous')}, delta FROM (SELECT r.created_at, "
    "lag(r.created_at) OVER (ORDER BY r.created_at, r.id) AS previous FROM referrals r WHERE r.case_id = NEW.id"
    ") t CROSS JOIN (VALUES (OLD.region, -1), (NEW.region, 1)) moved (region, delta);"
    + " RETURN NULL; END $$",
    # Each referral is counted by the day of its case's previous one. A statement that writes referrals
    # changes that for the cases it touches: their referrals are counted again as they are after it (+1) and
    # as they were before it (-1: the rows it wrote left out, the rows it removed or changed put back). Per
    # statement, not per row: a row trigger would see the statement's later rows as already there. Writers
    # of one case's referrals hold the case's lock, so two statements never count one case at once.
    "CREATE FUNCTION referral_case_tallies_follow() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"DECLARE zone text := {ZONE}; BEGIN IF zone IS NULL THEN RETURN NULL; END IF; "
    f"IF TG_OP = 'INSERT' THEN {_case_delta('new_rows', NONE_REMOVED)} "
    f"ELSIF TG_OP = 'DELETE' THEN {_case_delta(NONE_WRITTEN, 'old_rows')} "
    "ELSIF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id "
    "WHERE (o.created_at, o.case_id) IS DISTINCT FROM (n.created_at, n.case_id)) THEN "
    f"{_case_delta('new_rows', 'old_rows')} END IF; RETURN NULL; END $$",
    "CREATE TRIGGER referral_case_tallies_on_insert AFTER INSERT ON referrals REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION referral_case_tallies_follow()",
    "CREATE TRIGGER referral_case_tallies_on_delete AFTER DELETE ON referrals REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION referral_case_tallies_follow()",
    "CREATE TRIGGER referral_case_tallies_on_update AFTER UPDATE ON referrals "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION referral_case_tallies_follow()",
    "CREATE TRIGGER referral_tallies_on_write AFTER INSERT OR DELETE ON referrals "
    "FOR EACH ROW EXECUTE FUNCTION referral_tallies_follow()",
    "CREATE TRIGGER referral_tallies_on_change AFTER UPDATE ON referrals FOR EACH ROW "
    f"WHEN (({', '.join('OLD.' + c.strip() for c in STATE.split(','))}) IS DISTINCT FROM "
    f"({', '.join('NEW.' + c.strip() for c in STATE.split(','))})) EXECUTE FUNCTION referral_tallies_follow()",
    "CREATE TRIGGER referral_tallies_on_region AFTER UPDATE OF region ON cases FOR EACH ROW "
    "WHEN (OLD.region IS DISTINCT FROM NEW.region) EXECUTE FUNCTION referral_tallies_follow_region()",
]
DROP_POSTGRESQL = [
    "DROP TRIGGER IF EXISTS referral_case_tallies_on_update ON referrals",
    "DROP TRIGGER IF EXISTS referral_case_tallies_on_delete ON referrals",
    "DROP TRIGGER IF EXISTS referral_case_tallies_on_insert ON referrals",
    "DROP FUNCTION IF EXISTS referral_case_tallies_follow()",
    "DROP TRIGGER IF EXISTS referral_tallies_on_region ON cases",
    "DROP TRIGGER IF EXISTS referral_tallies_on_change ON referrals",
    "DROP TRIGGER IF EXISTS referral_tallies_on_write ON referrals",
    "DROP FUNCTION IF EXISTS referral_tallies_follow_region()",
    "DROP FUNCTION IF EXISTS referral_tallies_follow()",
    "DROP FUNCTION IF EXISTS referral_duration_rows(referrals, varchar, integer, text)",
    "DROP FUNCTION IF EXISTS referral_tally_rows(referrals, varchar, integer, text)",
    "DROP FUNCTION IF EXISTS referral_bucket_value(integer, double precision)",
    "DROP FUNCTION IF EXISTS referral_bucket(double precision)",
    "DELETE FROM settings WHERE key = 'report_tallies_zone'",
]


def _where(time: str):
    return [sa.Column(time, sa.Date(), nullable=False), sa.Column('region', sa.String(length=5), nullable=False),
            sa.Column('from_agency_id', sa.Integer(), nullable=True),
            sa.Column('to_agency_id', sa.Integer(), nullable=False)]


def upgrade():
    op.create_table('referral_tallies', *_where('day'),
                    sa.Column('from_stage', sa.String(length=64), nullable=True),
                    sa.Column('to_stage', sa.String(length=64), nullable=False),
                    *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS))
    op.create_index(op.f('ix_referral_tallies_day'), 'referral_tallies', ['day'], unique=False)
    op.create_table('referral_duration_tallies', *_where('month'),
                    sa.Column('to_stage', sa.String(length=64), nullable=False),
                    sa.Column('kind', sa.SmallInteger(), nullable=False),
                    sa.Column('bucket', sa.Integer(), nullable=False),
                    sa.Column('n', sa.Integer(), nullable=False))
    op.create_index('ix_referral_duration_tallies_kind_month', 'referral_duration_tallies', ['kind', 'month'], unique=False)
    op.create_index('ix_referrals_created', 'referrals', ['created_at', 'case_id'], unique=False)
    op.create_index('ix_referrals_open_created', 'referrals', ['created_at', 'due_at'], unique=False,
                    sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
    op.create_table('referral_case_tallies', sa.Column('day', sa.Date(), nullable=False),
                    sa.Column('region', sa.String(length=5), nullable=False),
                    sa.Column('previous_day', sa.Date(), nullable=True),
                    sa.Column('n', sa.Integer(), nullable=False))
    op.create_index(op.f('ix_referral_case_tallies_day'), 'referral_case_tallies', ['day'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP_POSTGRESQL:
            op.execute(statement)
    op.drop_index(op.f('ix_referral_case_tallies_day'), table_name='referral_case_tallies')
    op.drop_table('referral_case_tallies')
    op.drop_index('ix_referrals_open_created', table_name='referrals')
    op.drop_index('ix_referrals_created', table_name='referrals')
    op.drop_index('ix_referral_duration_tallies_kind_month', table_name='referral_duration_tallies')
    op.drop_table('referral_duration_tallies')
    op.drop_index(op.f('ix_referral_tallies_day'), table_name='referral_tallies')
    op.drop_table('referral_tallies')

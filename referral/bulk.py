"""Writing many rows in one statement, for the scheduler's batches.

On PostgreSQL the rows travel as one JSON document, unpacked by ``json_to_recordset`` with the table's column
types: one parameter instead of one per value, so a batch of a few hundred rows costs the server about half
what a multi-row VALUES or an executemany does, and the statement's text (cached, prepared) is the same for
every batch. SQLite gets the plain executemany. The document is written by orjson: a sweep's batches (a
notification per user, each with its message parameters) made the standard library's encoder a quarter of
the scheduler's time.
"""

from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .extensions import db, dialect_insert


def on_postgresql() -> bool:
    """Return whether the session's database is PostgreSQL."""
    return db.session.get_bind().dialect.name == "postgresql"


def among(column, values) -> sa.ColumnElement[bool]:
    """Return ``column IN values``; on PostgreSQL as ``column = ANY(array)``, one parameter however many values.

    An expanded IN of a batch's few hundred ids makes a statement too long for psycopg to cache its parsing
    or prepare it, anew for every batch; the array keeps the statement's text short and the same.
    """
    if on_postgresql():
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _plain(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        # Stored as naive UTC, like ``extensions.UTCDateTime`` does.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} in a recordset")


def recordset(types: dict[str, sa.types.TypeEngine], rows: list[dict], name: str = "batch"):
    """Return the rows as a FROM clause (PostgreSQL): ``json_to_recordset(…) AS name(column type, …)``.

    ``types`` names the columns to read from each row and their types; values of JSON columns are nested.
    """
    # Datetimes go through ``_plain`` (naive UTC, as stored), as every other value orjson cannot write itself.
    document = orjson.dumps(rows, default=_plain,
                            option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS).decode()
    return (sa.func.json_to_recordset(sa.cast(sa.bindparam(f"{name}_rows", document, type_=sa.Text),
                                              postgresql.JSON))
            .table_valued(*(sa.column(column, type_) for column, type_ in types.items()))
            .render_derived(name=name, with_types=True))


def insert_rows(table: sa.Table, rows: list[dict], *, skip_duplicates_of: str | None = None) -> None:
    """Insert rows (dicts with the same keys) in one statement; their ids are not read back.

    With ``skip_duplicates_of``, a row whose value in that unique column exists already is skipped.
    """
    if not rows:
        return
    if not on_postgresql():
        statement = dialect_insert(table)
        if skip_duplicates_of:
            statement = statement.on_conflict_do_nothing(index_elements=[skip_duplicates_of])
        db.session.execute(statement, rows)
        return
    columns = list(rows[0])
    source = recordset({column: table.c[column].type for column in columns}, rows)
    statement = postgresql.insert(table).from_select(columns, sa.select(*(source.c[column] for column in columns)))
    if skip_duplicates_of:
        statement = statement.on_conflict_do_nothing(index_elements=[skip_duplicates_of])
    db.session.execute(statement)

"""dlt sources for the two operational databases: the archive and the live database.

Both are read with dlt's ``sql_database`` source into Arrow tables: on MySQL with the
connectorx backend (native code; its pitfalls are guarded below, and a table it cannot
read falls back to pyarrow), elsewhere with the pyarrow backend (``resolve_backend``).
What this module adds is what MySQL's history makes necessary:

* zero dates (``'0000-00-00 00:00:00'``) arrive as NULL instead of failing the load
  (MySQL itself answers ``IS NULL`` for them), both from MySQL and from the SQLite demo
  that stores them as text;
* the connection always speaks ``utf8mb4``, so ``latin1`` tables and 4-byte Unicode
  arrive as the same characters;
* MySQL types no Arrow/DuckDB type holds whole are converted in the server: ``TIME``
  (a duration up to 838 hours) and ``SET`` to their text, ``DECIMAL`` wider than 38
  digits to its exact text, ``BIGINT UNSIGNED`` to ``DECIMAL(20, 0)``;
* the archive, read-only history, is copied whole but only when it changed: a
  fingerprint per table is kept in the pipeline state, which lives in the warehouse;
* the live database is incremental on ``updated_at`` and merged on its primary key; a
  row changed without moving past the last ``updated_at`` is still loaded, a row
  without an ``updated_at`` (a zero date) only when it changed, and a table without a
  primary key is replaced only when it changed;
* a live row that arrives late (its ``updated_at`` behind the last one loaded) is loaded
  by the next run when it lies within the look-back window (``lag``), or else when the
  key comparison finds its key missing from raw (``compare_keys``: when the counts
  differ, and periodically for every table).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dlt
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url

from .lazy import LazyModule

# read rows only: a run whose sources have nothing new never imports them (precheck)
pa = LazyModule("pyarrow")
pc = LazyModule("pyarrow.compute")

FINGERPRINT_RESOURCE = "_medallion_fingerprints"

# SQLite reflects MySQL-style `tinyint(1)` as INTEGER and says so on every reflection.
warnings.filterwarnings("ignore", message="Could not instantiate type", category=sa.exc.SAWarning)


# Schema drift (README, "Schema drift"): a new table or column at the source is added to
# raw (staging selects its columns by name, so nothing downstream moves); a column whose
# type changes family (a number that becomes text) is refused, naming the table and
# column, instead of dlt's default of loading it into a `<column>__v_<type>` variant
# column that staging would never read (the values would be lost silently).
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


class SourceUnavailable(Exception):
    """A source database cannot be reached or refuses us; the message names it."""


# --- engines -------------------------------------------------------------------------


def _zero_safe(converter: Any) -> Any:
    """Wrap a PyMySQL temporal converter so that a zero or invalid date becomes None.

    PyMySQL hands back the original string when it cannot parse a date; a string in a
    timestamp column would then fail the whole Arrow batch.
    """

    def convert(value: Any) -> Any:
        result = converter(value)
        return None if isinstance(result, str | bytes) else result

    return convert


def make_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for a source, with the settings MySQL needs."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        if parsed.get_driver_name() == "pymysql":
            from pymysql import converters
            from pymysql.constants import FIELD_TYPE

            conv = dict(converters.conversions)
            for field_type in (FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP, FIELD_TYPE.DATE):
                conv[field_type] = _zero_safe(conv[field_type])
            kwargs["connect_args"] = {"conv": conv, "connect_timeout": 10}
    return sa.create_engine(parsed, **kwargs)


class LenientSQLiteDateTime(sa.types.TypeDecorator):
    """A SQLite DATETIME read as text and parsed here, so zero dates become NULL.

    SQLAlchemy's own SQLite DATETIME raises on ``'0000-00-00 00:00:00'``, which the
    demo archive holds to mirror MySQL.
    """

    impl = sa.types.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, dt.datetime):
            # compare as SQLite stores it: naive UTC text
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
        return value

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None or isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        if not text or text.startswith("0000-00-00"):
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None


def table_adapter(table: sa.Table) -> None:
    """Adapt reflected columns before dlt infers the schema from them."""
    for column in table.columns:
        if isinstance(column.type, sa.types.DateTime | sa.types.Date):
            # a NOT NULL datetime may hold zero dates, which arrive as NULL
            column.nullable = True


def _sqlite_table_adapter(table: sa.Table) -> None:
    table_adapter(table)
    for column in table.columns:
        if isinstance(column.type, sa.types.DateTime):
            column.type = LenientSQLiteDateTime()


def type_adapter(sql_type: Any) -> Any:
    """Tell dlt that our lenient SQLite datetime is a timestamp."""
    if isinstance(sql_type, LenientSQLiteDateTime):
        return sa.types.DateTime()
    return sql_type


# Arrow's decimal128 and DuckDB's DECIMAL hold at most 38 digits; MySQL's up to 65.
MAX_DECIMAL_PRECISION = 38


def mysql_read_as(sql_type: Any) -> Any | None:
    """The type a MySQL column is read as so that it arrives whole; None when it does as is.

    * ``TIME`` is a signed duration up to 838 hours, not a time of day: read as a time it
      wraps silently (``-838:59:59`` would land as ``01:00:01``). It is read as its text.
    * ``SET`` would arrive as a Python set, a JSON list in arbitrary order: read as MySQL's
      own text, ``'a,c'``.
    * ``DECIMAL`` wider than 38 digits fits no Arrow or DuckDB decimal: its exact text.
    * ``BIGINT UNSIGNED`` above 2**63 - 1 overflows a 64-bit integer: ``DECIMAL(20, 0)``.
    """
    from sqlalchemy.dialects import mysql

    if isinstance(sql_type, mysql.SET | sa.types.Time):
        return sa.types.Text()
    if (
        isinstance(sql_type, sa.types.Numeric)
        and not isinstance(sql_type, sa.types.Float)
        and (sql_type.precision or 0) > MAX_DECIMAL_PRECISION
    ):
        return sa.types.Text()
    if isinstance(sql_type, sa.types.BigInteger) and getattr(sql_type, "unsigned", False):
        return sa.types.Numeric(20, 0)
    return None


def _mysql_table_adapter(table: sa.Table) -> None:
    """``table_adapter``, and FLOAT/DOUBLE read as floats (every backend).

    SQLAlchemy reflects a MySQL DOUBLE with ``asdecimal=True``: its values would become
    decimals rounded to 10 places (``1e-12`` read as ``0.0000000000``) landing as text.
    """
    from sqlalchemy.dialects import mysql

    table_adapter(table)
    for column in table.columns:
        if isinstance(column.type, mysql.DOUBLE):
            column.type = mysql.DOUBLE(asdecimal=False)
        elif isinstance(column.type, sa.types.Float):
            column.type = mysql.FLOAT(asdecimal=False)


def _mysql_type_adapter(sql_type: Any) -> Any:
    """Tell dlt the types of the columns ``_mysql_query_adapter`` converts, and that a
    FLOAT or DOUBLE is a double (dlt 1.31 misses floats, which SQLAlchemy 2.1 no longer
    makes a kind of Numeric)."""
    from sqlalchemy.dialects import mysql

    if isinstance(sql_type, sa.types.Float):
        return sa.types.Numeric(asdecimal=False)
    if isinstance(sql_type, mysql.VARBINARY):
        # with its length dlt would make it a fixed-size binary, which a shorter value
        # does not fit ("widths must match"): a VARBINARY is variable, like a BLOB
        return sa.types.LargeBinary()
    return mysql_read_as(sql_type) or type_adapter(sql_type)


def _mysql_query_adapter(
    query: Any, table: sa.Table, incremental: Any = None, engine: Any = None
) -> Any:
    """Convert, in the server, the columns ``mysql_read_as`` names; the rest as they are.

    Only the selected columns change: the query's filter and order (the incremental
    cursor's) are kept.
    """
    columns = []
    for column in query.selected_columns:
        target = mysql_read_as(column.type)
        if target is None:
            columns.append(column)
        else:
            cast_to = sa.types.CHAR() if isinstance(target, sa.types.Text) else target
            columns.append(sa.cast(column, cast_to).label(column.name))
    return query.with_only_columns(*columns)


# --- the connectorx backend (MySQL) -------------------------------------------------------
#
# connectorx decodes MySQL's binary protocol in native code; its extract of the
# benchmark's table is about six times faster than PyMySQL's, which decodes every value
# in Python (README, "Performance"). It has pitfalls, each handled below so
# that a table arrives exactly as the pyarrow backend (PyMySQL) lands it:
#
# * it panics on a zero date or an impossible one ('2024-02-30', '2024-02-00'): every
#   date, datetime and timestamp is read as NULL when MySQL cannot compute with it
#   (``date_add(col, interval 0 day) is null``), the dates PyMySQL hands back as text;
# * it reads every DECIMAL as decimal128(38, 10) through a 96-bit decimal, so a value
#   with more than 18 integer digits or a scale above 10 fails or would be rounded:
#   those columns are read as MySQL's exact text, the others as they are, and both are
#   cast in Arrow back to the column's own precision and scale;
# * FLOAT arrives as a float32 widened to a double (1.1 becomes 1.100000023841858):
#   read as MySQL's own text, as PyMySQL reads it, and parsed in Arrow;
# * BIT arrives as bytes: read as its unsigned number (what SQLAlchemy returns);
# * TIME (durations past 24 hours panic it) and SET are text already (``mysql_read_as``);
#   BIGINT UNSIGNED, a DECIMAL(20, 0), falls under the decimal rule above;
# * a column of a type not listed in ``_CONNECTORX_TYPES`` (spatial types, anything
#   SQLAlchemy does not reflect) makes its table fall back to the pyarrow backend;
# * it takes a plain ``mysql://`` URL whose user and password are percent-encoded, and
#   no ``charset`` parameter (it always speaks utf8mb4); its errors can quote the URL,
#   so they are redacted before anyone sees them.

CONNECTORX_MAX_SCALE = 10
CONNECTORX_MAX_INTEGER_DIGITS = 18

_CONNECTORX_TYPES: tuple[type, ...] = (
    sa.types.Integer,
    sa.types.Numeric,
    sa.types.Float,  # FLOAT, DOUBLE (not a Numeric in SQLAlchemy 2.1)
    sa.types.String,  # includes TEXT, ENUM, SET
    sa.types.Date,
    sa.types.DateTime,  # includes TIMESTAMP
    sa.types.Time,
    sa.types._Binary,  # BINARY, VARBINARY, BLOB
    sa.types.JSON,
    sa.types.Boolean,
)


# Which reader each table was last read with in this process ("connectorx", or "pyarrow"
# for a table that fell back); the benchmark reports it, the tests check it.
READ_WITH: dict[str, str] = {}


class ConnectorXFailed(Exception):
    """connectorx could not read a table; the message names it, never the password."""


def connectorx_reads(sql_type: Any) -> bool:
    """True when connectorx can read a reflected MySQL type (with the guards below)."""
    from sqlalchemy.dialects import mysql

    return isinstance(sql_type, _CONNECTORX_TYPES + (mysql.BIT, mysql.YEAR))


def _decimal_in_envelope(precision: int, scale: int) -> bool:
    return scale <= CONNECTORX_MAX_SCALE and precision - scale <= CONNECTORX_MAX_INTEGER_DIGITS


def connectorx_read(sql_type: Any) -> str:
    """What the connectorx query selects for one MySQL column: ``"as_is"``, ``"text"``
    (``cast(... as char)``), ``"unsigned"`` (``cast(... as unsigned)``), ``"date"``
    (NULL when MySQL cannot compute with the date) or ``"cast"`` (``mysql_read_as``'s
    type). Each batch is then cast in Arrow to the types the pyarrow backend gives."""
    from sqlalchemy.dialects import mysql

    read_as = mysql_read_as(sql_type)
    if isinstance(read_as, sa.types.Text):  # TIME, SET, decimals wider than 38 digits
        return "text"
    target = read_as if read_as is not None else sql_type
    if isinstance(target, sa.types.Date | sa.types.DateTime):
        return "date"
    if isinstance(target, mysql.BIT):
        return "unsigned"
    if isinstance(target, sa.types.Float):
        return "as_is" if isinstance(target, mysql.DOUBLE) else "text"  # doubles are exact
    if isinstance(target, sa.types.Numeric) and not _decimal_in_envelope(
        target.precision or 10, target.scale or 0
    ):
        return "text"
    return "as_is" if read_as is None else "cast"


def _connectorx_query_adapter(
    query: Any, table: sa.Table, incremental: Any = None, engine: Any = None
) -> Any:
    """The MySQL query of ``_mysql_query_adapter`` with the guards connectorx needs.

    Only the selected columns change (each keeps its name); the filter and order of the
    incremental cursor still use the table's own columns, so a zero ``updated_at`` is
    still matched by ``is null`` as MySQL answers it.
    """
    columns = []
    for column in query.selected_columns:
        how = connectorx_read(column.type)
        read_as = mysql_read_as(column.type)
        if how == "text":
            expression = sa.cast(column, sa.types.CHAR())
        elif how == "unsigned":
            expression = sa.cast(column, mysql_unsigned())
        elif how == "date":
            expression = sa.case(
                (sa.func.date_add(column, sa.text("interval 0 day")).is_(None), sa.null()),
                else_=column,
            )
        elif how == "cast":
            expression = sa.cast(column, read_as)
        else:
            columns.append(column)
            continue
        columns.append(expression.label(column.name))
    return query.with_only_columns(*columns)


def mysql_unsigned() -> Any:
    """MySQL's ``unsigned`` cast target (SQLAlchemy has no portable name for it)."""
    from sqlalchemy.dialects import mysql

    return mysql.INTEGER(unsigned=True)


def connectorx_url(url: Any) -> str:
    """The plain ``mysql://`` URL connectorx takes: user and password percent-encoded
    (so ``@ : / %`` in a password work), no driver, no query parameters."""
    from urllib.parse import quote

    user = quote(url.username or "", safe="")
    password = quote(url.password or "", safe="")
    database = quote(url.database or "", safe="")
    return f"mysql://{user}:{password}@{url.host or 'localhost'}:{url.port or 3306}/{database}"


def _redact_secret(text: str, url: Any) -> str:
    """``redact`` for a connectorx message: also the password wherever it stands."""
    from urllib.parse import quote

    from medallion.settings import redact

    text = redact(text)
    password = url.password or ""
    if password:
        for form in {password, quote(password, safe=""), quote(password)}:
            text = text.replace(form, "***")
    return text


def _connectorx_loader_class() -> type:
    """dlt's table loader for the connectorx backend, built on first use."""
    from dlt.sources.sql_database.helpers import BaseTableLoader, TableLoader

    class ConnectorXLoader(BaseTableLoader):
        """Reads a MySQL table with connectorx in Arrow batches of ``chunk_size`` rows.

        Each batch is cast to the Arrow types the pyarrow backend gives (decimals at
        their own precision and scale, FLOAT parsed from its text, ...), so raw tables
        do not depend on the backend. A table with a column connectorx cannot read is
        read by the pyarrow backend instead.
        """

        def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterable[Any]:
            if not all(connectorx_reads(column.type) for column in self.table.columns):
                READ_WITH[self.table.name] = "pyarrow"
                where = getattr(self.query_adapter_callback, "where", None)
                fallback = TableLoader(
                    self.engine,
                    "pyarrow",
                    self.table,
                    self.columns,
                    chunk_size=self.chunk_size,
                    incremental=self.incremental,
                    query_adapter_callback=(
                        _mysql_query_adapter
                        if where is None
                        else _with_where(_mysql_query_adapter, where)
                    ),
                    limit=self.limit,
                )
                yield from fallback.load_rows(backend_kwargs)
                return
            import connectorx as cx

            READ_WITH[self.table.name] = "connectorx"
            query = self.compile_query(self.make_query())
            casts = _arrow_types(self.table, self.columns)
            url = self.engine.url
            try:
                reader = cx.read_sql(
                    connectorx_url(url),
                    query,
                    return_type="arrow_stream",
                    batch_size=self.chunk_size,
                    protocol="binary",
                )
                for batch in reader:
                    yield _cast_batch(batch, casts)
            except (GeneratorExit, KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # a Rust panic is a BaseException
                reason = _redact_secret(str(exc), url).strip().splitlines() or [type(exc).__name__]
                raise ConnectorXFailed(
                    f"connectorx could not read table {self.table.name!r}: {reason[0]}"
                ) from None

    return ConnectorXLoader


def _arrow_types(table: sa.Table, columns: dict[str, Any]) -> dict[str, pa.DataType]:
    """The Arrow type of each column as the pyarrow backend builds it from dlt's column
    hints (dlt's own ``get_py_arrow_datatype``, timestamps in UTC); BIT and YEAR, which
    dlt has no hint for, as the 64-bit integers PyMySQL's values become."""
    from dlt.common.configuration.container import Container
    from dlt.common.destination import DestinationCapabilitiesContext
    from dlt.common.libs.pyarrow import get_py_arrow_datatype
    from sqlalchemy.dialects import mysql

    caps = (
        Container().get(DestinationCapabilitiesContext)
        or DestinationCapabilitiesContext.generic_capabilities()
    )
    types = {
        column.name: pa.int64()
        for column in table.columns
        if isinstance(column.type, mysql.BIT | mysql.YEAR)
    }
    for name, hints in columns.items():
        if hints.get("data_type"):
            types[name] = get_py_arrow_datatype(hints, caps, "UTC")
    return types


def _cast_batch(batch: pa.RecordBatch, types: dict[str, pa.DataType]) -> pa.Table:
    """An Arrow batch from connectorx as a table with the column types of ``types``
    (a safe cast: a value that does not fit fails the load instead of changing)."""
    from dlt.common.libs.pyarrow import cast_connectorx_temporal_columns

    table = cast_connectorx_temporal_columns(pa.Table.from_batches([batch], schema=batch.schema))
    for index, field in enumerate(table.schema):
        target = types.get(field.name)
        if target is not None and field.type != target:
            column = table.column(index).cast(target)
            table = table.set_column(index, pa.field(field.name, target, field.nullable), column)
    return table


BACKENDS = ("auto", "connectorx", "pyarrow", "sqlalchemy", "pandas")


def resolve_backend(backend: str, engine: Engine) -> str:
    """The dlt backend a source is read with: ``auto`` is connectorx on MySQL/MariaDB,
    pyarrow elsewhere (the SQLite demo); connectorx is only wired for MySQL."""
    is_mysql = engine.dialect.name in ("mysql", "mariadb")
    if backend == "auto":
        return "connectorx" if is_mysql else "pyarrow"
    if backend == "connectorx" and not is_mysql:
        return "pyarrow"
    return backend


def _sql_database(
    engine: Engine,
    tables: list[str],
    backend: str,
    chunk_size: int,
    where: Any = None,
) -> Any:
    """dlt's ``sql_database`` source with this module's adapters and, for connectorx,
    its table loader. ``where(table)``, if given, returns a condition every query of
    the source adds to its filter (``keyed_resources``)."""
    backend = resolve_backend(backend, engine)
    adapters = _adapters(engine)
    extra: dict[str, Any] = {}
    if backend == "connectorx":
        adapters["query_adapter_callback"] = _connectorx_query_adapter
        extra["table_loader_class"] = _connectorx_loader_class()
    if where is not None:
        adapters["query_adapter_callback"] = _with_where(
            adapters.get("query_adapter_callback"), where
        )
    from dlt.sources.sql_database import sql_database

    return sql_database(
        engine,
        table_names=tables,
        backend=backend,
        chunk_size=chunk_size,
        reflection_level="full_with_precision",
        **adapters,
        **extra,
    )


def _with_where(adapt: Any, where: Any) -> Any:
    """A query adapter: ``adapt`` (if any), then ``where(table)`` added to the filter.
    It keeps ``where``, so connectorx's fallback to pyarrow applies it too."""

    def filtered(query: Any, table: sa.Table, incremental: Any = None, engine: Any = None) -> Any:
        if adapt is not None:
            query = adapt(query, table, incremental, engine)
        return query.where(where(table))

    filtered.where = where  # type: ignore[attr-defined]
    return filtered


def _adapters(engine: Engine) -> dict[str, Any]:
    if engine.dialect.name == "sqlite":
        return {
            "table_adapter_callback": _sqlite_table_adapter,
            "type_adapter_callback": type_adapter,
        }
    if engine.dialect.name in ("mysql", "mariadb"):
        return {
            "table_adapter_callback": _mysql_table_adapter,
            "type_adapter_callback": _mysql_type_adapter,
            "query_adapter_callback": _mysql_query_adapter,
        }
    return {"table_adapter_callback": table_adapter, "type_adapter_callback": type_adapter}


def check_reachable(name: str, engine: Engine) -> None:
    """Connect once, so an unreachable source fails with its name, not a driver trace."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database or ""
        if not path or not os.path.exists(path):
            raise SourceUnavailable(
                f"The {name} database file does not exist: {path!r}. Run `medallion demo` "
                f"or set SOURCES__{name.upper()}__CREDENTIALS."
            )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        raise SourceUnavailable(
            f"Cannot read the {name} database at "
            f"{engine.url.render_as_string(hide_password=True)}: {_driver_reason(exc)}"
        ) from None


def _driver_reason(exc: BaseException) -> str:
    """The first line of the driver's own message, without the password."""
    from medallion.settings import redact

    return redact(str(getattr(exc, "orig", exc))).splitlines()[0]


def select_tables(
    engine: Engine, include: Iterable[str] | None, exclude: Iterable[str] | None
) -> list[str]:
    """Every table of the database, narrowed by the include/exclude settings."""
    names = sorted(sa.inspect(engine).get_table_names())
    include = [t for t in include or [] if t]
    exclude = set(exclude or [])
    if include:
        unknown = sorted(set(include) - set(names))
        if unknown:
            raise SourceUnavailable(f"Tables configured in include_tables not found: {unknown}")
        names = [t for t in names if t in include]
    return [t for t in names if t not in exclude]


# --- archive ---------------------------------------------------------------------------


def table_fingerprint(engine: Engine, table: str) -> str:
    """A signature of a table's content, to skip re-copying unchanged history.

    MySQL computes ``CHECKSUM TABLE`` in the server (a CRC of every row over all its
    columns, summed; nothing but one row crosses the wire). Elsewhere (the SQLite demo,
    any SQLAlchemy database) there is no portable checksum in SQL, so the rows are read
    here and each row's values are hashed (``_rows_digest``): any change of content is
    seen, a same-length text edit or two values swapped between rows as much as a row
    added, at the cost of reading the table (README, Performance: seconds per million
    rows). Summaries of the columns (counts, sums, text lengths) were cheaper and missed
    exactly those edits.
    """
    with engine.connect() as conn:
        return _fingerprint_on(conn, table)


def _fingerprint_on(conn: sa.Connection, table: str) -> str:
    """``table_fingerprint`` read through an open connection (and its transaction)."""
    dialect = conn.dialect
    quoted = dialect.identifier_preparer.quote(table)
    if dialect.name in ("mysql", "mariadb"):
        checksum = conn.execute(sa.text(f"checksum table {quoted}")).one()
        count = conn.execute(sa.text(f"select count(*) from {quoted}")).scalar_one()
        parts = [str(count), str(checksum[1])]
    else:
        names = [column["name"] for column in sa.inspect(conn).get_columns(table)]
        columns = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
        rows = conn.execute(
            sa.text(f"select {columns} from {quoted}"),
            execution_options={"yield_per": FINGERPRINT_BATCH_ROWS},
        )
        count, digest = _rows_digest(rows.partitions())
        parts = [json.dumps(names), str(count), str(digest)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


FINGERPRINT_BATCH_ROWS = 10_000


def _rows_digest(batches: Iterable[Iterable[Any]]) -> tuple[int, int]:
    """The number of rows and the sum, modulo 2**128, of a 128-bit hash of each row.

    A row's hash is of ``repr`` of its values, which tells types and NULL apart (``1``,
    ``'1'``, ``None``, ``'None'``) and writes floats exactly. The sum does not depend on
    the order the rows come in (a table without a key has none), and a duplicate row
    counts twice; a change of any value changes its row's hash, so it goes unseen only
    if the hashes of the changed rows happen to sum the same (about 1 in 2**128).
    """
    count, total = 0, 0
    for batch in batches:
        for row in batch:
            value = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).digest()
            total += int.from_bytes(value, "big")
            count += 1
    return count, total % (1 << 128)


def fingerprint_tables(
    name: str,
    engine: Engine,
    tables: Iterable[str],
    opened: threading.Event | None = None,
    snapshot: threading.Event | None = None,
) -> dict[str, str]:
    """``table_fingerprint`` of each table; a table the server will not fingerprint (no
    SELECT on it, dropped meanwhile, the server gone) fails with the source's name, the
    table and the server's reason, not a driver trace.

    ``opened``, when given, is set as soon as a copy may read the tables beside the
    fingerprints: on MySQL when every table is InnoDB, once one transaction is open
    ``WITH CONSISTENT SNAPSHOT`` (``snapshot`` is set then too), in which every
    fingerprint is then taken (InnoDB answers ``CHECKSUM TABLE`` and the count for that
    snapshot, whatever is committed after it), so the fingerprints describe a state no
    newer than what a copy started afterwards reads; elsewhere once they are all taken
    (or failed). A snapshot covers rows, not definitions: a table whose columns changed
    while its fingerprint was taken is left out of the result, so that the next run
    copies it again. The snapshot holds back the server's purge, and keeps each table's
    metadata lock, until the last fingerprint is taken (as ``mysqldump
    --single-transaction`` does)."""
    tables = list(tables)
    try:
        with engine.connect() as conn:
            columns: dict[str, list[Any]] | None = None
            if opened is not None and _innodb_only(conn, tables):
                conn.commit()  # the isolation of the next transaction is settable now
                # a snapshot holds in REPEATABLE READ only (a server or session in READ
                # COMMITTED would give each statement its own)
                conn.exec_driver_sql("set transaction isolation level repeatable read")
                conn.exec_driver_sql("start transaction with consistent snapshot")
                columns = _definitions(conn, tables)
                if snapshot is not None:
                    snapshot.set()
                opened.set()
            fingerprints = {}
            for table in tables:
                try:
                    fingerprints[table] = _fingerprint_on(conn, table)
                except sa.exc.SQLAlchemyError as exc:
                    raise SourceUnavailable(
                        f"Cannot fingerprint table {table!r} of the {name} database at "
                        f"{engine.url.render_as_string(hide_password=True)}: "
                        f"{_driver_reason(exc)}. Nothing of the {name} was copied in this "
                        f"run; what it copied before stays."
                    ) from None
                if columns is None:
                    conn.commit()  # no snapshot: let go of the table's metadata lock
            if columns is not None:
                now = _definitions(conn, tables)
                fingerprints = {t: f for t, f in fingerprints.items() if now[t] == columns[t]}
            return fingerprints
    except sa.exc.SQLAlchemyError as exc:
        raise SourceUnavailable(
            f"Cannot fingerprint the {name} database at "
            f"{engine.url.render_as_string(hide_password=True)}: {_driver_reason(exc)}. "
            f"Nothing of the {name} was copied in this run; what it copied before stays."
        ) from None
    finally:
        if opened is not None:
            opened.set()


def _definitions(conn: sa.Connection, tables: list[str]) -> dict[str, list[Any]]:
    """Each table's columns as the server describes them now (``information_schema``
    is not read in a snapshot): names, types, nullability and defaults, in order."""
    rows = conn.execute(
        sa.text(
            "select table_name, column_name, column_type, is_nullable, column_default"
            " from information_schema.columns where table_schema = database()"
            " and table_name in :tables order by table_name, ordinal_position"
        ).bindparams(sa.bindparam("tables", expanding=True)),
        {"tables": tables},
    ).all()
    definitions: dict[str, list[Any]] = {table: [] for table in tables}
    for table, *column in rows:
        definitions.setdefault(table, []).append(tuple(column))
    return definitions


def _innodb_only(conn: sa.Connection, tables: list[str]) -> bool:
    """Whether ``conn`` is MySQL's and every table in ``tables`` is an InnoDB table (a
    view, MyISAM or any other engine keeps no snapshot)."""
    if conn.dialect.name not in ("mysql", "mariadb") or not tables:
        return False
    engines = dict(
        conn.execute(
            sa.text(
                "select table_name, engine from information_schema.tables"
                " where table_schema = database() and table_name in :tables"
            ).bindparams(sa.bindparam("tables", expanding=True)),
            {"tables": tables},
        ).all()
    )
    return all(str(engines.get(table) or "").lower() == "innodb" for table in tables)


# What a copy with each backend imports on its first batch: pyarrow and its Parquet
# writer, the reader, and pandas, which pyarrow imports on its first array or scalar
# built from Python values (dlt's `_dlt_load_id` column).
READER_MODULES = {
    "connectorx": ("pyarrow", "pyarrow.parquet", "connectorx", "pandas"),
    "pyarrow": ("pyarrow", "pyarrow.parquet", "pandas"),
}


def import_reader(backend: str, wanted: Callable[[], bool]) -> list[str]:
    """Import, one after the other while ``wanted()`` holds, the modules a copy with
    ``backend`` imports on its first batch (``READER_MODULES``); the names imported. A
    module not installed is left to fail, or not, where it is used.

    They cost about 0.6 s, half of it pandas. On MySQL the archive's fingerprints are
    the server's work (``CHECKSUM TABLE``: about 0.5 s per million rows), taken in a
    thread (``pipelines.ArchiveFingerprints``): imported while they are taken, instead
    of on the copy's first batch after them, these imports cost no time (on SQLite the
    fingerprints are hashed in Python and share its one running thread). ``wanted`` is
    asked between two modules, so one import may end after the fingerprints. They are imported
    here, in the thread that copies, and not in one of their own: dlt looks modules up
    in ``sys.modules`` (``dlt.common.libs.is_pandas_frame``), where another thread's
    half-imported pandas would be found."""
    imported = []
    for name in READER_MODULES.get(backend, ()):
        if not wanted():
            break
        if name in sys.modules or importlib.util.find_spec(name.split(".")[0]) is None:
            continue
        try:
            importlib.import_module(name)
        except ImportError:  # installed but broken: the copy, if one follows, says so
            continue
        imported.append(name)
    return imported


@dataclass
class ArchivePlan:
    """Which archive tables this run copies, and which it skips as unchanged."""

    to_copy: list[str]
    unchanged: list[str]
    # taken, or (a first copy beside the fingerprints) to be waited for when stored
    fingerprints: dict[str, str] | Callable[[], dict[str, str]]


def plan_archive(
    engine: Engine,
    tables: list[str],
    previous: dict[str, str],
    full_refresh: bool,
    known: dict[str, str] | None = None,
) -> ArchivePlan:
    """Copy the tables whose fingerprint changed (all of them on a full refresh).
    ``known``: fingerprints already taken this run (``pipelines.ArchiveFingerprints``);
    the other tables are fingerprinted now."""
    known = known or {}
    taken = fingerprint_tables("archive", engine, [t for t in tables if t not in known])
    fingerprints = {t: known[t] if t in known else taken[t] for t in tables}
    to_copy = [t for t in tables if full_refresh or previous.get(t) != fingerprints[t]]
    unchanged = [t for t in tables if t not in to_copy]
    return ArchivePlan(to_copy=to_copy, unchanged=unchanged, fingerprints=fingerprints)


def _fingerprint_resource(fingerprints: dict[str, str] | Callable[[], dict[str, str]]) -> Any:
    """A resource with no rows whose only effect is to save fingerprints in dlt state.

    It is extracted with the last table copied (``pipelines._run_pipeline``), so the state
    travels in the same load package as the data, and the fingerprints are committed
    exactly when the copy they describe is. A first copy read beside the fingerprints
    gives them as a function that waits for them; the state then follows the tables in
    a package of its own, and until it is loaded the next run copies every table again.
    """

    @dlt.resource(name=FINGERPRINT_RESOURCE, selected=True)
    def fingerprints_state() -> Iterable[dict[str, Any]]:
        taken = fingerprints() if callable(fingerprints) else fingerprints
        dlt.current.resource_state()["tables"] = dict(taken)
        yield from ()

    return fingerprints_state


def archive_resources(
    engine: Engine, plan: ArchivePlan, backend: str, chunk_size: int
) -> list[Any]:
    """The archive tables to copy, full load (replace), plus the fingerprint state."""
    resources: list[Any] = []
    if plan.to_copy:
        source = _sql_database(engine, plan.to_copy, backend, chunk_size)
        for resource in source.resources.values():
            resource.apply_hints(write_disposition="replace", schema_contract=SCHEMA_CONTRACT)
            resources.append(resource)
    resources.append(_fingerprint_resource(plan.fingerprints))
    return resources


def stored_fingerprints(state: dict[str, Any]) -> dict[str, str]:
    """Find the fingerprints saved by ``_fingerprint_resource`` in a pipeline state."""
    for source_state in state.get("sources", {}).values():
        saved = source_state.get("resources", {}).get(FINGERPRINT_RESOURCE)
        if saved:
            return dict(saved.get("tables", {}))
    return {}


# --- live ------------------------------------------------------------------------------


def live_resources(
    engine: Engine,
    tables: list[str],
    backend: str,
    chunk_size: int,
    cursor: str = "updated_at",
    previous_fingerprints: dict[str, str] | None = None,
    lag: float = 0.0,
    late: dict[str, int] | None = None,
) -> list[Any]:
    """Live tables: incremental on ``cursor`` and merged on the primary key.

    A table without the cursor column is re-read whole and merged. One without a primary
    key cannot be merged, so it is replaced, and, like the archive, only when its content
    changed (its fingerprint is kept in the state; ``previous_fingerprints`` are the ones
    saved by the last run, read from the active pipeline's state when not given).

    At the incremental boundary dlt re-reads ``cursor >= last value`` and drops the rows
    it already saw there, recognised by a hash. By default that hash is of the primary
    key, so a row updated without moving its ``updated_at`` past the last value (same
    second, or a clock that did not advance) would be dropped for good. The hash here is
    of the whole row instead: an unchanged row is still skipped, a changed one is loaded.

    With a ``lag`` (seconds, a datetime cursor), each run re-reads ``cursor >= last value
    - lag`` instead (dlt's incremental ``lag``), so a row that arrived late with a cursor
    inside that window behind the last value is loaded too. dlt drops no row of a lagged
    range (its boundary deduplication is off with a lag), so ``LookBackWindow`` does it:
    a row read by the last run as it is now is skipped, the window costs reads, not
    loads. ``late`` counts, per table, the rows behind the last value it let through.
    """
    if not tables:
        return []
    source = _sql_database(engine, tables, backend, chunk_size)
    inspector = sa.inspect(engine)
    keys = {t: inspector.get_pk_constraint(t).get("constrained_columns") or [] for t in tables}
    keyless = [t for t in tables if not keys[t]]
    fingerprints = {t: table_fingerprint(engine, t) for t in keyless}
    if previous_fingerprints is None:
        previous_fingerprints = _active_pipeline_fingerprints() if keyless else {}
    resources = []
    column_types = {
        t: {c["name"]: c["type"] for c in inspector.get_columns(t)} for t in source.resources
    }
    for name, resource in source.resources.items():
        resource.apply_hints(schema_contract=SCHEMA_CONTRACT)
        columns = list(column_types[name])
        primary_key = keys[name]
        if not primary_key:
            if previous_fingerprints.get(name) == fingerprints[name]:
                resources.append(_unchanged_resource(name))
                continue
            resource.apply_hints(write_disposition="replace")
        elif cursor in columns:
            # a lag is in seconds for a datetime cursor only (dlt: days for a date)
            lagged = lag > 0 and isinstance(column_types[name][cursor], sa.types.DateTime)
            resource.apply_hints(
                write_disposition="merge",
                primary_key=primary_key,
                incremental=dlt.sources.incremental(
                    cursor,
                    on_cursor_value_missing="include",
                    primary_key=tuple(columns),  # dedup the boundary on content, not key
                    lag=lag if lagged else None,
                ),
            )
            undated = UndatedRows(name, cursor)
            window = LookBackWindow(name, cursor, lag, late if late is not None else {})
            if backend == "sqlalchemy":  # rows as dicts
                resource.add_filter(undated.keep_row)
                if lagged:
                    resource.add_filter(window.keep_row)
            else:  # Arrow tables (a pandas frame passes unfiltered)
                resource.add_map(undated.filter_table)
                if lagged:
                    resource.add_map(window.filter_table)
        else:
            resource.apply_hints(write_disposition="merge", primary_key=primary_key)
        resources.append(resource)
    if fingerprints:
        resources.append(_fingerprint_resource(fingerprints))
    return resources


UNDATED_ROW_HASHES = "undated_row_hashes"


def _row_digest(row: dict[str, Any]) -> str:
    text = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class UndatedRows:
    """Drops the rows without a cursor value that a previous run loaded as they are.

    dlt reads rows whose cursor is NULL on every run (``on_cursor_value_missing``
    "include": they are neither before nor after the last value). A MySQL zero
    ``updated_at`` is such a row: it arrives as NULL and ``IS NULL`` matches it. Left
    alone, every run would load those rows again. A hash of each one is kept in the
    resource state: an unchanged row is skipped, a changed one is loaded (and merged).
    ``keep_row`` filters rows (dict backends), ``filter_table`` Arrow tables.
    """

    def __init__(self, resource_name: str, cursor: str) -> None:
        self.resource_name = resource_name
        self.cursor = cursor
        self.previous: set[str] | None = None
        self.current: list[str] = []

    def _remember(self, row: dict[str, Any]) -> bool:
        """Record the row's hash for the next run; True if the last run did not load it."""
        if self.previous is None:
            state = dlt.current.resource_state(self.resource_name)
            self.previous = set(state.get(UNDATED_ROW_HASHES, []))
            state[UNDATED_ROW_HASHES] = self.current  # this run's rows replace the last's
        digest = _row_digest(row)
        self.current.append(digest)
        return digest not in self.previous

    def keep_row(self, row: dict[str, Any]) -> bool:
        return row.get(self.cursor) is not None or self._remember(row)

    def filter_table(self, item: Any) -> Any:
        if not isinstance(item, pa.Table | pa.RecordBatch) or self.cursor not in item.schema.names:
            return item
        undated = pc.is_null(item.column(self.cursor))
        if not pc.any(undated).as_py():
            return item
        rows = iter(item.filter(undated).to_pylist())
        keep = [not flag or self._remember(next(rows)) for flag in undated.to_pylist()]
        item = item.filter(pa.array(keep))
        return item if item.num_rows else None


LOOK_BACK = "look_back"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0}  # 0: divide by 1,000


def cursor_micros(value: Any) -> int | None:
    """A datetime cursor value as microseconds since the epoch (a naive one is UTC, as
    dlt reads it), None for anything else."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _arrow_micros(column: Any) -> Any | None:
    """An Arrow timestamp column as int64 microseconds since the epoch (None: not one)."""
    if not pa.types.is_timestamp(column.type):
        return None
    values = pc.cast(column, pa.int64())
    factor = _MICROS[column.type.unit]
    if factor == 0:
        return pc.divide(values, 1_000)
    return values if factor == 1 else pc.multiply(values, factor)


class LookBackWindow:
    """Skips the rows of the look-back window that the last run read as they are now.

    dlt re-reads ``cursor >= last value - lag`` on every run and, with a lag, does not
    deduplicate that range. This filter keeps, in the resource state, a hash of the
    whole row of every row read whose cursor lies within the lag behind the newest
    cursor value read (``rows``: [cursor in µs, hash]), with that newest value
    (``top``) and the cursor value from which the list is complete (``covered_from``).
    On the next run a row whose hash is in that list is dropped (read, not loaded
    again); a new or changed row is loaded. A row loaded with a cursor behind the last
    run's ``top``, but inside the window it had covered, arrived late: it is counted
    in ``late[resource]``. Only rows whose cursor is not after the last ``top`` can
    have been read before, and only those within the lag of the newest value are
    remembered, so hashing costs the window, not the table. Rows without a cursor
    value are ``UndatedRows``' concern and pass.
    """

    def __init__(self, resource_name: str, cursor: str, lag: float, late: dict[str, int]) -> None:
        self.resource_name = resource_name
        self.cursor = cursor
        self.lag = int(lag * 1_000_000)
        self.late = late
        self.state: dict[str, Any] | None = None
        self.previous: set[str] = set()
        self.last_top: int | None = None  # the last run's newest cursor value
        self.late_from: int | None = None  # from where the last run's list was complete
        self.rows: list[list[Any]] = []
        self.prune_at = 4096

    def _start(self) -> dict[str, Any]:
        if self.state is None:
            resource_state = dlt.current.resource_state(self.resource_name)
            saved = resource_state.get(LOOK_BACK) or {}
            self.previous = {digest for _, digest in saved.get("rows", [])}
            self.last_top = saved.get("top")
            self.late_from = saved.get("covered_from")
            self.state = {"top": self.last_top, "covered_from": None, "rows": self.rows}
            resource_state[LOOK_BACK] = self.state
        return self.state

    def _raise_top(self, value: int | None) -> None:
        state = self._start()
        if value is not None and (state["top"] is None or value > state["top"]):
            state["top"] = value
        if state["top"] is not None:
            state["covered_from"] = state["top"] - self.lag

    def _needs_hash(self, micros: int) -> bool:
        """Whether the row may have been read last run, or is to be remembered."""
        state = self._start()
        could_be_known = self.last_top is not None and micros <= self.last_top
        return could_be_known or micros >= state["covered_from"]

    def _judge(self, micros: int, row: dict[str, Any]) -> bool:
        """Remember the row if it is in the window; True to load it."""
        digest = _row_digest(row)
        if micros >= self.state["covered_from"]:  # type: ignore[index]
            self.rows.append([micros, digest])
        if digest in self.previous:
            return False
        if self.late_from is not None and self.late_from <= micros < self.last_top:  # type: ignore[operator]
            self.late[self.resource_name] = self.late.get(self.resource_name, 0) + 1
        return True

    def _prune(self) -> None:
        if len(self.rows) > self.prune_at:
            floor = self.state["covered_from"]  # type: ignore[index]
            self.rows[:] = [pair for pair in self.rows if pair[0] >= floor]
            self.prune_at = max(4096, 2 * len(self.rows))

    def keep_row(self, row: dict[str, Any]) -> bool:
        micros = cursor_micros(row.get(self.cursor))
        if micros is None:
            return True
        self._raise_top(micros)
        keep = not self._needs_hash(micros) or self._judge(micros, row)
        self._prune()
        return keep

    def filter_table(self, item: Any) -> Any:
        if not isinstance(item, pa.Table | pa.RecordBatch) or self.cursor not in item.schema.names:
            return item
        micros = _arrow_micros(item.column(self.cursor))
        if micros is None:
            return item
        self._raise_top(pc.max(micros).as_py())
        state = self.state
        assert state is not None
        if state["covered_from"] is None:  # every cursor value is null
            return item
        needs = pc.greater_equal(micros, state["covered_from"])
        if self.last_top is not None:
            needs = pc.or_(needs, pc.less_equal(micros, self.last_top))
        indices = pc.indices_nonzero(pc.fill_null(needs, False)).to_pylist()
        if not indices:
            return item
        picked = item.take(pa.array(indices))
        cursors = pc.take(micros, pa.array(indices)).to_pylist()
        keep = [True] * item.num_rows
        for index, at, row in zip(indices, cursors, picked.to_pylist(), strict=True):
            keep[index] = self._judge(at, row)
        self._prune()
        if all(keep):
            return item
        item = item.filter(pa.array(keep))
        return item if item.num_rows else None


def _active_pipeline_fingerprints() -> dict[str, str]:
    """The fingerprints in the state of the active pipeline (the one being run), if any."""
    from dlt.common.configuration.container import Container
    from dlt.common.pipeline import pipeline_state

    state, _ = pipeline_state(Container(), {})
    return stored_fingerprints(state or {})


def _unchanged_resource(name: str) -> Any:
    """Stands for a keyless table whose content did not change: no rows, no truncation.

    An empty *replace* resource would truncate its table, so this one appends nothing.
    """

    @dlt.resource(name=name, write_disposition="append")
    def unchanged() -> Iterable[dict[str, Any]]:
        yield from ()

    return unchanged


# --- keys: hard deletes and late rows in live ---------------------------------------------

DELETIONS_TABLE = "_medallion_deletions"


def _key_text(values: tuple[Any, ...]) -> str:
    """A primary key as one string: the value itself, or values joined by `|`."""
    return "|".join("" if v is None else str(v) for v in values)


@dataclass
class KeyComparison:
    """What comparing the live keys with raw's found (``compare_keys``)."""

    tombstones: list[dict[str, Any]]
    # per table, the keys (as tuples) to load by key: live keys raw lacks (late rows)
    # and keys deleted earlier that came back
    to_load: dict[str, list[tuple[Any, ...]]]
    late: dict[str, int]  # per table, live keys raw lacked
    compared: list[str]  # the tables whose keys were compared


def compare_keys(
    engine: Engine, warehouse_client: Any, tables: list[str], every_table: bool = False
) -> KeyComparison:
    """Compare each live table's keys with raw's, both ways, after an incremental load.

    After the load every live row should be in raw, so the raw keys not in live are the
    rows deleted at source (tombstoned; a tombstoned key back in live is revived), and
    the live keys not in raw are rows the cursor missed: inserted (or changed) with a
    cursor value behind the last one and outside the look-back window. Those are loaded
    by key (``keyed_resources``), whatever their cursor. Counting first keeps the common
    case (nothing deleted, nothing missed) to two ``count(*)`` per table; keys are
    compared only when the counts disagree, or for ``every_table`` (the periodic full
    key check, which finds a delete and a late insert that cancel out in the counts).
    """
    now = dt.datetime.now(dt.UTC)
    inspector = sa.inspect(engine)
    found = KeyComparison([], {}, {}, [])
    existing = _current_tombstones(warehouse_client)
    for table in tables:
        key_columns = inspector.get_pk_constraint(table).get("constrained_columns") or []
        if not key_columns:
            continue
        raw_table = warehouse_client.make_qualified_table_name(table)
        try:
            raw_total = warehouse_client.execute_sql(f"select count(*) from {raw_table}")[0][0]
        except Exception:  # no raw table yet: nothing can have been deleted
            continue
        deleted_now = {k for (t, k) in existing if t == table}
        raw_key_sql = ", ".join(warehouse_client.escape_column_name(c) for c in key_columns)
        with engine.connect() as conn:
            quoted = engine.dialect.identifier_preparer.quote(table)
            live_total = conn.execute(sa.text(f"select count(*) from {quoted}")).scalar_one()
            if live_total == raw_total - len(deleted_now) and not every_table:
                continue
            found.compared.append(table)
            raw_keys = {
                _key_text(tuple(row))
                for row in warehouse_client.execute_sql(f"select {raw_key_sql} from {raw_table}")
            }
            key_sql = ", ".join(engine.dialect.identifier_preparer.quote(c) for c in key_columns)
            live_keys: set[str] = set()
            missing: list[tuple[Any, ...]] = []
            revived: list[tuple[Any, ...]] = []
            for row in conn.execution_options(stream_results=True).execute(
                sa.text(f"select {key_sql} from {quoted}")
            ):
                key = _key_text(tuple(row))
                live_keys.add(key)
                if key not in raw_keys:
                    missing.append(tuple(row))
                elif key in deleted_now:
                    revived.append(tuple(row))
        for key in sorted(raw_keys - live_keys - deleted_now):
            found.tombstones.append(
                {"table_name": table, "primary_key": key, "is_deleted": True, "detected_at": now}
            )
        for key in sorted(deleted_now & live_keys):
            found.tombstones.append(
                {"table_name": table, "primary_key": key, "is_deleted": False, "detected_at": now}
            )
        if missing:
            found.late[table] = len(missing)
        if missing or revived:
            found.to_load[table] = missing + revived
    return found


KEYS_PER_QUERY = 10_000


def keyed_resources(
    engine: Engine, to_load: dict[str, list[tuple[Any, ...]]], backend: str, chunk_size: int
) -> list[Any]:
    """The live rows of the given keys, merged on the primary key like the incremental
    ones (no cursor: they are loaded whatever their ``updated_at``), at most
    ``KEYS_PER_QUERY`` keys per query."""
    inspector = sa.inspect(engine)
    resources = []
    for table, keys in to_load.items():
        key_columns = inspector.get_pk_constraint(table).get("constrained_columns") or []
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start : start + KEYS_PER_QUERY]

            def where(
                reflected: sa.Table,
                chunk: list[tuple[Any, ...]] = chunk,
                key_columns: list[str] = key_columns,
            ) -> Any:
                columns = [reflected.c[name] for name in key_columns]
                if len(columns) == 1:
                    return columns[0].in_([key[0] for key in chunk])
                return sa.tuple_(*columns).in_(chunk)

            source = _sql_database(engine, [table], backend, chunk_size, where=where)
            resource = source.resources[table]
            resource.apply_hints(
                write_disposition="merge",
                primary_key=key_columns,
                schema_contract=SCHEMA_CONTRACT,
            )
            resources.append(resource)
    return resources


KEY_CHECK_RESOURCE = "_medallion_key_check"


def key_check_resource(checked_at: dt.datetime) -> Any:
    """A resource with no rows that saves when the live keys were last all compared (or
    copied whole) in the pipeline state, committed with the load it goes with."""

    @dlt.resource(name=KEY_CHECK_RESOURCE, selected=True)
    def key_check_state() -> Iterable[dict[str, Any]]:
        dlt.current.resource_state()["checked_at"] = checked_at.isoformat()
        yield from ()

    return key_check_state


def last_key_check(state: dict[str, Any]) -> dt.datetime | None:
    """When ``key_check_resource`` last recorded a full key check, from a pipeline state."""
    for source_state in state.get("sources", {}).values():
        saved = source_state.get("resources", {}).get(KEY_CHECK_RESOURCE)
        if saved and saved.get("checked_at"):
            return dt.datetime.fromisoformat(saved["checked_at"])
    return None


def _current_tombstones(warehouse_client: Any) -> set[tuple[str, str]]:
    table = warehouse_client.make_qualified_table_name(DELETIONS_TABLE)
    try:
        rows = warehouse_client.execute_sql(
            f"select table_name, primary_key from {table} where is_deleted"
        )
    except Exception:  # the first deletion has not happened yet
        return set()
    return {(row[0], row[1]) for row in rows}


def deletions_resource(tombstones: list[dict[str, Any]]) -> Any:
    """Tombstones merged on (table, key): a key deleted, then back, flips its flag."""
    return dlt.resource(
        tombstones,
        name=DELETIONS_TABLE,
        write_disposition="merge",
        primary_key=["table_name", "primary_key"],
        columns={
            "table_name": {"data_type": "text", "nullable": False},
            "primary_key": {"data_type": "text", "nullable": False},
            "is_deleted": {"data_type": "bool", "nullable": False},
            "detected_at": {"data_type": "timestamp", "nullable": False},
        },
    )

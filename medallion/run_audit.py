"""Checks on each load and the run audit: source freshness, volume anomalies, and one
row per ``medallion run`` (and per table of it) in the warehouse's ``audit`` schema.

* **Freshness** is dbt's ``dbt source freshness`` on every source table that declares
  thresholds (``models/staging/*/_*__sources.yml``). It measures *arrival*: the load id
  dlt stamps on every row is the Unix time of the load that wrote it, so the age is the
  time since the source last delivered a new or changed row. (The demo's business
  ``updated_at`` stops in 2024; measured on it, a fresh demo would always be stale.)
  A warning is reported and the run goes on; an error stops the run before dbt build.
* **Anomalies**: after each load, every raw table's volume (its rows, minus rows known
  deleted at source; for money tables also its total amount) is compared with the
  median of the same table's last runs in the audit. Moving by more than a factor
  (``--anomaly-factor``, ``MEDALLION_ANOMALY_FACTOR``, ``[checks] anomaly_factor`` in
  ``.dlt/config.toml``; default 2) up or down flags the table. A table without history
  is never an anomaly. Flags are reported, they never stop a run.
* **Audit**: ``audit.pipeline_runs`` (one row per run) and ``audit.pipeline_run_tables``
  (one row per table per run), written by Python at the end of every run, failed ones
  included. dbt never drops tables it does not manage, so they live beside dbt's
  ``audit.silver_row_counts``.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.text import Text

from .report import labelled
from .settings import (
    MYSQL_COLLATION,
    PROJECT_DIR,
    RAW_SCHEMAS,
    ConfigError,
    MySQLWarehouse,
    check_target,
    configured_number,
    describe_warehouse,
    redact,
    schema_prefix,
    warehouse_path,
)

RUNS_TABLE = "pipeline_runs"
TABLES_TABLE = "pipeline_run_tables"
AUDIT_SCHEMA = "audit"

DEFAULT_ANOMALY_FACTOR = 2.0
DEFAULT_ANOMALY_WINDOW = 5

# The money column of the raw tables that hold money (expenses: text as entered).
MONEY_COLUMNS = {"transactions": "amount", "expenses": "amount"}
DELETIONS_TABLE = "_medallion_deletions"

# Column name -> (DuckDB type, MySQL type), in table order.
RUN_COLUMNS = {
    "run_id": ("varchar", "varchar(32) not null primary key"),
    "command": ("varchar", "varchar(255)"),
    "target": ("varchar", "varchar(16)"),
    "status": ("varchar", "varchar(16)"),
    "started_at": ("timestamp", "datetime(6)"),
    "ended_at": ("timestamp", "datetime(6)"),
    "error_message": ("varchar", "text"),
}
# One row per warning per run: a check that failed on some rows and did not stop it.
WARNINGS_TABLE = "pipeline_run_warnings"
WARNING_COLUMNS = {
    "run_id": ("varchar", "varchar(32) not null"),
    "layer": ("varchar", "varchar(16)"),
    "table_name": ("varchar", "varchar(255) not null"),
    "check_name": ("varchar", "text"),
    "failing_rows": ("bigint", "bigint"),
    "table_rows": ("bigint", "bigint"),
    "examples": ("varchar", "text"),
}
TABLE_COLUMNS = {
    "run_id": ("varchar", "varchar(32) not null"),
    "table_name": ("varchar", "varchar(255) not null"),
    "layer": ("varchar", "varchar(16)"),
    "rows_extracted": ("bigint", "bigint"),
    "rows_loaded": ("bigint", "bigint"),
    "table_rows": ("bigint", "bigint"),
    "table_amount": ("decimal(38, 2)", "decimal(38, 2)"),
    "rows_deduplicated": ("bigint", "bigint"),
    "rows_quarantined": ("bigint", "bigint"),
    "expectations_passed": ("integer", "integer"),
    "expectations_failed_critical": ("integer", "integer"),
    "expectations_failed_warning": ("integer", "integer"),
    "freshness_status": ("varchar", "varchar(16)"),
    "freshness_age_hours": ("double", "double"),
    "is_anomaly": ("boolean", "boolean"),
    "anomaly_reason": ("varchar", "text"),
    "note": ("varchar", "text"),
    # added after the first release: ``ensure_audit_tables`` adds it to older tables
    "rows_recovered": ("bigint", "bigint"),
}


ADDED_TABLE_COLUMNS = ("rows_recovered",)


def utc_now() -> dt.datetime:
    """Now, in UTC, naive like every timestamp of the warehouse."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- the warehouse ------------------------------------------------------------------------


class AuditWarehouse:
    """Read-write access to one target's warehouse for the checks and the audit: the
    DuckDB file, the MySQL server (``MEDALLION_MYSQL_*``), or for Spark the control file
    that reads Spark's tables and the lake (``spark_control``, DuckDB's SQL). SQL is
    written with ``?`` placeholders; identifiers go through ``relation``."""

    def __init__(self, target: str) -> None:
        self.target = check_target(target)
        self.prefix = schema_prefix()
        self._conn: Any = None

    @property
    def is_mysql(self) -> bool:
        return self.target == "mysql"

    def exists(self) -> bool:
        """Whether there is a warehouse at all (a DuckDB file, Spark's control file; a
        MySQL server always)."""
        if self.target == "spark":
            from .spark_control import control_path

            return control_path().exists()
        return self.is_mysql or warehouse_path().exists()

    def open(self, read_only: bool = False) -> None:
        if self.target == "spark":  # read-write: its views are made again on opening
            import duckdb

            from .spark_control import connect

            try:
                self._conn = connect()
            except duckdb.Error as exc:
                raise AuditError(f"Cannot open Spark's control file: {exc}") from None
            return
        if self.is_mysql:
            import pymysql

            server = MySQLWarehouse.from_environment()
            try:
                self._conn = server.connect(collation=MYSQL_COLLATION, autocommit=False)
            except pymysql.MySQLError as exc:
                raise AuditError(
                    f"Cannot reach the MySQL warehouse at {server.host}:{server.port} "
                    f"(MEDALLION_MYSQL_*): {exc.args[-1] if exc.args else exc}"
                ) from None
            return
        import duckdb

        path = warehouse_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                self._conn = duckdb.connect(str(path), read_only=read_only)
            except duckdb.ConnectionException:
                # dlt or dbt opened the file in this process: DuckDB shares that instance.
                self._conn = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise AuditError(f"Cannot open the warehouse {path}: {exc}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def quote(self, identifier: str) -> str:
        if self.is_mysql:
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def schema(self, name: str) -> str:
        return self.prefix + name

    def relation(self, schema: str, table: str) -> str:
        return f"{self.quote(self.schema(schema))}.{self.quote(table)}"

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.is_mysql:
            with self._conn.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params or None)
                return list(cursor.fetchall())
        return self._conn.execute(sql, list(params)).fetchall()

    def sample(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A query's column names and rows, the query taken as it is (no parameters)."""
        if self.is_mysql:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)
                names = [column[0] for column in cursor.description or []]
                return names, list(cursor.fetchall())
        cursor = self._conn.execute(sql)
        names = [column[0] for column in cursor.description or []]
        return names, cursor.fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        if self.is_mysql:
            with self._conn.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params or None)
        else:
            self._conn.execute(sql, list(params))

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.is_mysql:
            with self._conn.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
        else:
            self._conn.executemany(sql, [list(row) for row in rows])

    def commit(self) -> None:
        if self.is_mysql:
            self._conn.commit()

    def tables(self, schema: str) -> set[str]:
        """The tables of one (unprefixed) schema."""
        found = self.rows(
            "select table_name from information_schema.tables where table_schema = ?",
            (self.schema(schema),),
        )
        return {row[0] for row in found}

    def describe(self) -> str:
        return describe_warehouse(self.target)


class AuditError(Exception):
    """The warehouse could not be reached to read or write the run audit."""


@contextmanager
def opened(target: str, read_only: bool = False) -> Iterator[AuditWarehouse]:
    warehouse = AuditWarehouse(target)
    warehouse.open(read_only=read_only)
    try:
        yield warehouse
    finally:
        warehouse.close()


# --- freshness ----------------------------------------------------------------------------


@dataclass
class Freshness:
    """dbt's verdict on one source table: pass, warn, error or runtime error."""

    table: str  # raw schema.table, without the prefix
    status: str
    age_hours: float | None
    warn_after: str = ""
    error_after: str = ""
    message: str = ""

    def describe(self) -> str:
        if self.age_hours is None:
            return f"{self.table}: {self.message or self.status}"
        limits = ", ".join(
            part
            for part in (
                f"warn after {self.warn_after}" if self.warn_after else "",
                f"error after {self.error_after}" if self.error_after else "",
            )
            if part
        )
        return (
            f"{self.table}: the newest row was loaded {_age(self.age_hours)} ago"
            + (f" ({limits})" if limits else "")
            + (f"; {self.message}" if self.message else "")
        )

    def as_warning(self, why: str) -> Freshness:
        """This verdict, an error no longer: for sources that are static by design."""
        if self.status != "error":
            return self
        return replace(self, status="warn", message=why)


def _age(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{hours * 60:.0f} minutes"


def _threshold(time: Any) -> str:
    count = getattr(time, "count", None)
    period = getattr(time, "period", None)
    if not count or not period:
        return ""
    period = str(getattr(period, "value", period))
    return f"{count} {period}{'' if count == 1 else 's'}"


def declared_source_tables() -> dict[str, list[str]]:
    """The tables each raw source declares in ``models/staging/*/_*__sources.yml``."""
    import yaml

    declared: dict[str, list[str]] = {}
    for path in sorted((PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml")):
        content = yaml.safe_load(path.read_text()) or {}
        for source in content.get("sources") or []:
            if source.get("name") in RAW_SCHEMAS:
                names = [table["name"] for table in source.get("tables") or []]
                declared.setdefault(source["name"], []).extend(names)
    return declared


def check_freshness(target: str) -> list[Freshness]:
    """``dbt source freshness`` on every declared source table that exists in the
    warehouse (a kind of landing file not landed yet has no table: the raw expectations
    report it). Tables without thresholds are skipped by dbt and not listed."""
    from .transform import run_dbt

    with opened(target) as warehouse:
        existing = {source: warehouse.tables(schema) for source, schema in RAW_SCHEMAS.items()}
    selectors = [
        f"source:{source}.{table}"
        for source, tables in declared_source_tables().items()
        for table in tables
        if table in existing.get(source, set())
    ]
    if not selectors:
        return []
    if target == "spark":  # the sources are the lake's tables, named in Spark by a hook
        from .lake import register_lake

        register_lake()
    outcome = run_dbt(["source", "freshness", "--select", *selectors], target, False)
    if not outcome.success and not outcome.results:  # dbt itself failed (e.g. parsing)
        from .transform import BuildFailed

        raise BuildFailed(
            "dbt source freshness failed before checking any source: see the dbt log above."
        )
    results = []
    for result in outcome.results:
        node = getattr(result, "node", None)
        source = getattr(node, "source_name", "?")
        name = getattr(node, "name", "?")
        config = getattr(node, "freshness", None)
        age = getattr(result, "age", None)
        status = str(getattr(result, "status", "unknown"))
        message = (getattr(result, "message", "") or "").strip().splitlines()
        results.append(
            Freshness(
                table=f"{RAW_SCHEMAS.get(source, source)}.{name}",
                status=status,
                age_hours=None if age is None else float(age) / 3600,
                warn_after=_threshold(getattr(config, "warn_after", None)),
                error_after=_threshold(getattr(config, "error_after", None)),
                message=redact(message[0]) if message else "",
            )
        )
    return sorted(results, key=lambda f: f.table)


# --- volume anomalies ---------------------------------------------------------------------


@dataclass
class Volume:
    """What one raw table holds after a load."""

    table: str  # raw schema.table, without the prefix
    rows: int
    amount: Decimal | None = None


@dataclass
class Anomaly:
    table: str
    flagged: bool
    reason: str = ""


@dataclass(frozen=True)
class AnomalySettings:
    factor: float
    window: int
    source: str  # where the factor came from, for the summary


def anomaly_settings(cli_factor: float | None = None) -> AnomalySettings:
    """The anomaly factor: ``--anomaly-factor``, else ``MEDALLION_ANOMALY_FACTOR``, else
    ``[checks] anomaly_factor`` in ``.dlt/config.toml``, else 2. The window (how many
    recent runs make the baseline): ``MEDALLION_ANOMALY_WINDOW``, else ``[checks]
    anomaly_window``, else 5."""
    if cli_factor is not None:
        factor, origin = cli_factor, "--anomaly-factor"
    else:
        factor, origin = configured_number(
            "MEDALLION_ANOMALY_FACTOR", "checks.anomaly_factor", float, DEFAULT_ANOMALY_FACTOR
        )
    if not factor > 1:
        raise ConfigError(f"The anomaly factor ({origin}) must be greater than 1, got {factor}")
    window, _ = configured_number(
        "MEDALLION_ANOMALY_WINDOW", "checks.anomaly_window", int, DEFAULT_ANOMALY_WINDOW
    )
    if window < 1:
        raise ConfigError(f"The anomaly window must be at least 1 run, got {window}")
    return AnomalySettings(float(factor), window, origin)


_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9.]*,[0-9]{1,2}$")


def parse_amount(text: Any) -> Decimal | None:
    """A money value as entered in a landing file, read like the staging macro
    ``parse_decimal``: ``1234.50``, ``1,234.50``, ``1.234,50``; unreadable is None."""
    if text is None:
        return None
    if not isinstance(text, str):
        return Decimal(str(text))
    value = text.strip().replace(" ", "")
    if _DECIMAL_COMMA.match(value):
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def measure_volumes(warehouse: AuditWarehouse, tables: list[str]) -> dict[str, Volume]:
    """Rows (and money) each raw table holds now. Live rows known deleted at source stay
    in raw (tombstoned): they are not counted, so a source that shrinks shows."""
    volumes: dict[str, Volume] = {}
    deleted: dict[str, int] = {}
    live = RAW_SCHEMAS["live"]
    if DELETIONS_TABLE in warehouse.tables(live):
        flag = "1" if warehouse.is_mysql else "true"
        deleted = dict(
            warehouse.rows(
                f"select table_name, count(*) from {warehouse.relation(live, DELETIONS_TABLE)}"
                f" where is_deleted = {flag} group by table_name"
            )
        )
    present = {schema: warehouse.tables(schema) for schema in RAW_SCHEMAS.values()}
    for qualified in tables:
        schema, table = qualified.split(".", 1)
        if table not in present.get(schema, set()):
            continue
        relation = warehouse.relation(schema, table)
        rows = int(warehouse.rows(f"select count(*) from {relation}")[0][0])
        if schema == live:
            rows -= int(deleted.get(table, 0))
        amount = None
        column = MONEY_COLUMNS.get(table)
        if column and column in _columns(warehouse, schema, table):
            if table == "expenses":  # text as entered: read like staging does
                values = warehouse.rows(f"select {warehouse.quote(column)} from {relation}")
                amount = sum(
                    (a for (v,) in values if (a := parse_amount(v)) is not None), Decimal(0)
                )
            else:
                total = warehouse.rows(f"select sum({warehouse.quote(column)}) from {relation}")[0][
                    0
                ]
                amount = Decimal(str(total if total is not None else 0))
            amount = amount.quantize(Decimal("0.01"))
        volumes[qualified] = Volume(qualified, rows, amount)
    return volumes


def _columns(warehouse: AuditWarehouse, schema: str, table: str) -> set[str]:
    found = warehouse.rows(
        "select column_name from information_schema.columns"
        " where table_schema = ? and table_name = ?",
        (warehouse.schema(schema), table),
    )
    return {row[0] for row in found}


def volume_history(warehouse: AuditWarehouse, window: int) -> dict[str, list[Volume]]:
    """Each raw table's volume in the last ``window`` runs that measured it, newest
    first (empty before the first audited run)."""
    if RUNS_TABLE not in warehouse.tables(AUDIT_SCHEMA):
        return {}
    found = warehouse.rows(
        "select t.table_name, t.table_rows, t.table_amount"
        f" from {warehouse.relation(AUDIT_SCHEMA, TABLES_TABLE)} as t"
        f" inner join {warehouse.relation(AUDIT_SCHEMA, RUNS_TABLE)} as r"
        " on r.run_id = t.run_id"
        " where t.layer = 'raw' and t.table_rows is not null"
        " order by r.started_at desc"
    )
    history: dict[str, list[Volume]] = {}
    for table, rows, amount in found:
        runs = history.setdefault(table, [])
        if len(runs) < window:
            runs.append(Volume(table, int(rows), None if amount is None else Decimal(amount)))
    return history


def _ratio(value: Decimal | int, baseline: Decimal | int) -> float:
    """How far ``value`` is from ``baseline``, as a factor >= 1 (inf if one is zero)."""
    value, baseline = abs(Decimal(value)), abs(Decimal(baseline))
    if value == baseline:
        return 1.0
    if value == 0 or baseline == 0:
        return float("inf")
    return float(max(value, baseline) / min(value, baseline))


def judge_volumes(
    volumes: dict[str, Volume], history: dict[str, list[Volume]], settings: AnomalySettings
) -> dict[str, Anomaly]:
    """Flag each table whose rows (or money) moved by more than the factor against the
    median of its recent runs. No history, no anomaly."""
    verdicts: dict[str, Anomaly] = {}
    for table, volume in volumes.items():
        past = history.get(table, [])
        if not past:
            verdicts[table] = Anomaly(table, False, "first run: no history")
            continue
        runs = f"median of the last {len(past)} run{'s' if len(past) > 1 else ''}"
        reasons = []
        baseline_rows = statistics.median(v.rows for v in past)
        if _ratio(volume.rows, Decimal(str(baseline_rows))) > settings.factor:
            reasons.append(f"rows {volume.rows:,} vs {baseline_rows:,.0f}")
        amounts = [v.amount for v in past if v.amount is not None]
        if volume.amount is not None and amounts:
            baseline_amount = statistics.median(amounts)
            moved = _ratio(volume.amount, baseline_amount) > settings.factor
            if moved or (volume.amount < 0) != (baseline_amount < 0):
                reasons.append(f"amount {volume.amount:,.2f} vs {baseline_amount:,.2f}")
        if reasons:
            reason = (
                "; ".join(reasons) + f" ({runs}): moved by more than a factor of "
                f"{settings.factor:g}"
            )
            verdicts[table] = Anomaly(table, True, reason)
        else:
            verdicts[table] = Anomaly(table, False)
    return verdicts


# --- one run ------------------------------------------------------------------------------


@dataclass
class TableAudit:
    """One row of ``audit.pipeline_run_tables``."""

    table_name: str
    layer: str
    rows_extracted: int | None = None
    rows_loaded: int | None = None
    table_rows: int | None = None
    table_amount: Decimal | None = None
    rows_deduplicated: int | None = None
    rows_quarantined: int | None = None
    expectations_passed: int | None = None
    expectations_failed_critical: int | None = None
    expectations_failed_warning: int | None = None
    freshness_status: str | None = None
    freshness_age_hours: float | None = None
    is_anomaly: bool | None = None
    anomaly_reason: str | None = None
    note: str | None = None
    rows_recovered: int | None = None

    def values(self, run_id: str) -> tuple[Any, ...]:
        return (run_id, *(getattr(self, name) for name in list(TABLE_COLUMNS)[1:]))


@dataclass
class RowWarning:
    """One row of ``audit.pipeline_run_warnings``: a check that failed on some rows, and
    the run went on (the policy, ``medallion.policy``)."""

    layer: str
    table_name: str
    check_name: str
    failing_rows: int | None = None
    table_rows: int | None = None
    examples: str = ""

    def values(self, run_id: str) -> tuple[Any, ...]:
        return (run_id, *(getattr(self, name) for name in list(WARNING_COLUMNS)[1:]))

    @property
    def share(self) -> str:
        from .policy import percent

        if self.failing_rows is None or not self.table_rows:
            return ""
        return percent(self.failing_rows / self.table_rows)


def dbt_warnings(results: list[Any]) -> list[RowWarning]:
    """The dbt tests that warned (a row-level test within ``max_bad_row_share``, or a
    test of ``severity: warn``), each with the model it tests and its failing rows."""
    warnings = []
    for result in results:
        node = getattr(result, "node", None)
        if str(getattr(result, "status", "")) != "warn" or node is None:
            continue
        attached = getattr(node, "attached_node", None) or ""
        depends = list(getattr(getattr(node, "depends_on", None), "nodes", None) or [])
        model = (attached or (depends[0] if depends else "")).split(".")[-1]
        failures = getattr(result, "failures", None)
        warnings.append(
            RowWarning(
                layer="dbt",
                table_name=model or "?",
                check_name=str(getattr(node, "name", "?")),
                failing_rows=None if failures is None else int(failures),
            )
        )
    return warnings


def dbt_warning_sql(results: list[Any]) -> list[str]:
    """The compiled SQL of each test ``dbt_warnings`` returns, in the same order: the
    query whose rows are the test's failing rows."""
    return [
        str(getattr(result.node, "compiled_code", "") or "")
        for result in results
        if str(getattr(result, "status", "")) == "warn" and getattr(result, "node", None)
    ]


# The quarantine tables: (relation, what groups its rows, a key to show, the silver
# table whose rows they were judged among, ``{kind}`` the group's value).
QUARANTINES = (
    (
        "transactions_rejected",
        "'transactions_rejected'",
        "transaction_id",
        "int_transactions_deduplicated",
    ),
    (
        "file_rows_rejected",
        "file_type",
        "concat(file_name, ':', cast(file_row_number as char(20)))",
        "{kind}",
    ),
)
FILE_SILVER_TABLES = {
    "fiscal_calendar": "int_fiscal_calendar_judged",
    "surveys": "int_survey_responses_judged",
    "expenses": "int_expenses_judged",
}

EXAMPLE_ROWS = 3
EXAMPLE_COLUMNS = 4
EXAMPLES_LENGTH = 300


def failing_examples(warehouse: AuditWarehouse, sql: str) -> tuple[str, int | None]:
    """A few failing rows of a dbt test as ``column=value`` pairs (its first columns:
    the generic tests put the column, the value and the count there), and the rows of
    the model tested when the test says (a row-level test's ``table_rows``). dbt wraps
    a test's query the same way to count its failures, so this runs on every
    warehouse. Examples that cannot be read never fail the run: the reason is
    recorded instead."""
    query = sql.strip().rstrip(";")
    if not query:
        return "", None
    try:
        names, found = warehouse.sample(
            f"select * from (\n{query}\n) as failing_rows limit {EXAMPLE_ROWS}"
        )
    except Exception as exc:  # noqa: BLE001 - the examples are secondary to the count
        reason = redact(str(exc)).strip().splitlines() or [type(exc).__name__]
        return f"(examples unavailable: {reason[0][:120]})", None
    shown = [name for name in names if name != "table_rows"][:EXAMPLE_COLUMNS]
    rows = [dict(zip(names, row, strict=True)) for row in found]
    text = "; ".join(", ".join(f"{name}={row[name]}" for name in shown) for row in rows)
    if len(text) > EXAMPLES_LENGTH:
        text = text[: EXAMPLES_LENGTH - 1] + "…"
    table_rows = rows[0].get("table_rows") if rows else None
    return text, None if table_rows is None else int(table_rows)


@dataclass
class RunAudit:
    """Everything one ``medallion run`` learns, written at its end whatever happened."""

    target: str
    command: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: dt.datetime = field(default_factory=utc_now)
    ended_at: dt.datetime | None = None
    status: str = "running"
    error_message: str | None = None
    tables: dict[str, TableAudit] = field(default_factory=dict)
    freshness: list[Freshness] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    anomaly_settings: AnomalySettings | None = None
    quality: dict[str, Any] = field(default_factory=dict)  # layer -> LayerReport
    warnings: list[RowWarning] = field(default_factory=list)
    dbt_results: list[Any] = field(default_factory=list)  # dbt's node results of the build

    def prefixed(self, text: str) -> str:
        """A message naming raw tables, with the environment's schema prefix."""
        prefix = schema_prefix()
        if not prefix:
            return text
        return re.sub(r"\b(raw_(?:archive|live|files)\.)", prefix + r"\1", text)

    def table(self, name: str, layer: str) -> TableAudit:
        return self.tables.setdefault(name, TableAudit(name, layer))

    # what each step contributes

    def add_ingestion(self, reports: list[Any]) -> None:
        prefix = schema_prefix()
        for report in reports:
            schema = (
                report.schema[len(prefix) :] if report.schema.startswith(prefix) else report.schema
            )
            row = self.table(f"{schema}.{report.table}", "raw")
            row.rows_extracted = report.extracted
            row.rows_loaded = report.loaded
            row.note = report.note or None
            if schema == RAW_SCHEMAS["live"]:  # late rows: a live-only notion
                row.rows_recovered = getattr(report, "recovered", 0)
            # what the pipelines followed: schema drift, landing files without records
            self.warnings += [
                RowWarning(
                    layer="ingest",
                    table_name=f"{schema}.{report.table}",
                    check_name=warning.check,
                    examples=warning.detail,
                )
                for warning in getattr(report, "warnings", [])
            ]

    def check_volumes(self, settings: AnomalySettings) -> None:
        """Measure the raw tables of this run and judge them against the audit."""
        self.anomaly_settings = settings
        raw = [name for name, row in self.tables.items() if row.layer == "raw"]
        raw = [name for name in raw if not name.split(".", 1)[1].startswith("_")]
        with opened(self.target) as warehouse:
            volumes = measure_volumes(warehouse, raw)
            history = volume_history(warehouse, settings.window)
        verdicts = judge_volumes(volumes, history, settings)
        for name, volume in volumes.items():
            row = self.table(name, "raw")
            row.table_rows = volume.rows
            row.table_amount = volume.amount
            verdict = verdicts[name]
            row.is_anomaly = verdict.flagged
            row.anomaly_reason = verdict.reason or None
        self.anomalies = [verdicts[name] for name in sorted(verdicts)]

    def add_freshness(self, results: list[Freshness]) -> None:
        self.freshness = results
        for result in results:
            row = self.table(result.table, "raw")
            row.freshness_status = result.status
            row.freshness_age_hours = (
                None if result.age_hours is None else round(result.age_hours, 4)
            )

    def add_quality(self, report: Any) -> None:
        self.quality[report.layer] = report
        prefix = schema_prefix()
        for outcome in report.outcomes:
            name = outcome.dataset
            if prefix and name.startswith(prefix):
                name = name[len(prefix) :]
            row = self.table(name, "raw" if report.layer == "raw" else "gold")
            row.expectations_passed = outcome.passed
            row.expectations_failed_critical = len(outcome.failed("critical"))
            row.expectations_failed_warning = len(outcome.failed("warning"))
            self.warnings += [
                RowWarning(
                    layer=report.layer,
                    table_name=name,
                    check_name=failure.expectation,
                    failing_rows=failure.unexpected,
                    table_rows=failure.rows,
                    examples=failure.examples,
                )
                for failure in outcome.failed("warning")
            ]

    def add_dbt_warnings(self, results: list[Any]) -> None:
        """dbt's warnings, each with a few of its failing rows as examples."""
        self.dbt_results = list(results)
        found = dbt_warnings(results)
        if not found:
            return
        with opened(self.target) as warehouse:
            for warning, sql in zip(found, dbt_warning_sql(results), strict=True):
                warning.examples, table_rows = failing_examples(warehouse, sql)
                warning.table_rows = warning.table_rows or table_rows
        self.warnings += found

    def add_silver_counts(self) -> None:
        """Rows deduplicated and quarantined per silver table, from dbt's
        ``audit.silver_row_counts``."""
        with opened(self.target) as warehouse:
            if "silver_row_counts" not in warehouse.tables(AUDIT_SCHEMA):
                return
            found = warehouse.rows(
                "select silver_table, rows_out, duplicates_removed, rows_quarantined"
                f" from {warehouse.relation(AUDIT_SCHEMA, 'silver_row_counts')}"
            )
        for silver_table, rows_out, duplicates, quarantined in found:
            row = self.table(f"intermediate.{silver_table}", "silver")
            row.table_rows = int(rows_out)
            row.rows_deduplicated = int(duplicates)
            row.rows_quarantined = int(quarantined)

    def add_quarantine_warnings(self) -> None:
        """One warning per quarantine reason (the policy: a quarantined row is counted
        and reported), with its rows, the rows of the silver table it was judged in
        (``audit.silver_row_counts``' rows in) and a few of its keys."""
        with opened(self.target) as warehouse:
            if not {"transactions_rejected", "file_rows_rejected"} <= warehouse.tables(
                "quarantine"
            ):
                return
            judged_in = {}
            if "silver_row_counts" in warehouse.tables(AUDIT_SCHEMA):
                judged_in = dict(
                    warehouse.rows(
                        "select silver_table, rows_in from "
                        + warehouse.relation(AUDIT_SCHEMA, "silver_row_counts")
                    )
                )
            found = []
            for relation, group, key, silver in QUARANTINES:
                table = warehouse.relation("quarantine", relation)
                # counted in the warehouse: a quarantine of millions sends a few rows
                rows = warehouse.rows(
                    "select kind, reason, example_key, n from (select kind, reason,"
                    " example_key, count(*) over (partition by kind, reason) as n,"
                    " row_number() over (partition by kind, reason order by example_key)"
                    f" as k from (select {group} as kind, reason, {key} as example_key"
                    f" from {table}) as judged) as ranked where k <= {EXAMPLE_ROWS}"
                    " order by 1, 2, 3"
                )
                by_reason: dict[tuple[str, str], tuple[int, list[str]]] = {}
                for kind, reason, example, count in rows:
                    by_reason.setdefault((kind, reason), (int(count), []))[1].append(str(example))
                for (kind, reason), (count, keys) in by_reason.items():
                    silver_table = silver.format(kind=FILE_SILVER_TABLES.get(kind, kind))
                    rows_in = judged_in.get(silver_table)
                    found.append(
                        RowWarning(
                            layer="silver",
                            table_name=f"quarantine.{relation}",
                            check_name=f"{kind}: {reason}" if kind != relation else reason,
                            failing_rows=count,
                            table_rows=None if rows_in is None else int(rows_in),
                            examples=", ".join(keys) + (", ..." if count > len(keys) else ""),
                        )
                    )
        self.warnings += found

    # the verdicts

    @property
    def freshness_errors(self) -> list[Freshness]:
        return [f for f in self.freshness if f.status in ("error", "runtime error")]

    @property
    def freshness_warnings(self) -> list[Freshness]:
        return [f for f in self.freshness if f.status == "warn"]

    @property
    def flagged(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.flagged]

    def finish(self, error: BaseException | None) -> None:
        self.ended_at = utc_now()
        if error is None:
            self.status = "ok"
        else:
            self.status = "failed"
            text = str(error).strip() or type(error).__name__
            if isinstance(error, KeyboardInterrupt):
                text = "interrupted"
            self.error_message = redact(text)

    # writing

    def write(self) -> None:
        """Append this run to the audit tables (created on first use)."""
        with opened(self.target) as warehouse:
            ensure_audit_tables(warehouse)
            runs = warehouse.relation(AUDIT_SCHEMA, RUNS_TABLE)
            tables = warehouse.relation(AUDIT_SCHEMA, TABLES_TABLE)
            warehouse.execute(
                f"insert into {runs} ({', '.join(RUN_COLUMNS)})"
                f" values ({', '.join('?' for _ in RUN_COLUMNS)})",
                (
                    self.run_id,
                    self.command[:255],
                    self.target,
                    self.status,
                    self.started_at,
                    self.ended_at,
                    self.error_message,
                ),
            )
            warehouse.executemany(
                f"insert into {tables} ({', '.join(TABLE_COLUMNS)})"
                f" values ({', '.join('?' for _ in TABLE_COLUMNS)})",
                [row.values(self.run_id) for _, row in sorted(self.tables.items())],
            )
            if self.warnings:
                ensure_warnings_table(warehouse)
                warned = warehouse.relation(AUDIT_SCHEMA, WARNINGS_TABLE)
                warehouse.executemany(
                    f"insert into {warned} ({', '.join(WARNING_COLUMNS)})"
                    f" values ({', '.join('?' for _ in WARNING_COLUMNS)})",
                    [warning.values(self.run_id) for warning in self.warnings],
                )
            warehouse.commit()


def ensure_schema(warehouse: AuditWarehouse) -> None:
    """The audit schema, if missing (on MySQL the database is created ``utf8mb4_bin``
    like every database of the project)."""
    schema = warehouse.quote(warehouse.schema(AUDIT_SCHEMA))
    if warehouse.is_mysql:
        warehouse.execute(
            f"create database if not exists {schema}"
            f" character set utf8mb4 collate {MYSQL_COLLATION}"
        )
    else:
        warehouse.execute(f"create schema if not exists {schema}")


def ensure_audit_tables(warehouse: AuditWarehouse) -> None:
    """The audit schema and its two tables, if missing (the warnings table is made by
    ``ensure_warnings_table`` when a run first has warnings to record)."""
    ensure_schema(warehouse)
    kind = 1 if warehouse.is_mysql else 0
    for table, columns in ((RUNS_TABLE, RUN_COLUMNS), (TABLES_TABLE, TABLE_COLUMNS)):
        body = ", ".join(f"{name} {types[kind]}" for name, types in columns.items())
        if table == TABLES_TABLE:
            body += ", primary key (run_id, table_name)"
        relation = warehouse.relation(AUDIT_SCHEMA, table)
        warehouse.execute(f"create table if not exists {relation} ({body})")
    # columns added since the first release, for audit tables created before them
    for name in ADDED_TABLE_COLUMNS:
        warehouse.execute(
            f"alter table {warehouse.relation(AUDIT_SCHEMA, TABLES_TABLE)}"
            f" add column if not exists {name} {TABLE_COLUMNS[name][kind]}"
        )


def ensure_warnings_table(warehouse: AuditWarehouse) -> None:
    """``audit.pipeline_run_warnings``, if missing."""
    kind = 1 if warehouse.is_mysql else 0
    body = ", ".join(f"{name} {types[kind]}" for name, types in WARNING_COLUMNS.items())
    warehouse.execute(
        f"create table if not exists {warehouse.relation(AUDIT_SCHEMA, WARNINGS_TABLE)} ({body})"
    )


# --- reading the audit back ---------------------------------------------------------------


def read_runs(target: str, limit: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The last ``limit`` runs (newest first) and the table rows of the newest; two
    empty lists when no run was ever recorded (no warehouse, no audit table)."""
    warehouse = AuditWarehouse(target)
    if not warehouse.exists():
        return [], []
    with opened(target, read_only=True) as warehouse:
        if RUNS_TABLE not in warehouse.tables(AUDIT_SCHEMA):
            return [], []
        runs_relation = warehouse.relation(AUDIT_SCHEMA, RUNS_TABLE)
        found = warehouse.rows(
            f"select {', '.join(RUN_COLUMNS)} from {runs_relation}"
            f" order by started_at desc limit {int(limit)}"
        )
        runs = [dict(zip(RUN_COLUMNS, row, strict=True)) for row in found]
        if not runs:
            return [], []
        present = _columns(warehouse, AUDIT_SCHEMA, TABLES_TABLE)  # older tables lack some
        found = warehouse.rows(
            f"select {', '.join(c if c in present else 'null' for c in TABLE_COLUMNS)}"
            f" from {warehouse.relation(AUDIT_SCHEMA, TABLES_TABLE)}"
            " where run_id = ? order by layer, table_name",
            (runs[0]["run_id"],),
        )
        tables = [dict(zip(TABLE_COLUMNS, row, strict=True)) for row in found]
    order = {"raw": 0, "silver": 1, "gold": 2}
    tables.sort(key=lambda row: (order.get(row["layer"], 3), row["table_name"]))
    return runs, tables


def audit_location(target: str) -> str:
    return f"{schema_prefix()}{AUDIT_SCHEMA}.{RUNS_TABLE} in {describe_warehouse(target)}"


# --- printing -----------------------------------------------------------------------------


def _count(value: Any) -> str:
    return "" if value is None else f"{value:,}"


def raw_checks_table(audit: RunAudit) -> Any:
    """Freshness and volume of each raw table of this run, as a rich Table."""
    from rich.table import Table

    settings = audit.anomaly_settings
    title = "Raw checks: freshness and volume"
    if settings is not None:
        title += f" (anomaly factor {settings.factor:g} from {settings.source})"
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("table", "left"),
        ("rows held", "right"),
        ("amount", "right"),
        ("freshness", "left"),
        ("newest load", "right"),
        ("anomaly", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    styles = {"pass": "green", "warn": "yellow", "error": "bold red", "runtime error": "bold red"}
    for name, row in sorted(audit.tables.items()):
        if row.layer != "raw":
            continue
        status = row.freshness_status
        shown = f"[{styles.get(status, 'white')}]{status}[/]" if status else "no threshold"
        age = "" if row.freshness_age_hours is None else _age(row.freshness_age_hours) + " ago"
        anomaly = (
            Text(f"flagged: {row.anomaly_reason}", style="yellow")
            if row.is_anomaly
            else (row.anomaly_reason or ("no" if row.is_anomaly is not None else ""))
        )
        table.add_row(
            audit.prefixed(name),
            _count(row.table_rows),
            "" if row.table_amount is None else f"{row.table_amount:,.2f}",
            shown,
            age,
            anomaly,
        )
    return table


def print_run_summary(audit: RunAudit, console: Any) -> None:
    """The closing summary of ``medallion run``: every check, warnings included."""
    from rich.table import Table

    table = Table(title=f"Run {audit.run_id} checks", title_justify="left")
    table.add_column("check")
    table.add_column("result")
    statuses = [f.status for f in audit.freshness]
    if audit.freshness:
        parts = [f"{statuses.count(s)} {s}" for s in ("pass", "warn", "error", "runtime error")]
        table.add_row(
            "freshness",
            f"{len(statuses)} tables: " + ", ".join(p for p in parts if not p.startswith("0 ")),
        )
    else:
        table.add_row("freshness", "not checked")
    if audit.anomaly_settings is not None:
        table.add_row(
            "volume anomalies",
            f"{len(audit.flagged)} of {len(audit.anomalies)} tables flagged "
            f"(factor {audit.anomaly_settings.factor:g})",
        )
    else:
        table.add_row("volume anomalies", "not checked")
    for layer in ("raw", "gold"):
        report = audit.quality.get(layer)
        table.add_row(
            f"expectations {layer}",
            "not checked"
            if report is None
            else f"{report.passed:,} of {report.checked:,} passed, "
            f"{len(report.critical)} critical failed, {len(report.warnings)} warning(s)",
        )
    console.print(table)
    for result in audit.freshness_warnings:
        console.print(
            labelled("[yellow]Freshness warning:[/yellow]", audit.prefixed(result.describe()))
        )
    for result in audit.freshness_errors:
        console.print(
            labelled("[bold red]Freshness error:[/bold red]", audit.prefixed(result.describe()))
        )
    for anomaly in audit.flagged:
        console.print(
            labelled(
                "[yellow]Anomaly:[/yellow]", f"{audit.prefixed(anomaly.table)}: {anomaly.reason}"
            )
        )
    for layer in ("raw", "gold"):
        report = audit.quality.get(layer)
        for failure in [] if report is None else report.warnings:
            console.print(labelled("[yellow]Expectation warning:[/yellow]", failure.describe()))
    if audit.warnings:
        console.print(warnings_table(audit))


def warnings_table(audit: RunAudit) -> Any:
    """Every warning of the run: a check that failed on some rows, which the run
    routed and counted (``medallion.policy``), as a rich Table."""
    from rich.table import Table

    table = Table(
        title=f"Warnings ({len(audit.warnings)}): rows standardised, quarantined or flagged",
        title_justify="left",
    )
    for column, justify in (
        ("layer", "left"),
        ("table", "left"),
        ("check", "left"),
        ("rows", "right"),
        ("share", "right"),
        ("examples", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for warning in audit.warnings:
        table.add_row(
            warning.layer,
            audit.prefixed(warning.table_name),
            warning.check_name,
            _count(warning.failing_rows),
            warning.share,
            Text(warning.examples or ""),  # source values, shown as they are
        )
    return table


def print_status(target: str, limit: int, console: Any) -> bool:
    """``medallion status``: the last runs and the tables of the newest; False when no
    run was ever recorded in this warehouse."""
    from rich.table import Table

    runs, tables = read_runs(target, limit)
    if not runs:
        console.print(
            f"No run recorded yet in {describe_warehouse(target)}: `medallion run"
            + ("" if target == "duckdb" else f" --target {target}")
            + "` records one.",
            markup=False,
        )
        return False
    table = Table(
        title=Text(f"Last {len(runs)} run(s): {audit_location(target)}"), title_justify="left"
    )
    for column in ("run id", "started (UTC)", "seconds", "status", "target", "command", "error"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for run in runs:
        seconds = (
            f"{(run['ended_at'] - run['started_at']).total_seconds():.1f}"
            if run["ended_at"] and run["started_at"]
            else ""
        )
        status = run["status"]
        table.add_row(
            run["run_id"],
            f"{run['started_at']:%Y-%m-%d %H:%M:%S}",
            seconds,
            f"[green]{status}[/green]" if status == "ok" else f"[bold red]{status}[/bold red]",
            run["target"],
            Text(run["command"] or ""),  # a user's and a server's text, shown as they are
            Text(run["error_message"] or ""),
        )
    console.print(table)
    detail = Table(title=f"Tables of run {runs[0]['run_id']}", title_justify="left")
    columns = (
        ("table", "table_name"),
        ("layer", "layer"),
        ("extracted", "rows_extracted"),
        ("loaded", "rows_loaded"),
        ("rows", "table_rows"),
        ("deduplicated", "rows_deduplicated"),
        ("quarantined", "rows_quarantined"),
        ("expectations passed", "expectations_passed"),
        ("failed critical", "expectations_failed_critical"),
        ("failed warning", "expectations_failed_warning"),
        ("freshness", "freshness_status"),
        ("anomaly", "anomaly_reason"),
    )
    for title, _ in columns:
        detail.add_column(
            title,
            justify="left" if title in ("table", "layer", "freshness", "anomaly") else "right",
        )
    for row in tables:
        cells = []
        for _, key in columns:
            value = row[key]
            if key == "anomaly_reason":
                flagged = row["is_anomaly"]
                value = "" if flagged is None else ("no", "flagged: " + (value or ""))[flagged]
            elif key == "freshness_status" and row["layer"] == "raw" and value is None:
                value = "no threshold"
            cells.append(_count(value) if isinstance(value, int) else Text(str(value or "")))
        detail.add_row(*cells)
    console.print(detail)
    return True

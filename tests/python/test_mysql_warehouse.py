"""MySQL as the warehouse: the same sources give the same gold on MySQL as on DuckDB.

The demo sources are generated once; the whole pipeline (`medallion run`, the real CLI
in a subprocess) loads and builds them into a DuckDB file and into the real MariaDB,
the latter under a unique ``MEDALLION_SCHEMA_PREFIX`` whose databases are dropped
afterwards. Every table of the marts, quarantine and audit schemas must then hold the
same columns and the same rows on both warehouses, once the drivers' types are put
side by side (booleans are 0/1 on MySQL, decimals compare by value). A second run on
MySQL, with no source change, must load nothing and leave every table as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest
from oracle import mask_pii
from pipeline_helpers import MONEY_COLUMNS, PROJECT_DIR, pipeline_env, run_cli

from medallion.demo import generate_demo

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

COMPARED_SCHEMAS = ("marts", "restricted", "quarantine", "audit")
# The run audit (medallion/run_audit.py) records each run, its ids and times, and each
# successful build (medallion/build_state.py): they differ between any two runs by design
# and have their own tests (test_run_audit.py, test_build_state.py).
RUN_AUDIT_TABLES = {
    "pipeline_runs",
    "pipeline_run_tables",
    "pipeline_run_warnings",
    "dbt_builds",
    "publications",
}

# The dlt load a row came from is named after the time of that load, and a fact line
# carries the watermark of the incremental build that wrote it (a whole build writes it
# empty): they differ between any two runs, so they are not compared across warehouses.
RUN_SPECIFIC_COLUMNS = {"load_id", "rewritten_since"}


Table = tuple[list[str], list[tuple[Any, ...]]]


@dataclass
class Runs:
    prefix: str
    live_database: Path
    archive_database: Path
    duckdb_env: dict[str, str]
    mysql_env: dict[str, str]
    mysql_output: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, module_prefix: str) -> Runs:
    """The default demo, run once into DuckDB and once into MySQL (at the same time)."""
    tmp = tmp_path_factory.mktemp("mysql_warehouse")
    demo = generate_demo(tmp / "demo", seed=42, scale=1)
    sources = (demo.archive_url, demo.live_url, demo.landing_dir)
    duckdb_env = pipeline_env(tmp / "duckdb", *sources)
    mysql_env = pipeline_env(tmp / "mysql", *sources)
    mysql_env["MEDALLION_SCHEMA_PREFIX"] = module_prefix
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb = pool.submit(run_cli, ["run"], duckdb_env)
        on_mysql = pool.submit(run_cli, ["run", "--target", "mysql"], mysql_env)
        on_duckdb.result()
        mysql_output = on_mysql.result().stdout
    return Runs(
        module_prefix,
        tmp / "demo" / "live.sqlite",
        tmp / "demo" / "archive.sqlite",
        duckdb_env,
        mysql_env,
        mysql_output,
    )


# --- reading both warehouses ---------------------------------------------------------


def normalised(value: Any) -> Any:
    """One value as both drivers would agree on it."""
    if isinstance(value, bool):  # DuckDB's booleans; MySQL's are already 0/1
        return int(value)
    if isinstance(value, Decimal):  # by value: 12.30 == 12.3, whatever the scale
        return value.normalize() if value else Decimal(0)
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def sorted_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    kept = [i for i, name in enumerate(columns) if name not in RUN_SPECIFIC_COLUMNS]
    values = [tuple(normalised(row[i]) for i in kept) for row in rows]
    # sort by (is null, type, value) so that None and mixed types never meet in a <
    return [columns[i] for i in kept], sorted(
        values, key=lambda row: [(v is None, type(v).__name__, repr(v)) for v in row]
    )


def duckdb_schema(env: dict[str, str], schema: str) -> dict[str, Table]:
    tables = {}
    with duckdb.connect(env["MEDALLION_DUCKDB_PATH"], read_only=True) as conn:
        names = conn.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [schema],
        ).fetchall()
        for (name,) in names:
            if name in RUN_AUDIT_TABLES:
                continue
            result = conn.execute(f'select * from "{schema}"."{name}"')
            columns = [column[0] for column in result.description]
            tables[name] = sorted_rows(columns, result.fetchall())
    return tables


def mysql_connection() -> pymysql.Connection:
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4")


def mysql_schema(prefix: str, schema: str) -> dict[str, Table]:
    tables = {}
    conn = mysql_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (prefix + schema,),
            )
            for (name,) in cursor.fetchall():
                if name in RUN_AUDIT_TABLES:
                    continue
                cursor.execute(f"select * from `{prefix}{schema}`.`{name}`")
                columns = [column[0] for column in cursor.description]
                tables[name] = sorted_rows(columns, list(cursor.fetchall()))
    finally:
        conn.close()
    return tables


def loaded_counts(output: str, prefix: str) -> dict[str, int]:
    """``raw table -> rows loaded`` from the ingestion summary table of a run (only that
    table: other summaries of the run may name the raw tables too)."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Ingestion (")), None)
    if start is None:
        return counts
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        cells = [cell.strip() for cell in line.replace("┃", "│").split("│")]
        cells = [cell for cell in cells if cell]
        if len(cells) >= 3 and cells[0].startswith(f"{prefix}raw_") and "." in cells[0]:
            counts[cells[0]] = int(cells[2].replace(",", ""))
    return counts


def first_difference(duckdb_table: Table, mysql_table: Table) -> str:
    """A readable account of how two tables differ, for the assertion message."""
    (duck_columns, duck_rows), (mysql_columns, mysql_rows) = duckdb_table, mysql_table
    if duck_columns != mysql_columns:
        return f"columns differ: duckdb {duck_columns} mysql {mysql_columns}"
    only_duckdb = [row for row in duck_rows if row not in mysql_rows]
    only_mysql = [row for row in mysql_rows if row not in duck_rows]
    return (
        f"{len(duck_rows)} rows on duckdb, {len(mysql_rows)} on mysql; "
        f"only on duckdb (first 3): {only_duckdb[:3]}; only on mysql: {only_mysql[:3]}"
    )


# --- tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_every_table_is_identical_on_mysql_and_duckdb(runs: Runs, schema: str) -> None:
    on_duckdb = duckdb_schema(runs.duckdb_env, schema)
    on_mysql = mysql_schema(runs.prefix, schema)
    assert on_duckdb, f"no table in schema {schema} on duckdb"
    assert sorted(on_mysql) == sorted(on_duckdb)
    for table in sorted(on_duckdb):
        assert on_duckdb[table][1], f"{schema}.{table} is empty: the comparison proves nothing"
        assert on_mysql[table] == on_duckdb[table], f"{schema}.{table}: " + first_difference(
            on_duckdb[table], on_mysql[table]
        )


def test_every_schema_is_prefixed_and_money_is_decimal_18_2_on_mysql(runs: Runs) -> None:
    conn = mysql_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select schema_name from information_schema.schemata where schema_name like %s",
                (runs.prefix.replace("_", r"\_") + "%",),
            )
            databases = {name for (name,) in cursor.fetchall()}
            cursor.execute(
                "select table_name, column_name, data_type, numeric_precision, numeric_scale"
                " from information_schema.columns where table_schema = %s",
                (runs.prefix + "marts",),
            )
            columns = cursor.fetchall()
    finally:
        conn.close()
    written = {
        "raw_archive",
        "raw_live",
        "raw_files",
        "seeds",
        "staging",
        "intermediate",
        "snapshots",
        "marts",
        "marts_build",
        "quarantine",
        "audit",
        "restricted",
    }
    assert {runs.prefix + name for name in written} <= databases
    money = [row for row in columns if row[1] in MONEY_COLUMNS]
    assert len(money) >= 20
    assert {row[2:] for row in money} == {("decimal", 18, 2)}, money
    # dlt's local working folder belongs to this server and prefix
    warehouse_dir = Path(runs.mysql_env["MEDALLION_DUCKDB_PATH"]).parent
    assert (warehouse_dir / ".dlt" / f"mysql-127.0.0.1-3306-{runs.prefix}").is_dir()


def test_second_run_on_mysql_loads_nothing_and_changes_nothing(runs: Runs) -> None:
    first = loaded_counts(runs.mysql_output, runs.prefix)
    assert first.get(f"{runs.prefix}raw_live.transactions", 0) > 0, runs.mysql_output[-3000:]
    before = {schema: mysql_schema(runs.prefix, schema) for schema in COMPARED_SCHEMAS}
    # no local dlt state either: it is restored from the MySQL warehouse
    shutil.rmtree(Path(runs.mysql_env["MEDALLION_DUCKDB_PATH"]).parent / ".dlt")
    second = run_cli(["run", "--target", "mysql"], runs.mysql_env).stdout
    loaded = loaded_counts(second, runs.prefix)
    assert set(loaded) == set(first), second[-3000:]
    assert {table: count for table, count in loaded.items() if count} == {}
    # nothing loaded: the build is skipped, by the signature recorded on MySQL
    assert "dbt build skipped" in " ".join(second.split()), second[-3000:]
    after = {schema: mysql_schema(runs.prefix, schema) for schema in COMPARED_SCHEMAS}
    for schema in COMPARED_SCHEMAS:
        for table in before[schema]:
            assert after[schema][table] == before[schema][table], f"{schema}.{table} changed"
    assert after == before


def test_rows_deleted_at_source_close_their_version_and_leave_the_marts_on_mysql(
    runs: Runs,
) -> None:
    """Runs last: it changes the sources. A customer and a transaction hard-deleted in
    the live database: the customer's current version is closed (dbt-mysql's own
    snapshot merge would leave it open), the transaction leaves every fact. Only live
    rows changed, so the MySQL build is incremental (another line is updated too); a
    whole DuckDB build of the same sources must give the same tables."""
    live = sqlite3.connect(runs.live_database)
    archive = sqlite3.connect(runs.archive_database)
    try:
        archived = {row[0] for row in archive.execute("select customer_id from customers")}
        live_only = [
            row[0]
            for row in live.execute("select customer_id from customers order by customer_id")
            if row[0] not in archived
        ]
        conn = mysql_connection()
        with conn.cursor() as cursor:
            cursor.execute(
                f"select customer_id from `{runs.prefix}marts`.dim_customer"
                " where is_current = 1 and customer_key <> -1"
            )
            current = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                f"select max(transaction_id) from `{runs.prefix}marts`.fct_transactions"
                " where source_system = 'live'"
            )
            (transaction_id,) = cursor.fetchone()
        conn.close()
        customer_id = max(set(live_only) & current)
        live.execute("delete from customers where customer_id = ?", (customer_id,))
        live.execute("delete from transactions where transaction_id = ?", (transaction_id,))
        (later,) = live.execute("select max(updated_at) from transactions").fetchone()
        live.execute(
            "update transactions set territory = 'Japan', updated_at = ?"
            " where transaction_id = (select min(transaction_id) from transactions)",
            (later[:4] + "-12-31 23:59:59",),
        )
        live.commit()
    finally:
        live.close()
        archive.close()
    output = run_cli(["run", "--target", "mysql"], runs.mysql_env).stdout
    assert "Incremental build" in output, output[-3000:]
    conn = mysql_connection()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"select is_current, valid_to from `{runs.prefix}marts`.dim_customer"
                " where customer_id = %s",
                (customer_id,),
            )
            versions = cursor.fetchall()
            cursor.execute(
                f"select count(*) from `{runs.prefix}marts`.fct_transactions"
                " where transaction_id = %s",
                (transaction_id,),
            )
            (in_fact,) = cursor.fetchone()
    finally:
        conn.close()
    assert versions and all(is_current == 0 for is_current, _ in versions), versions
    assert all(valid_to.year < 9999 for _, valid_to in versions), versions
    assert in_fact == 0

    run_cli(["ingest"], runs.duckdb_env)
    whole = run_cli(["build", "--full-refresh", "--force"], runs.duckdb_env).stdout
    assert "Incremental build" not in whole

    # the deleted customer's version was closed at the time of each build's snapshot
    def without_deleted_customer(table: Table) -> Table:
        columns, rows = table
        if "valid_to" not in columns or "customer_id" not in columns:
            return table
        at = columns.index("customer_id")
        return columns, [row for row in rows if row[at] != customer_id]

    for schema in COMPARED_SCHEMAS:
        on_duckdb = duckdb_schema(runs.duckdb_env, schema)
        on_mysql = mysql_schema(runs.prefix, schema)
        for table in sorted(on_duckdb):
            duck, mysql = (without_deleted_customer(t[table]) for t in (on_duckdb, on_mysql))
            assert mysql == duck, f"{schema}.{table}: " + first_difference(duck, mysql)


# Messy text as landing files bring it, through every macro that differs by warehouse.
# On MySQL the query runs as `create table ... as select`, like every table model, where
# strict mode turns a cast's warning into an error: what must be null must not fail.
PROBES = {
    "number": ["3.5", "-2.5", " 7", "1e3", "+4", "3.", ".5", "12a", "", "99999999999"],
    "decimal": ["1.234,50", "1,234.50", "1234,5", "12 345,67", "-3,5", "1234.565", "abc"],
    "timestamp": [
        "2024-02-29",
        "2023-02-29",
        "2024-04-31",
        "2024-13-01",
        "2024-03-01T10:00:00Z",
        "2024-03-01 23:59:59.5",
        "2024-03-01 10:00:00.1234567",
        "2024-03-01 24:00:00",
        "2024-03-01 10:60",
        "0000-00-00 00:00:00",
        "garbage",
    ],
    "text": [" Ann@Example.COM ", "bad@", "zoë@example.de", "+49 (30) 123-45", "n/a", "España"],
}

PROBE_SQL = """
with values_ as (
    {%- for kind, values in var("probes").items() %}{% for value in values %}
    select '{{ kind }}' as kind, '{{ value }}' as v
    {%- if not loop.last %} union all{% endif %}{% endfor %}
    {%- if not loop.last %} union all{% endif %}{% endfor %}
)
select
    kind,
    v,
    {{ medallion.try_cast("v", medallion.int_type()) }} as as_int,
    {{ medallion.try_cast("v", "decimal(18, 2)") }} as as_decimal,
    {{ medallion.parse_decimal("v") }} as parsed_decimal,
    {{ medallion.parse_timestamp("trim(v)") }} as parsed_at,
    {{ medallion.iso_day_of_week(
        "cast(" ~ medallion.parse_timestamp("trim(v)") ~ " as date)"
    ) }} as day_of_week,
    {{ medallion.normalise_email("v") }} as email,
    {{ medallion.normalise_phone("v") }} as phone,
    {{ medallion.mask_pii("v") }} as masked,
    {{ medallion.string_concat(["lower(trim(v))", "'#'", "kind"]) }} as concatenated,
    cast(
        extract(year from {{ medallion.parse_timestamp("trim(v)") }}) * 100
        as {{ medallion.bigint_type() }}
    ) as year_times_100
from values_
"""


def compiled(sql: str, target: str, env: dict[str, str]) -> str:
    """``sql`` compiled by dbt for a target, with the project's own macros."""
    dbt = str(Path(sys.executable).parent / "dbt")
    result = subprocess.run(
        [dbt, "--log-format", "json", "compile", "--inline", sql]
        + ["--target", target, "--vars", json.dumps({"probes": PROBES})],
        env={**env, "MEDALLION_TARGET": target},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for line in result.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("info", {}).get("name") == "CompiledNode":
            return event["data"]["compiled"]
    raise AssertionError(f"dbt compile failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")


# What the macros must give, written from their documentation (not read from a run):
# the cases the documentation settles. The others (e.g. '1e3', '24:00:00', seven
# fractional digits) are held to one answer on both warehouses by the comparison.
D = Decimal
EXPECTED = {
    "as_int": {"3.5": 4, "-2.5": -3, " 7": 7, "+4": 4, "12a": None, "": None},
    "as_int_too_big": {"99999999999": None},
    "parsed_decimal": {
        "1.234,50": D("1234.5"),
        "1,234.50": D("1234.5"),
        "1234,5": D("1234.5"),
        "12 345,67": D("12345.67"),
        "-3,5": D("-3.5"),
        "1234.565": D("1234.57"),
        "abc": None,
    },
    # an address with a non-ASCII local part ('zoë@...') is left to the comparison: the
    # macro's "plausible" is ASCII, the oracle's reading of gold.md is looser
    "email": {
        " Ann@Example.COM ": "ann@example.com",
        "bad@": None,
        "+49 (30) 123-45": None,
        "n/a": None,
        "España": None,
    },
    "parsed_at": {
        "2024-02-29": dt.datetime(2024, 2, 29),
        "2023-02-29": None,
        "2024-04-31": None,
        "2024-13-01": None,
        "2024-03-01T10:00:00Z": dt.datetime(2024, 3, 1, 10),
        "2024-03-01 23:59:59.5": dt.datetime(2024, 3, 1, 23, 59, 59, 500000),
        "2024-03-01 10:60": None,
        "0000-00-00 00:00:00": None,
        "garbage": None,
    },
}


def _phone(value: str) -> str | None:
    """Digits, a leading `+` kept; null when no digit is left (normalise_phone)."""
    digits = "".join(c for c in value if c.isdigit())
    return (("+" if value.strip().startswith("+") else "") + digits) if digits else None


def assert_probes_as_documented(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Each probe's conversions against values computed here, so a macro that returned
    NULL (or anything else) on both warehouses alike is still caught."""
    at = {name: columns.index(name) for name in columns}
    by_value = {(row[at["kind"]], row[at["v"]]): row for row in rows}
    for kind, value in by_value:
        row = by_value[kind, value]
        got = {name: row[at[name]] for name in columns}
        parsed = EXPECTED["parsed_at"].get(value, got["parsed_at"])
        expected = {
            "phone": _phone(value),
            "masked": mask_pii(value),
            "concatenated": f"{value.strip().lower()}#{kind}",
            "day_of_week": None if parsed is None else parsed.isoweekday(),
            "year_times_100": None if parsed is None else parsed.year * 100,
        }
        if value in EXPECTED["as_int"] or value in EXPECTED["as_int_too_big"]:
            expected["as_int"] = {**EXPECTED["as_int"], **EXPECTED["as_int_too_big"]}[value]
        if kind == "decimal" and value in EXPECTED["parsed_decimal"]:
            expected["parsed_decimal"] = normalised(EXPECTED["parsed_decimal"][value])
        if kind == "text" and value in EXPECTED["email"]:
            expected["email"] = EXPECTED["email"][value]
        if kind == "timestamp" and value in EXPECTED["parsed_at"]:
            expected["parsed_at"] = parsed
        wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
        assert not wrong, (kind, value, wrong)
    probes = {value for _, value in by_value}
    assert all(set(values) <= probes for values in EXPECTED.values())  # none skipped


def test_messy_text_converts_alike_on_mysql_and_duckdb(tmp_path: Path, mysql_prefix: str) -> None:
    """Needs no pipeline run: dbt compiles the probe, each warehouse runs it."""
    env = pipeline_env(tmp_path, "", "", "")
    Path(env["MEDALLION_DUCKDB_PATH"]).parent.mkdir(parents=True)
    runs = Runs(
        mysql_prefix, tmp_path, tmp_path, env, {**env, "MEDALLION_SCHEMA_PREFIX": mysql_prefix}, ""
    )
    on_duckdb_sql = compiled(PROBE_SQL, "duckdb", runs.duckdb_env)
    on_mysql_sql = compiled(PROBE_SQL, "mysql", runs.mysql_env)
    with duckdb.connect() as conn:
        result = conn.execute(on_duckdb_sql)
        on_duckdb = sorted_rows([c[0] for c in result.description], result.fetchall())
    conn = mysql_connection()
    try:
        with conn.cursor() as cursor:
            database = f"{runs.prefix}probe"
            cursor.execute(
                f"create database `{database}` character set utf8mb4 collate utf8mb4_bin"
            )
            conn.select_db(database)
            cursor.execute("set collation_connection = 'utf8mb4_bin'")
            cursor.execute(f"create table probe as {on_mysql_sql}")
            cursor.execute("select * from probe")
            columns = [c[0] for c in cursor.description]
            on_mysql = sorted_rows(columns, list(cursor.fetchall()))
    finally:
        conn.close()
    assert len(on_duckdb[1]) == sum(len(values) for values in PROBES.values())
    mismatches = [
        (duck_row, mysql_row)
        for duck_row, mysql_row in zip(on_duckdb[1], on_mysql[1], strict=True)
        if duck_row != mysql_row
    ]
    assert on_mysql[0] == on_duckdb[0]
    assert not mismatches, mismatches
    # the same on both warehouses, and what the documentation says (the mask:
    # hashlib's SHA-256 of the UTF-8 bytes)
    assert_probes_as_documented(*on_duckdb)

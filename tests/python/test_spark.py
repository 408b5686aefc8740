"""Spark as the warehouse: the same sources give the same marts, to the cent, on Spark
(dbt-spark, session mode, Parquet tables over a Parquet lake dlt writes) as on DuckDB.

The demo sources are generated once. DuckDB gets `medallion ingest` and `medallion
build`; Spark gets `medallion ingest --target spark` (dlt's filesystem destination,
Parquet files in the lake) and `medallion build --target spark` of the seeds, models
and snapshots (one JVM start; the dbt tests on Spark are a separate, longer run:
docs/spark.md). Spark's tables are Parquet files in its warehouse folder, read here
with DuckDB, so no second JVM starts. Every mart, quarantine and restricted table must
hold the same columns and the same rows on both.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import change_one_live_sale, pipeline_env, run_cli

# the same comparison as the MySQL warehouse's: values normalised, rows sorted
from test_mysql_warehouse import Table, duckdb_schema, sorted_rows

from medallion.demo import generate_demo

# schemas dbt writes whole on every build; the audit's tables hold run-specific rows
COMPARED_SCHEMAS = ("marts", "quarantine", "restricted")
# the dlt load a row came from, and an incremental build's watermark: per run
# what Spark builds: everything but the dbt tests (DBT_INDIRECT_SELECTION=empty: not
# even those of the selected nodes; they all passed by hand, docs/spark.md)
BUILT = ["resource_type:seed", "resource_type:model", "resource_type:snapshot"]


@dataclass
class Builds:
    duckdb_env: dict[str, str]
    spark_env: dict[str, str]
    spark_warehouse: Path
    spark_output: str
    live_database: Path


def _duckdb_side(env: dict[str, str]) -> None:
    run_cli(["ingest"], env)
    run_cli(["build"], env)


def _spark_side(env: dict[str, str]) -> str:
    ingest = run_cli(["ingest", "--target", "spark"], env).stdout
    build = run_cli(["build", "--target", "spark", "--select", *BUILT], env, timeout=900)
    return ingest + build.stdout


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    tmp = tmp_path_factory.mktemp("spark")
    demo = generate_demo(tmp / "demo", seed=42, scale=1)
    sources = (demo.archive_url, demo.live_url, demo.landing_dir)
    duckdb_env = pipeline_env(tmp / "duckdb", *sources)
    spark_env = pipeline_env(tmp / "spark", *sources)
    spark_env["DBT_INDIRECT_SELECTION"] = "empty"
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb = pool.submit(_duckdb_side, duckdb_env)
        on_spark = pool.submit(_spark_side, spark_env)
        on_duckdb.result()
        output = on_spark.result()
    return Builds(
        duckdb_env,
        spark_env,
        tmp / "spark" / "warehouse" / "spark",
        output,
        tmp / "demo" / "live.sqlite",
    )


def spark_schema(warehouse: Path, schema: str) -> dict[str, Table]:
    """Spark's tables of one schema, read from their Parquet files (Hive's layout:
    ``<warehouse>/<schema>.db/<table>/``), in UTC."""
    tables = {}
    with duckdb.connect() as conn:
        conn.execute("set timezone = 'UTC'")
        for folder in sorted((warehouse / f"{schema}.db").iterdir()):
            files = list(folder.glob("*.parquet"))
            assert files, f"Spark's table {schema}.{folder.name} has no Parquet file"
            result = conn.execute(f"select * from read_parquet('{folder}/*.parquet')")
            columns = [column[0] for column in result.description]
            tables[folder.name] = sorted_rows(columns, result.fetchall())
    return tables


def first_difference(duck: Table, spark: Table) -> str:
    (duck_columns, duck_rows), (spark_columns, spark_rows) = duck, spark
    if duck_columns != spark_columns:
        return f"columns differ: duckdb {duck_columns} spark {spark_columns}"
    only_duckdb = [row for row in duck_rows if row not in spark_rows]
    only_spark = [row for row in spark_rows if row not in duck_rows]
    return (
        f"{len(duck_rows)} rows on duckdb, {len(spark_rows)} on spark; "
        f"only on duckdb (first 3): {only_duckdb[:3]}; only on spark: {only_spark[:3]}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_every_table_is_identical_on_spark_and_duckdb(builds: Builds, schema: str) -> None:
    on_duckdb = duckdb_schema(builds.duckdb_env, schema)
    on_spark = spark_schema(builds.spark_warehouse, schema)
    assert on_duckdb, f"no table in schema {schema} on duckdb"
    assert sorted(on_spark) == sorted(on_duckdb)
    for table in sorted(on_duckdb):
        assert on_duckdb[table][1] or schema == "quarantine", f"{schema}.{table} is empty"
        assert on_spark[table] == on_duckdb[table], f"{schema}.{table}: " + first_difference(
            on_duckdb[table], on_spark[table]
        )


@pytest.mark.slow
def test_the_raw_layer_is_parquet_in_the_lake(builds: Builds) -> None:
    lake = Path(builds.spark_env["MEDALLION_DUCKDB_PATH"]).parent / "lake"
    for table in ("raw_archive/transactions", "raw_live/customers", "raw_files/surveys"):
        files = list((lake / table).glob("*.parquet"))
        assert files, f"no Parquet file in {lake / table}"
    with duckdb.connect() as conn:
        types = dict(
            conn.execute(
                "select name, cast(logical_type as varchar) from parquet_schema(?)",
                [str(next((lake / "raw_live/customers").glob("*.parquet")))],
            ).fetchall()
        )
    # microseconds: Spark 3.5 cannot read Parquet's nanosecond timestamps
    assert "MICROS=MicroSeconds()" in types["updated_at"], types


def test_spark_without_java_fails_with_one_clear_line(tmp_path: Path) -> None:
    from medallion.lake import check_java
    from medallion.settings import ConfigError

    saved = os.environ.get("JAVA_HOME")
    os.environ["JAVA_HOME"] = str(tmp_path / "no-java")
    try:
        with pytest.raises(ConfigError, match="needs Java 17.*JAVA_HOME="):
            check_java()
    finally:
        if saved is None:
            del os.environ["JAVA_HOME"]
        else:
            os.environ["JAVA_HOME"] = saved


@pytest.mark.slow
def test_export_from_spark_writes_the_same_marts_as_from_duckdb(
    builds: Builds, tmp_path: Path
) -> None:
    run_cli(["export", "--out", str(tmp_path / "duckdb")], builds.duckdb_env)
    output = run_cli(
        ["export", "--target", "spark", "--out", str(tmp_path / "spark")], builds.spark_env
    ).stdout
    duckdb_files = sorted(p.name for p in (tmp_path / "duckdb").glob("*.parquet"))
    assert duckdb_files
    assert sorted(p.name for p in (tmp_path / "spark").glob("*.parquet")) == duckdb_files
    with duckdb.connect() as conn:
        for name in duckdb_files:
            tables = []
            for side in ("duckdb", "spark"):
                result = conn.execute(f"select * from read_parquet('{tmp_path / side / name}')")
                columns = [column[0] for column in result.description]
                # Spark's row_number() and int columns are 32-bit where DuckDB's are 64
                types = [
                    str(column[1]).replace("INTEGER", "BIGINT") for column in result.description
                ]
                tables.append((types, sorted_rows(columns, result.fetchall())))
            assert tables[1] == tables[0], name
    assert "fct_transactions.parquet" in output


def test_export_from_spark_without_a_build_says_to_build_first(tmp_path: Path) -> None:
    env = pipeline_env(tmp_path, "sqlite:///none", "sqlite:///none", tmp_path)
    result = run_cli(["export", "--target", "spark", "--out", str(tmp_path / "out")], env, 2)
    assert "No marts in" in result.stdout + result.stderr
    assert "build on Spark first" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["run", "--target", "spark"], "medallion run does not run on Spark yet"),
        (["build", "--target", "spark"], "A whole build (without --select) does not run"),
        (["status", "--target", "spark"], "medallion status does not run on Spark yet"),
        (["validate", "--target", "spark"], "medallion validate does not run on Spark yet"),
    ],
)
def test_the_steps_not_yet_on_spark_say_so_in_one_line(
    tmp_path: Path, args: list[str], what: str
) -> None:
    env = pipeline_env(tmp_path, "sqlite:///none", "sqlite:///none", tmp_path)
    result = run_cli(args, env, 2)
    output = " ".join((result.stdout + result.stderr).split())
    assert what in output
    assert "docs/spark.md" in output
    assert "Traceback" not in output


def _closed_by(table: Table, started: dt.datetime) -> Table:
    """The table with each validity end at or after ``started`` (a version a hard
    delete closed in this build: dbt stamps it with the build's own clock, which
    differs between two builds by design) read as one marker."""
    columns, rows = table
    ends = [i for i, name in enumerate(columns) if name.endswith("valid_to")]
    marked = [
        tuple(
            "closed by this build"
            if i in ends and isinstance(v, dt.datetime) and started <= v < dt.datetime(9999, 1, 1)
            else v
            for i, v in enumerate(row)
        )
        for row in rows
    ]
    return columns, sorted(
        marked, key=lambda row: [(v is None, type(v).__name__, repr(v)) for v in row]
    )


@pytest.mark.slow
def test_after_live_updates_an_insert_and_hard_deletes_spark_matches_duckdb_again(
    builds: Builds,
) -> None:
    """Last in the module: it changes the sources. On the lake the changed rows are
    new Parquet rows beside the old (dlt's merge appends there), the deletions new
    marks: the views of `register_lake` must keep each key's newest, and the snapshot
    materialization must open and close versions as dbt's does on DuckDB."""
    live = builds.live_database
    changed = change_one_live_sale(live, builds.duckdb_env["MEDALLION_DUCKDB_PATH"])
    with sqlite3.connect(live) as conn:
        (deleted,) = conn.execute("select max(transaction_id) from transactions").fetchone()
        conn.execute("delete from transactions where transaction_id = ?", (deleted,))
        (customer,) = conn.execute("select max(customer_id) from customers").fetchone()
        conn.execute("delete from transactions where customer_id = ?", (customer,))
        conn.execute("delete from customers where customer_id = ?", (customer,))
        (product,) = conn.execute("select max(product_code) from products").fetchone()
        conn.execute(
            "update products set msrp = msrp + 1, updated_at = '2025-07-02 10:00:00'"
            " where product_code = ?",
            (product,),
        )
        columns = [column[1] for column in conn.execute("pragma table_info(transactions)")]
        first = conn.execute("select * from transactions order by transaction_id limit 1")
        inserted = dict(zip(columns, first.fetchone(), strict=True))
        inserted.update(
            transaction_id=deleted + 1000, order_number=999999, updated_at="2025-07-03 08:00:00"
        )
        conn.execute(
            f"insert into transactions ({', '.join(inserted)})"
            f" values ({', '.join('?' * len(inserted))})",
            list(inserted.values()),
        )
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb = pool.submit(_duckdb_side, builds.duckdb_env)
        on_spark = pool.submit(_spark_side, builds.spark_env)
        on_duckdb.result()
        on_spark.result()
    for schema in COMPARED_SCHEMAS:
        on_duckdb = duckdb_schema(builds.duckdb_env, schema)
        on_spark = spark_schema(builds.spark_warehouse, schema)
        assert sorted(on_spark) == sorted(on_duckdb)
        for table in sorted(on_duckdb):
            duck, spark = (
                _closed_by(on_duckdb[table], started),
                _closed_by(on_spark[table], started),
            )
            assert spark == duck, f"{schema}.{table}: " + first_difference(duck, spark)
    # and the changes are there (not merely the same on both sides)
    marts = spark_schema(builds.spark_warehouse, "marts")
    columns, rows = marts["fct_transactions"]
    lines = {row[columns.index("transaction_id")]: row for row in rows}
    assert deleted not in lines
    assert deleted + 1000 in lines
    assert lines[changed[0]][columns.index("quantity")] == changed[2]
    columns, rows = marts["dim_customer"]
    versions = [row for row in rows if row[columns.index("customer_id")] == customer]
    assert versions and not any(row[columns.index("is_current")] for row in versions)

"""Spark as the warehouse: the same sources give the same marts, to the cent, on Spark
(dbt-spark, session mode, Parquet tables over a Parquet lake dlt writes) as on DuckDB.

The demo sources are generated once. DuckDB gets `medallion ingest` and `medallion
build`; Spark gets `medallion run --target spark`: the lake (dlt's filesystem
destination), source freshness, the raw expectations, every seed, model, snapshot and
dbt test, the gold expectations, publishing, and the run audit in Spark's control file
(one JVM start). Spark's tables and the published marts are Parquet files, read here
with DuckDB, so no second JVM starts but once, at the end, to read the published marts
through Spark's metastore. Every published mart, quarantine and restricted table must
hold the same columns and the same rows on both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline_helpers import (
    change_one_live_sale,
    copy_first_live_transaction,
    pipeline_env,
    run_cli,
)

# the same comparison as the MySQL warehouse's: values normalised, rows sorted
from test_mysql_warehouse import Table, duckdb_schema, sorted_rows

from medallion.demo import generate_demo
from medallion.settings import PROJECT_DIR

# schemas dbt writes whole on every build; the audit's tables hold run-specific rows
COMPARED_SCHEMAS = ("marts", "quarantine", "restricted")
# the dlt load a row came from, and an incremental build's watermark: per run


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
    return run_cli(["run", "--target", "spark"], env, timeout=1500).stdout


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    tmp = tmp_path_factory.mktemp("spark")
    demo = generate_demo(tmp / "demo", seed=42, scale=1)
    sources = (demo.archive_url, demo.live_url, demo.landing_dir)
    duckdb_env = pipeline_env(tmp / "duckdb", *sources)
    spark_env = pipeline_env(tmp / "spark", *sources)
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


def published_folder(warehouse: Path) -> Path:
    """The folder of the newest publication on Spark, as the control file records it."""
    with duckdb.connect(str(warehouse / "medallion_control.duckdb"), read_only=True) as conn:
        (location,) = conn.execute(
            "select location from audit.publications order by published_at desc limit 1"
        ).fetchone()
    return Path(location)


def spark_schema(warehouse: Path, schema: str) -> dict[str, Table]:
    """Spark's tables of one schema, read from their Parquet files (Hive's layout:
    ``<warehouse>/<schema>.db/<table>/``; the marts readers see: the newest
    publication's folder), in UTC."""
    tables = {}
    root = published_folder(warehouse) if schema == "marts" else warehouse / f"{schema}.db"
    with duckdb.connect() as conn:
        conn.execute("set timezone = 'UTC'")
        for folder in sorted(root.iterdir()):
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
def test_the_run_on_spark_passes_every_dbt_test_and_check_and_publishes(builds: Builds) -> None:
    output = " ".join(builds.spark_output.split())
    counts = {
        (kind, status): int(n)
        for kind, status, n in re.findall(r"│ (\w+) │ ([\w ]+?) │ (\d+) │", output)
    }
    assert counts.get(("test", "pass"), 0) >= 200, counts
    assert counts.get(("model", "success"), 0) >= 40, counts
    assert not [key for key in counts if key[1] in ("fail", "error", "skipped", "warn")], counts
    assert "Data quality raw: 169 of 169 checks passed" in output
    assert re.search(r"Data quality gold: (\d+) of \1 checks passed", output), output[-3000:]
    published = re.search(r"Published (\d+) marts \(([\d,]+) rows\) to (\S+) in", output)
    assert published, output[-3000:]
    folder = published_folder(builds.spark_warehouse)
    assert published.group(3) == str(folder)
    with duckdb.connect(builds.duckdb_env["MEDALLION_DUCKDB_PATH"], read_only=True) as conn:
        marts = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        duckdb_rows = sum(
            conn.execute(f'select count(*) from marts."{name}"').fetchone()[0] for (name,) in marts
        )
    assert int(published.group(1)) == len(marts)
    assert int(published.group(2).replace(",", "")) == duckdb_rows
    assert re.search(r"Run \w+ recorded \(ok\)", output)


@pytest.mark.slow
def test_status_and_validate_read_the_run_on_spark(builds: Builds) -> None:
    status = " ".join(run_cli(["status", "--target", "spark"], builds.spark_env).stdout.split())
    assert "medallion run --target spark" in status
    assert " ok " in status
    assert f"in {published_folder(builds.spark_warehouse)}" in status
    validate = run_cli(
        ["validate", "--target", "spark", "--layer", "gold"], builds.spark_env
    ).stdout
    validate = " ".join(validate.split())
    assert re.search(r"Data quality gold: (\d+) of \1 checks passed", validate), validate
    assert "data_docs-spark" in validate


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
    output = " ".join((result.stdout + result.stderr).split())
    assert "No published marts on Spark: run `medallion run --target spark` first" in output


@pytest.mark.parametrize(
    ("args", "setting", "what"),
    [
        (["run"], {"MEDALLION_SPARK_FILE_FORMAT": "delta"}, "medallion run --target spark"),
        (["build"], {"MEDALLION_SPARK_FILE_FORMAT": "delta"}, "A whole build on Spark"),
        (["status"], {"MEDALLION_LAKE_URL": "s3://bucket/lake"}, "medallion status"),
        (["validate"], {"MEDALLION_SPARK_WAREHOUSE": "gs://b/spark"}, "medallion validate"),
        (["export", "--out", "x"], {"MEDALLION_LAKE_URL": "s3://b/l"}, "medallion export"),
    ],
)
def test_what_the_control_file_cannot_read_is_refused_in_one_line(
    tmp_path: Path, args: list[str], setting: dict[str, str], what: str
) -> None:
    """Delta tables, or a lake or warehouse in the cloud: DuckDB reads neither here, so
    the steps that need the control file refuse before ingesting or starting Java."""
    env = {**pipeline_env(tmp_path, "sqlite:///none", "sqlite:///none", tmp_path), **setting}
    result = run_cli([*args, "--target", "spark"], env, 2)
    output = " ".join((result.stdout + result.stderr).split())
    name, value = next(iter(setting.items()))
    assert what in output
    assert (f"{name}={value}" if name.endswith("FORMAT") else f"{name} is {value}") in output
    assert "docs/spark.md" in output
    assert "Traceback" not in output
    for written in ("lake", "spark", "medallion.duckdb"):  # nothing ingested nor built
        assert not (tmp_path / "warehouse" / written).exists(), written


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
        copy_first_live_transaction(conn, deleted + 1000)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    first_publication = published_folder(builds.spark_warehouse)
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb = pool.submit(_duckdb_side, builds.duckdb_env)
        on_spark = pool.submit(_spark_side, builds.spark_env)
        on_duckdb.result()
        output = " ".join(on_spark.result().split())
    # only live rows changed: incremental on DuckDB, whole on Spark (docs/spark.md)
    assert "Whole build: incremental builds are not used on Spark yet" in output
    assert re.search(r"Run \w+ recorded \(ok\)", output)
    publication = published_folder(builds.spark_warehouse)
    assert publication != first_publication
    # the new publication and the previous one, for its last readers
    assert sorted(p.name for p in publication.parent.iterdir()) == sorted(
        [first_publication.name, publication.name]
    )
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


def spark_reads(env: dict[str, str], sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` as a reader of Spark's metastore gets them (``dbt show`` on the
    Spark target: a JVM of its own, after the runs ended)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "--log-format",
            "json",
            "show",
            "--inline",
            sql,
            "--target",
            "spark",
            "--output",
            "json",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
        ],
        env={
            **env,
            "MEDALLION_TARGET": "spark",
            "MEDALLION_SPARK_WAREHOUSE": str(Path(env["MEDALLION_DUCKDB_PATH"]).parent / "spark"),
        },
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for line in result.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        preview = event.get("data", {}).get("preview")
        if preview is not None:
            return json.loads(preview)
    raise AssertionError(f"dbt show printed no rows: {result.stdout[-3000:]}")


@pytest.mark.slow
def test_readers_of_sparks_metastore_see_the_newest_publication(builds: Builds) -> None:
    """After the module's runs: the tables of ``marts`` point at the newest publication's
    folders and hold the rows DuckDB's published marts hold."""
    with duckdb.connect(builds.duckdb_env["MEDALLION_DUCKDB_PATH"], read_only=True) as conn:
        expected = conn.execute('select count(*) from marts."fct_transactions"').fetchone()[0]
    rows = spark_reads(
        builds.spark_env,
        "select count(*) as n, max(file) as file"
        " from (select input_file_name() as file from marts.fct_transactions) as read",
    )
    folder = published_folder(builds.spark_warehouse)
    assert rows[0]["n"] == expected
    assert f"{folder}/fct_transactions/" in rows[0]["file"]


def _spark_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process's settings on a Spark warehouse folder of its own; no JVM starts."""
    for name in ("MEDALLION_SCHEMA_PREFIX", "MEDALLION_SPARK_FILE_FORMAT", "MEDALLION_LAKE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDALLION_DUCKDB_PATH", str(tmp_path / "warehouse" / "medallion.duckdb"))
    warehouse = tmp_path / "warehouse" / "spark"
    monkeypatch.setenv("MEDALLION_SPARK_WAREHOUSE", str(warehouse))
    return warehouse


def test_publishing_on_spark_without_built_marts_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from medallion.publish import PublishFailed, publish

    _spark_settings(monkeypatch, tmp_path)
    with pytest.raises(PublishFailed, match="Spark has no marts in 'marts_build'.*build first"):
        publish("spark")


def _built_marts(warehouse: Path, *tables: str) -> None:
    """Marts as dbt leaves them in Spark's warehouse folder: one Parquet file each."""
    for number, table in enumerate(tables, start=1):
        built = warehouse / "marts_build.db" / table
        built.mkdir(parents=True)
        with duckdb.connect() as conn:
            conn.execute(
                f"copy (select range as id from range({number})) to '{built / 'part-0.parquet'}'"
            )


def test_a_publication_on_spark_that_cannot_copy_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The copy fails after the first mart is in the new folder: the message says the
    published marts are as they were, and the folder, half filled, is gone."""
    import shutil

    from medallion.publish import PublishFailed, publish

    warehouse = _spark_settings(monkeypatch, tmp_path)
    _built_marts(warehouse, "dim_customers", "fct_transactions")
    copied: list[str] = []
    copy = shutil.copyfile

    def copy_then_fail(source: Path, target: Path, **kwargs: Any) -> Any:
        if copied:
            raise OSError(28, "No space left on device")
        copied.append(Path(source).parent.name)
        return copy(source, target, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copy_then_fail)
    with pytest.raises(PublishFailed, match="copying them into .*No space left.*as they were"):
        publish("spark")
    assert copied == ["dim_customers"]  # the first mart was copied, the second failed
    assert list((warehouse / "published_marts").iterdir()) == []


def test_after_a_failed_metastore_pass_the_recorded_publication_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """P1 is published and recorded; P2's metastore pass fails (its folder stays, not
    recorded); P3 succeeds: P1, what readers read until P3, is kept, and so is P2
    (tables pointed at it). P4 then deletes both, keeping P3 and itself. The
    metastore pass (dbt's run-operation) is replaced here, so no JVM starts."""
    import medallion.transform as transform
    from medallion.publish import PublishFailed, last_publication, publish

    warehouse = _spark_settings(monkeypatch, tmp_path)
    _built_marts(warehouse, "dim_customers", "fct_transactions")
    passes: list[dict[str, Any]] = []
    failing = {"now": False}

    def metastore_pass(args: list[str], target: str, *rest: Any, **kwargs: Any) -> None:
        assert args[:2] == ["run-operation", "spark_publish_marts"] and target == "spark"
        passes.append(json.loads(args[3]))
        if failing["now"]:
            raise transform.BuildFailed("dbt run-operation\nRuntime Error: metastore gone")

    monkeypatch.setattr(transform, "run_dbt", metastore_pass)
    first = publish("spark")
    failing["now"] = True
    with pytest.raises(PublishFailed, match="metastore gone.*may be missing.*publishing again"):
        publish("spark")
    second = Path(passes[-1]["tables"]["fct_transactions"]).parent
    failing["now"] = False
    third = publish("spark")
    root = warehouse / "published_marts"
    assert passes[-1]["publications"] == str(root)
    assert last_publication("spark")["location"] == third.location
    assert sorted(p.name for p in root.iterdir()) == sorted(
        Path(p).name for p in (first.location, second, third.location)
    )
    assert [p.name for p in (Path(first.location) / "fct_transactions").iterdir()] == [
        "part-0.parquet"
    ]
    fourth = publish("spark")
    assert sorted(p.name for p in root.iterdir()) == sorted(
        Path(p).name for p in (third.location, fourth.location)
    )
    assert fourth.rows == {"dim_customers": 1, "fct_transactions": 2}


def test_the_control_file_keeps_each_keys_row_of_the_newest_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A table dlt merges is appended on Parquet: two files hold key 1, from two loads.
    The control file's view keeps the row of the greater ``_dlt_load_id`` (the newer
    load), whichever file is listed first."""
    import medallion.lake as lake
    from medallion.spark_control import connect

    _spark_settings(monkeypatch, tmp_path)
    folder = tmp_path / "lake" / "raw_live" / "customers"
    folder.mkdir(parents=True)
    monkeypatch.setenv("MEDALLION_LAKE_URL", str(tmp_path / "lake"))
    loads = {  # file name -> (load id, rows); the newer load in the file listed first
        "a.parquet": ("1733572000.2", [(1, "new"), (3, "only-new")]),
        "b.parquet": ("1733571000.1", [(1, "old"), (2, "only-old")]),
    }
    with duckdb.connect() as conn:
        for name, (load, rows) in loads.items():
            values = ", ".join(f"({key}, '{text}', '{load}')" for key, text in rows)
            conn.execute(
                f"copy (select * from (values {values}) as t(id, name, _dlt_load_id)) "
                f"to '{folder / name}'"
            )
    entry = {"schema": "raw_live", "table": "customers", "location": "", "keys": ["id"]}
    monkeypatch.setattr(lake, "lake_tables", lambda: [entry])
    conn = connect()
    try:
        rows = conn.execute("select id, name from raw_live.customers order by id").fetchall()
    finally:
        conn.close()
    assert rows == [(1, "new"), (2, "only-old"), (3, "only-new")]


# One process, one JVM: Spark's session set up as the profile's (dbt-spark then reuses
# it), the metastore prepared, the real publishing pass run through dbt, the result read.
_PUBLISH_PASS_SCRIPT = """
import json, os, sys
from pyspark.sql import SparkSession
from medallion.transform import run_dbt

warehouse, root = os.environ["MEDALLION_SPARK_WAREHOUSE"], sys.argv[1]
spark = (
    SparkSession.builder.master("local[1]")
    .config("spark.sql.warehouse.dir", warehouse)
    .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
    .config("spark.sql.catalogImplementation", "hive")
    .enableHiveSupport()
    .getOrCreate()
)
for statement in (
    "create database marts_build",
    "create database marts",
    "create table marts_build.fct_sales (id bigint, name string) using parquet",
    "create table marts_build.dim_old (id bigint) using parquet",
    f"create table marts.fct_sales using parquet location '{root}/P1/fct_sales'",
    f"create table marts.mart_dropped using parquet location '{root}/P1/mart_dropped'",
    "create table marts.dim_old (id bigint) using parquet",
    "insert into marts.dim_old values (7)",
    "create table marts.analysts_own (id bigint) using parquet",
    "create view marts.analysts_view as select 1 as x",
):
    spark.sql(statement)
tables = {name: f"{root}/P2/{name}" for name in ("fct_sales", "dim_old")}
arguments = {"schema": "marts", "built": "marts_build", "tables": tables, "publications": root}
run_dbt(["run-operation", "spark_publish_marts", "--args", json.dumps(arguments)], target="spark")
found = {}
for row in spark.sql("show tables in marts").collect():
    if not row.isTemporary:
        detail = {
            r.col_name: r.data_type
            for r in spark.sql(f"describe table extended marts.{row.tableName}").collect()
        }
        found[row.tableName] = [detail.get("Type"), detail.get("Location")]
found["rows"] = spark.sql("select count(*) as n from marts.dim_old").collect()[0].n
print("RESULT " + json.dumps(found))
"""


@pytest.mark.slow
def test_the_publishing_pass_makes_managed_marts_external_and_leaves_other_tables(
    tmp_path: Path,
) -> None:
    """Spark's metastore before publishing: ``fct_sales`` external in the previous
    publication, ``mart_dropped`` there too but no longer built, ``dim_old`` managed
    (built in ``marts`` before publishing), an analyst's own table and view. After the
    real pass: both marts external in the new folder, the mart no longer built gone
    (its files kept), the analyst's table and view still there."""
    root = tmp_path / "published_marts"
    with duckdb.connect() as conn:
        for folder, select in {
            "P1/fct_sales": "select 1::bigint as id, 'a' as name",
            "P1/mart_dropped": "select 1::bigint as id",
            "P2/fct_sales": "select 1::bigint as id, 'a' as name",
            "P2/dim_old": "select range::bigint as id from range(3)",
        }.items():
            (root / folder).mkdir(parents=True)
            conn.execute(f"copy ({select}) to '{root / folder / 'part-0.parquet'}'")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DBT_"))},
        "MEDALLION_TARGET": "spark",
        "MEDALLION_SPARK_WAREHOUSE": str(tmp_path / "spark"),
        "MEDALLION_DUCKDB_PATH": str(tmp_path / "medallion.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
    }
    result = subprocess.run(
        [sys.executable, "-c", _PUBLISH_PASS_SCRIPT, str(root)],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    found = json.loads(line[len("RESULT ") :])
    rows = found.pop("rows")
    assert found == {
        "fct_sales": ["EXTERNAL", f"file:{root}/P2/fct_sales"],
        "dim_old": ["EXTERNAL", f"file:{root}/P2/dim_old"],
        "analysts_own": ["MANAGED", f"file:{tmp_path}/spark/marts.db/analysts_own"],
        "analysts_view": ["VIEW", None],
    }
    assert rows == 3  # the new publication's rows, not the managed table's one
    assert (root / "P1" / "mart_dropped" / "part-0.parquet").exists()


def test_the_control_files_timestamps_are_naive_utc_whatever_the_session_zone(
    tmp_path: Path,
) -> None:
    """Spark writes instants; the view gives them as naive UTC (as the other targets hold
    them) even in a session whose time zone is not UTC."""
    from medallion.spark_control import naive_utc_select

    file = tmp_path / "part-0.parquet"
    with duckdb.connect() as conn:
        conn.execute(f"copy (select timestamptz '2026-03-01 23:30:00+00' as at) to '{file}'")
        conn.execute("set timezone = 'America/New_York'")
        select = naive_utc_select(conn, f"read_parquet('{file}')")
        assert conn.execute(select).fetchall() == [(dt.datetime(2026, 3, 1, 23, 30),)]

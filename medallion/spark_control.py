"""The Spark target's control file: where ``medallion`` keeps its own records for Spark
and reads Spark's tables with DuckDB, so the run audit, the build signature, the Great
Expectations checks and the publication records run their SQL unchanged.

The checks and records of a run (``run_audit``, ``build_state``, ``quality``,
``publish``) speak DuckDB's SQL to a connection. On Spark that connection is a DuckDB
file of its own, ``medallion_control.duckdb`` in Spark's warehouse folder
(``MEDALLION_SPARK_WAREHOUSE``), never the DuckDB target's file: it holds the audit
tables (``audit.pipeline_runs``, ``audit.dbt_builds``, ``audit.publications``...), and
every time it is opened, views under the same ``schema.table`` names as on Spark:

* each raw table of the lake (``MEDALLION_LAKE_URL``, dlt's Parquet files, from
  ``lake.lake_tables``): a table dlt loads with ``merge`` (which appends on Parquet)
  keeps each key's newest row by the greatest ``_dlt_load_id``, exactly as the
  ``register_lake`` hook does in Spark;
* each table dbt built in Spark (``<warehouse>/<schema>.db/<table>/*.parquet``), its
  timestamps (UTC instants in Parquet) read as naive UTC like every timestamp of the
  project. Spark's views (the staging models) have no files and are not there.

Opening Spark itself would start a JVM and its metastore (Derby allows one JVM), so the
files are read directly; this needs them local. A cloud lake or warehouse, or tables in
Delta (whose folders hold files no longer part of the table), are refused in one line
(``check``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .settings import ConfigError, lake_url, spark_warehouse

CONTROL_FILE = "medallion_control.duckdb"


def check(what: str = "The checks and records on Spark") -> None:
    """Refuse, in one line, a setup whose tables the control file cannot read."""
    file_format = os.environ.get("MEDALLION_SPARK_FILE_FORMAT") or "parquet"
    if file_format != "parquet":
        raise ConfigError(
            f"{what}: medallion reads Spark's tables as Parquet files with DuckDB, which "
            f"MEDALLION_SPARK_FILE_FORMAT={file_format} does not allow yet; use `medallion "
            "build --select ...` there (docs/spark.md)"
        )
    for setting, location in (
        ("MEDALLION_SPARK_WAREHOUSE", spark_warehouse()),
        ("MEDALLION_LAKE_URL", lake_url()),
    ):
        if "://" in location:
            raise ConfigError(
                f"{what}: medallion reads Spark's tables and the lake with DuckDB from local "
                f"folders only, and {setting} is {location} (DuckDB's httpfs is not "
                "installed); use `medallion build --select ...` there (docs/spark.md)"
            )


def control_path() -> Path:
    """The control file (``<MEDALLION_SPARK_WAREHOUSE>/medallion_control.duckdb``)."""
    check()
    return Path(spark_warehouse()) / CONTROL_FILE


def connect() -> Any:
    """A read-write connection to the control file, its views of the lake's and Spark's
    tables made again (a load or a build since the last opening may have added files,
    columns or tables). The audit tables are left as they are."""
    import duckdb

    path = control_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        conn.execute("set timezone = 'UTC'")
        expose(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _files(folder: Path) -> str:
    return _text(str(folder / "*.parquet"))


def lake_views() -> list[tuple[str, str, str]]:
    """(schema, table, select) for each raw table of the lake."""
    from .lake import lake_tables

    root = Path(lake_url())
    views = []
    for entry in lake_tables():
        folder = root / entry["schema"] / entry["table"]
        if not any(folder.glob("*.parquet")):
            continue
        files = f"read_parquet({_files(folder)}, union_by_name = true)"
        if entry["keys"]:
            keys = ", ".join(_name(key) for key in entry["keys"])
            select = (
                "select * exclude (lake_version) from (select *, row_number() over "
                f'(partition by {keys} order by "_dlt_load_id" desc) as lake_version '
                f"from {files}) as versions where lake_version = 1"
            )
        else:
            select = f"select * from {files}"
        views.append((entry["schema"], entry["table"], select))
    return views


def built_folders() -> dict[tuple[str, str], Path]:
    """(schema, table) -> folder, for every table with Parquet files in Spark's
    warehouse (Hive's layout, ``<schema>.db/<table>/``)."""
    found = {}
    for schema in sorted(Path(spark_warehouse()).glob("*.db")):
        for folder in sorted(p for p in schema.iterdir() if p.is_dir()):
            if any(folder.glob("*.parquet")):
                found[(schema.name[: -len(".db")], folder.name)] = folder
    return found


def naive_utc_select(conn: Any, source: str) -> str:
    """``select`` of every column of ``source``, Spark's timestamps (instants) as naive
    UTC, which is how the other targets hold them (``timezone('UTC', ...)``, whatever
    the session's time zone)."""
    columns = [
        f"timezone('UTC', {_name(name)}) as {_name(name)}"
        if kind == "TIMESTAMP WITH TIME ZONE"
        else _name(name)
        for name, kind, *_ in conn.execute(f"describe select * from {source}").fetchall()
    ]
    return f"select {', '.join(columns)} from {source}"


def expose(conn: Any) -> None:
    """Replace every view of the control file with the lake's and Spark's tables now."""
    old = conn.execute(
        "select schema_name, view_name from duckdb_views() where not internal"
        " and database_name = current_database()"
    ).fetchall()
    for schema, view in old:
        conn.execute(f"drop view {_name(schema)}.{_name(view)}")
    views = lake_views()
    for (schema, table), folder in built_folders().items():
        # a table rewritten with new columns may keep older files for a moment
        source = f"read_parquet({_files(folder)}, union_by_name = true)"
        views.append((schema, table, naive_utc_select(conn, source)))
    for schema in sorted({schema for schema, _, _ in views}):
        conn.execute(f"create schema if not exists {_name(schema)}")
    own = {
        (schema, table)
        for schema, table in conn.execute(
            "select schema_name, table_name from duckdb_tables()"
            " where database_name = current_database()"
        ).fetchall()
    }
    for schema, table, select in views:
        if (schema, table) in own:  # a record of the control file's own: never shadowed
            continue
        conn.execute(f"create view {_name(schema)}.{_name(table)} as {select}")

"""The raw layer of the Spark target: Parquet files that dlt writes to the lake
(``MEDALLION_LAKE_URL``), named as tables in Spark's metastore so the dbt sources
resolve there as on the other targets (``raw_live.customers``...).

dlt's filesystem destination writes plain Parquet, where ``merge`` falls back to
``append``: every load adds the new versions of the rows it read, and replaced tables
are rewritten. So each table loaded with ``merge`` (live rows, landing rows, deletion
marks) is registered as ``<schema>.<table>__lake`` over its folder, and the source
``<schema>.<table>`` is a view over it that keeps each primary key's newest row (the
greatest ``_dlt_load_id``): what dlt's merge keeps on DuckDB and MySQL. The registration
itself is dbt's, in the ``on-run-start`` hook ``register_lake`` (macros/spark/), which
reads the list this module builds; nothing here imports pyspark.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .settings import RAW_SCHEMAS, ConfigError, lake_url, raw_schema

LAKE_TABLES_ENV = "MEDALLION_LAKE_TABLES"
# the list of tables this process last registered (``register_lake``)
LAKE_REGISTERED_ENV = "MEDALLION_LAKE_REGISTERED"


def spark_lake_url() -> str:
    """The lake as Spark reads it: ``MEDALLION_LAKE_SPARK_URL``, else the lake URL dlt
    writes to. Differs only where the two name one store differently (dlt's ``s3://``
    is Hadoop's ``s3a://``)."""
    return os.environ.get("MEDALLION_LAKE_SPARK_URL") or lake_url()


def _raw_schema_of(source: str) -> Any:
    """dlt's schema of one source's pipeline on the lake, or None before its first load.
    The pipeline's local folder if it has one, else the state dlt keeps in the lake."""
    from ingestion.pipelines import make_pipeline

    pipeline = make_pipeline(source, "spark")
    if not pipeline.default_schema_name:
        pipeline.sync_destination()
    return pipeline.default_schema if pipeline.default_schema_name else None


def lake_tables() -> list[dict[str, Any]]:
    """Every raw table that has rows in the lake: its schema, name, folder and, when
    dlt loads it with ``merge``, its primary key (the view keeps each key's newest
    row). Tables declared but never loaded are left out: the staging models treat a
    missing table as empty (``relation_columns``)."""
    tables = []
    for source in RAW_SCHEMAS:
        schema = _raw_schema_of(source)
        if schema is None:
            continue
        dataset = raw_schema(source)
        for name in schema.data_table_names(seen_data_only=True):
            table = schema.tables[name]
            keys = [c for c, column in table["columns"].items() if column.get("primary_key")]
            merged = table.get("write_disposition") == "merge" and keys
            tables.append(
                {
                    "schema": dataset,
                    "table": name,
                    "location": f"{spark_lake_url().rstrip('/')}/{dataset}/{name}",
                    "keys": keys if merged else [],
                }
            )
    return tables


def lake_environment() -> None:
    """Hand the lake's tables to dbt (``MEDALLION_LAKE_TABLES``, read by the
    ``register_lake`` hook)."""
    os.environ[LAKE_TABLES_ENV] = json.dumps(lake_tables())


def register_lake() -> None:
    """Name the lake's tables in Spark's metastore now, for a dbt command that does not
    run the ``on-run-start`` hooks: ``dbt source freshness``, which a run checks before
    it builds (on a new metastore the sources would not exist yet). The hook of the
    build that follows in this process then registers nothing, unless a load changed the
    list since (``MEDALLION_LAKE_REGISTERED``; Derby takes about a minute for it); the
    build forgets it (``registered_lake_used``), so a later build in a process that
    stays registers again: registering is also what makes Spark list a table's files
    anew."""
    from .transform import run_dbt

    run_dbt(["run-operation", "register_lake", "--args", "{force: true}"], target="spark")
    os.environ[LAKE_REGISTERED_ENV] = os.environ[LAKE_TABLES_ENV]


def registered_lake_used() -> None:
    """Forget the registration ``register_lake`` made, once a build has used it."""
    os.environ.pop(LAKE_REGISTERED_ENV, None)


def check_java() -> str:
    """The Java that Spark will start, or a clear error when there is none: pyspark's own
    message is a stack trace about a gateway. ``JAVA_HOME`` first, then ``java`` on the
    PATH."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ConfigError(
            "The Spark target needs Java 17 (or 8, 11): none found"
            + (f" at JAVA_HOME={home}" if home else " on the PATH")
            + ". Install a JRE (Debian: apt-get install openjdk-17-jre-headless) or set "
            "JAVA_HOME."
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigError(f"{java} -version failed: {result.stderr.strip()[:200]}")
    return (result.stderr or result.stdout).splitlines()[0]

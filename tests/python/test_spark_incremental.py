"""An incremental build on Spark (``MEDALLION_CHANGED_SINCE``) gives the rows DuckDB's
incremental build gives, after a live update, an insert and a hard delete.

The demo is ingested and built on both, whole; then the live source changes, both
ingest again, DuckDB runs ``medallion build`` (incremental: only live rows changed)
and Spark runs dbt's build of the nodes downstream of the live source with the
watermark of its first build, the newest load id in the lake, as ``medallion build``
hands DuckDB's. On Spark ``fct_transactions`` is then rebuilt whole (its incremental
statement did not finish there: docs/spark.md); the other incremental models take the
watermark. Every table of ``marts``, ``quarantine`` and ``restricted`` must match.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pipeline_helpers import (
    PROJECT_DIR,
    change_one_live_sale,
    copy_first_live_transaction,
    pipeline_env,
    run_cli,
)
from test_spark import (
    COMPARED_SCHEMAS,
    _closed_by,
    duckdb_schema,
    first_difference,
    spark_schema,
)

from medallion.demo import generate_demo

pytestmark = pytest.mark.slow

# what the first Spark build builds: everything but the dbt tests
BUILT = ["resource_type:seed", "resource_type:model", "resource_type:snapshot"]


def built_on_spark(warehouse: Path, schema: str) -> dict:
    """Spark's tables of one schema as this build left them: the marts where they are built
    (``marts_build``; a ``--select`` build publishes nothing)."""
    return spark_schema(warehouse, "marts_build" if schema == "marts" else schema)


INCREMENTAL_ON_SPARK = """
import sys
from medallion.settings import prepare_environment
prepare_environment()
from medallion.transform import run_dbt
outcome = run_dbt(
    ["build", "--select", "source:live+", "--exclude", "resource_type:test"],
    target="spark",
    changed_since=sys.argv[1],
)
print("nodes", sum(outcome.counts.values()))
"""


def newest_lake_load(lake: Path) -> str:
    """The newest dlt load id in the lake: every raw schema's ``_dlt_loads`` files are
    named ``<pipeline>__<load id>.<ext>``."""
    ids = [re.search(r"__(\d+\.\d+)\.", path.name).group(1) for path in lake.glob("*/_dlt_loads/*")]
    assert ids, f"no load in {lake}"
    return max(ids, key=float)


def test_an_incremental_build_on_spark_matches_duckdbs(tmp_path: Path) -> None:
    demo = generate_demo(tmp_path / "demo", seed=42, scale=1)
    sources = (demo.archive_url, demo.live_url, demo.landing_dir)
    duckdb_env = pipeline_env(tmp_path / "duckdb", *sources)
    spark_env = pipeline_env(tmp_path / "spark", *sources)
    spark_env["DBT_INDIRECT_SELECTION"] = "empty"
    lake = tmp_path / "spark" / "warehouse" / "lake"

    def first_duckdb() -> None:
        run_cli(["ingest"], duckdb_env)
        run_cli(["build"], duckdb_env)

    def first_spark() -> None:
        run_cli(["ingest", "--target", "spark"], spark_env)
        run_cli(["build", "--target", "spark", "--select", *BUILT], spark_env, timeout=1200)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(first_duckdb), pool.submit(first_spark)]:
            future.result()
    watermark = newest_lake_load(lake)

    live = tmp_path / "demo" / "live.sqlite"
    changed = change_one_live_sale(live, duckdb_env["MEDALLION_DUCKDB_PATH"])
    with sqlite3.connect(live) as conn:
        (deleted,) = conn.execute("select max(transaction_id) from transactions").fetchone()
        conn.execute("delete from transactions where transaction_id = ?", (deleted,))
        copy_first_live_transaction(conn, deleted + 1000)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def second_duckdb() -> str:
        run_cli(["ingest"], duckdb_env)
        return run_cli(["build"], duckdb_env).stdout

    def second_spark() -> str:
        run_cli(["ingest", "--target", "spark"], spark_env)
        result = subprocess.run(
            [sys.executable, "-c", INCREMENTAL_ON_SPARK, watermark],
            # `empty` would drop the children of `source:live+` too (docs/spark.md):
            # the tests are excluded by name instead
            env={k: v for k, v in spark_env.items() if k != "DBT_INDIRECT_SELECTION"},
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    with ThreadPoolExecutor(max_workers=2) as pool:
        on_duckdb, on_spark = pool.submit(second_duckdb), pool.submit(second_spark)
        duckdb_output, spark_output = on_duckdb.result(), on_spark.result()
    assert "Incremental build" in " ".join(duckdb_output.split())
    # the lake gained loads after the watermark: the build had rows to take
    assert float(newest_lake_load(lake)) > float(watermark)
    assert re.search(r"^nodes [1-9]\d*$", spark_output, re.MULTILINE), spark_output[-2000:]

    for schema in COMPARED_SCHEMAS:
        on_duckdb = duckdb_schema(duckdb_env, schema)
        on_spark = built_on_spark(tmp_path / "spark" / "warehouse" / "spark", schema)
        assert sorted(on_spark) == sorted(on_duckdb)
        for table in sorted(on_duckdb):
            duck = _closed_by(on_duckdb[table], started)
            spark = _closed_by(on_spark[table], started)
            assert spark == duck, f"{schema}.{table}: " + first_difference(duck, spark)
    marts = built_on_spark(tmp_path / "spark" / "warehouse" / "spark", "marts")
    columns, rows = marts["fct_transactions"]
    lines = {row[columns.index("transaction_id")]: row for row in rows}
    assert deleted not in lines and deleted + 1000 in lines
    assert lines[changed[0]][columns.index("quantity")] == changed[2]

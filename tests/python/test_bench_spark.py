"""`medallion bench --spark-rows` at a tiny size against the real MariaDB and a real
Spark (session mode, in the build's own JVM): the same project is ingested into a lake
and built on Spark beside the DuckDB build, every node passing on both; the start-up
phases read from dbt's log add up with the nodes to the build's wall time, and every
ratio is the quotient of the raw figures reported beside it. Timings are not asserted.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import databases_with_prefix, drop_databases, run_cli

from medallion.bench_spark import build_phases

ROWS = 1_500


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, mysql_server: dict[str, Any]) -> dict:
    """One tiny benchmark with its size also built on Spark: a DuckDB build and a Spark
    build with every dbt test (minutes: the Spark build alone took 13 on a loaded machine)."""
    tmp = tmp_path_factory.mktemp("bench_spark")
    prefix = f"tbspark{os.getpid()}_"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "MEDALLION_", "DBT_"))
    }
    env["MEDALLION_SPARK_DRIVER_MEMORY"] = "1g"
    out = tmp / "results.json"
    try:
        run_cli(
            [
                "bench",
                "--rows",
                str(ROWS),
                "--changes",
                "0",
                "--skip-make-run",
                "--out",
                str(out),
                "--db-prefix",
                prefix,
                "--spark-rows",
                str(ROWS),
            ],
            env,
            timeout=2400,
        )
        left = databases_with_prefix(prefix)
    finally:  # never leave databases behind, whatever failed
        drop_databases(prefix)
    return {"results": json.loads(Path(out).read_text()), "left": left}


@pytest.mark.mysql
@pytest.mark.slow
def test_spark_builds_the_same_project_beside_duckdb(bench: dict) -> None:
    assert bench["left"] == []
    (size,) = bench["results"]["sizes"]
    spark, duckdb_build = size["spark"], size["build"]
    build = spark["build"]
    # the whole project (fqn:*), as the DuckDB build: the same nodes, every one passing
    assert build["returncode"] == 0 and build["failures"] == [] and duckdb_build["failures"] == []
    assert build["nodes"] == duckdb_build["nodes"]
    assert all(build["nodes"][kind] > 0 for kind in ("seeds", "models", "snapshots", "tests"))
    assert spark["driver_memory"] == "1g" and spark["master"] == "local[2]"
    assert len(spark["load_average_before"]) == 3 and len(spark["load_average_after"]) == 3
    assert spark["ingest"]["seconds"] > 0 and spark["ingest"]["lake_bytes"] > 0
    for nodes in (build["slowest_nodes"], spark["duckdb_slowest_nodes"]):
        seconds = [node["seconds"] for node in nodes]
        assert len(nodes) == 8 and seconds == sorted(seconds, reverse=True)


@pytest.mark.mysql
@pytest.mark.slow
def test_spark_start_up_is_apart_and_the_figures_add_up(bench: dict) -> None:
    (size,) = bench["results"]["sizes"]
    spark, duckdb_build = size["spark"], size["build"]
    build, phases = spark["build"], spark["build"]["phases"]
    # dbt's log gave every phase, in order, and they add up to the wall time
    assert set(phases) == {"dbt_start", "spark_start", "register_lake", "nodes"}
    assert all(seconds > 0 for seconds in phases.values()), phases
    assert close(sum(phases.values()), build["seconds"])
    assert close(build["startup_seconds"], phases["spark_start"] + phases["register_lake"])
    # the stages add up too: dbt's overhead, the start-up, and the nodes sharing the rest
    assert close(sum(build["stages"].values()), build["seconds"])
    assert build["stages"]["spark_start"] == phases["spark_start"]
    assert build["stages"]["register_lake"] == phases["register_lake"]
    assert close(
        sum(build["stages"][kind] for kind in ("seeds", "models", "snapshots", "tests")),
        build["elapsed"] - build["startup_seconds"],
    )
    # the ratios: against DuckDB's build without its publishing (Spark publishes nothing)
    duckdb_seconds = duckdb_build["seconds"] - duckdb_build["stages"]["publish"]
    assert duckdb_build["stages"]["publish"] > 0 and close(
        spark["duckdb_build_seconds"], duckdb_seconds
    )
    assert close(spark["build_ratio"], build["seconds"] / duckdb_seconds)
    assert close(
        spark["build_ratio_without_startup"],
        (build["seconds"] - build["startup_seconds"]) / duckdb_seconds,
    )
    assert close(
        build["seconds_per_million_rows"],
        build["seconds"] / duckdb_build["raw_transaction_rows"] * 1e6,
    )


DBT_LOG = """
============================== 23:59:58.000000 | 1 ==============================
\x1b[0m23:59:58.000000 [info ] [MainThread]: Running with dbt=1.7.20
\x1b[0m23:59:59.500000 [info ] [MainThread]: Found 41 models, 2 snapshots, 214 tests
\x1b[0m00:00:30.500000 [info ] [MainThread]: Running 1 on-run-start hook
\x1b[0m00:00:50.000000 [info ] [MainThread]: Concurrency: 1 threads (target='spark')
"""


def test_build_phases_read_from_the_last_run_in_dbts_log(tmp_path: Path) -> None:
    """The phases of the newest run in the log, across midnight; none without them."""
    log = tmp_path / "dbt.log"
    earlier = DBT_LOG.replace("23:59:59.5", "23:50:00.0").replace("00:00:", "23:51:")
    log.write_text(earlier + DBT_LOG)
    started = datetime(2026, 12, 7, 23, 59, 57)
    phases = build_phases(log, started, 100.0)
    assert phases == {
        "dbt_start": 2.5,
        "spark_start": 31.0,
        "register_lake": 19.5,
        "nodes": 100.0 - 53.0,
    }
    log.write_text(DBT_LOG + "\x1b[0m00:01:00.000000 [info ] [MainThread]: Running with dbt=1.7\n")
    assert build_phases(log, started, 100.0) is None  # a run that stopped before its nodes


def test_spark_rows_must_be_among_the_sizes(tmp_path: Path) -> None:
    result = run_cli(
        ["bench", "--rows", "1500", "--spark-rows", "3000", "--out", str(tmp_path / "x.json")],
        dict(os.environ),
        expect=2,
    )
    assert "--spark-rows 3000 is not one of the --rows sizes (1500)" in " ".join(
        result.stdout.split()
    )
    assert not (tmp_path / "x.json").exists()


def test_spark_rows_without_java_fail_in_one_line_before_any_work(tmp_path: Path) -> None:
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "no-java"))
    result = run_cli(
        ["bench", "--rows", "1500", "--spark-rows", "1500", "--out", str(tmp_path / "x.json")],
        env,
        expect=2,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert "The Spark target needs Java 17" in output and "Traceback" not in output
    assert not (tmp_path / "x.json").exists()

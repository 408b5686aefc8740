"""MySQL as the warehouse in the benchmark (``medallion bench --mysql-rows``).

At each size it names (of ``--rows``), after the DuckDB build, the same sources
(already in the benchmark's MySQL databases) are ingested into the MySQL warehouse and
built there with ``medallion ingest --target mysql`` and ``medallion build --target
mysql``, each a child process like every other stage. What is reported is the MySQL
build over the DuckDB build of the same size in the same run (the goal of issue 27:
within 10x at 1M rows), the stages of both, and the slowest nodes of each, so that a
model that stops being linear on MariaDB shows by name. The warehouse's databases carry
the benchmark's prefix and are dropped with the rest at the end.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bench import BenchFailed, _medallion, build_stages, published_seconds, run_child

if TYPE_CHECKING:
    from .bench import Bench

# the goal of issue 27: the MySQL build at 1M rows within 10x DuckDB's
TARGET_MYSQL_BUILD_RATIO = 10.0
SLOWEST_NODES = 8


def slowest_nodes(run_results: Path, count: int = SLOWEST_NODES) -> list[dict[str, Any]]:
    """The ``count`` nodes that took longest, from dbt's ``run_results.json``."""
    data = json.loads(run_results.read_text())
    ranked = sorted(data["results"], key=lambda result: -result["execution_time"])
    return [
        {
            # <type>:<name> ("test.medallion.<name>.<hash>" for a generic test)
            "node": ":".join(result["unique_id"].split(".")[0:3:2]),
            "seconds": round(result["execution_time"], 3),
            "status": result["status"],
        }
        for result in ranked[:count]
    ]


def mysql_env(bench: Bench, index: int, duckdb_env: dict[str, str], folder: Path) -> dict[str, str]:
    """The DuckDB size's environment (the same sources) pointed at a MySQL warehouse
    under the benchmark's prefix, with dbt's and dlt's local folders of its own."""
    env = dict(duckdb_env)
    own = folder / "mysql"
    env.update(
        {
            "MEDALLION_SCHEMA_PREFIX": f"{bench.prefix}s{index}w_",
            "MEDALLION_DUCKDB_PATH": str(own / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(own / "dbt_target"),
            "DBT_LOG_PATH": str(own / "dbt_logs"),
        }
    )
    return env


def measure_mysql_target(
    bench: Bench, index: int, duckdb_env: dict[str, str], folder: Path, duckdb_build: dict
) -> dict[str, Any]:
    """Ingest and build one size on the MySQL warehouse; the build beside DuckDB's."""
    env = mysql_env(bench, index, duckdb_env, folder)
    rows = duckdb_build.get("raw_transaction_rows")
    bench.progress(f"ingest into the MySQL warehouse at {rows or 0:,} rows")
    ingest = run_child(
        f"mysql-ingest-{index}", _medallion("ingest", "--target", "mysql"), env, bench.logs
    )
    bench.progress(f"dbt build on the MySQL warehouse at {rows or 0:,} rows")
    results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    child = run_child(
        f"mysql-build-{index}",
        _medallion("build", "--target", "mysql"),
        env,
        bench.logs,
        may_fail=True,
    )
    if not results.exists():
        raise BenchFailed(f"mysql-build-{index} did not run (log: {bench.logs})")
    split = build_stages(results, child.seconds)
    log = (bench.logs / f"mysql-build-{index}.log").read_text()
    publish = published_seconds(log) or 0.0
    split["stages"]["publish"] = publish
    split["stages"]["dbt_overhead"] -= publish
    shutil.copy(results, folder / f"mysql-build-{index}.json")
    build = {
        "seconds": child.seconds,
        "max_rss_bytes": child.max_rss_bytes,
        "returncode": child.returncode,
        **split,
        "slowest_nodes": slowest_nodes(results),
    }
    if rows:
        build["seconds_per_million_rows"] = child.seconds / rows * 1e6
    duckdb_seconds = duckdb_build["seconds"]
    duckdb_results = folder / f"build-{index}.json"
    return {
        "ingest": {"seconds": ingest.seconds, "max_rss_bytes": ingest.max_rss_bytes},
        "build": build,
        "build_ratio": child.seconds / duckdb_seconds,
        "duckdb_slowest_nodes": slowest_nodes(duckdb_results) if duckdb_results.exists() else [],
    }


def mysql_target(results: dict[str, Any]) -> dict[str, Any] | None:
    """The 10x goal at the largest size measured on MySQL, in the form of ``targets``."""
    measured = [size for size in results.get("sizes", []) if size.get("mysql")]
    if not measured:
        return None
    size = measured[-1]
    ratio = size["mysql"]["build_ratio"]
    return {
        "name": "mysql_build_ratio",
        "description": "MySQL build <= 10x the DuckDB build (same sources, same run)",
        "measured_at_rows": size["requested_rows"],
        "value": ratio,
        "threshold": TARGET_MYSQL_BUILD_RATIO,
        # a build with a failed node did not build everything: no verdict
        "met": None if size["mysql"]["build"]["failures"] else ratio <= TARGET_MYSQL_BUILD_RATIO,
    }


def _figures(n: str, mysql: dict[str, Any]) -> list[tuple[str, str, str]]:
    """One size's rows of the MySQL warehouse, before its failed and slowest nodes."""
    return [
        (f"[{n}] MySQL warehouse: full ingest (s)", f"{mysql['ingest']['seconds']:.1f}", ""),
        (f"[{n}] MySQL warehouse: dbt build (s)", f"{mysql['build']['seconds']:.1f}", ""),
        (f"[{n}] MySQL build / DuckDB build", f"{mysql['build_ratio']:.2f}x", "<= 10x"),
    ]


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target) rows of the MySQL warehouse, for the printed summary."""
    return target_summary_rows(results, "mysql", "MySQL", _figures)


def target_summary_rows(
    results: dict[str, Any],
    key: str,
    name: str,
    figures: Callable[[str, dict[str, Any]], list[tuple[str, str, str]]],
) -> list[tuple[str, str, str]]:
    """The rows of another warehouse built beside DuckDB (``key`` of each size: ``mysql``,
    ``spark``), for the printed summary: at each size it was measured at, its own
    ``figures`` (given the size as printed and its results), then its failed nodes and
    its three slowest, named ``name``."""
    rows = []
    for size in results.get("sizes", []):
        measured = size.get(key)
        if not measured:
            continue
        n = f"{size['requested_rows']:,}"
        build = measured["build"]
        rows += figures(n, measured)
        if build.get("failures"):
            rows.append((f"[{n}] {name} dbt nodes failed", ", ".join(build["failures"]), "none"))
        for node in build["slowest_nodes"][:3]:
            rows.append((f"[{n}] {name} slowest: {node['node']} (s)", f"{node['seconds']:.1f}", ""))
    return rows

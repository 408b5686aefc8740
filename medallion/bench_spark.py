"""Spark as the warehouse in the benchmark (``medallion bench --spark-rows``).

At each size it names (of ``--rows``), after the DuckDB build, the same sources
(already in the benchmark's MySQL databases) are ingested into a Parquet lake of their
own with ``medallion ingest --target spark`` and built on Spark, each a child process
like every other stage. The build is the whole project (``--select fqn:*``, dbt's own
default selection: seeds, models, snapshots and every test, as the DuckDB build), given
as a selection because ``medallion build`` without one is refused on Spark for now
(docs/spark.md); so nothing is published, and the DuckDB figure it is compared with is
also given without its publishing.

A Spark build pays a start-up that a DuckDB build does not: the JVM and the Hive
metastore (Derby) start on dbt's first query, then the ``register_lake`` hook names the
lake's tables in the metastore. dbt's log says when each begins, so the build's wall
time is split into dbt's own overhead (process start, parsing), Spark's start-up, the
lake's registration and the nodes; the ratio against DuckDB is given with and without
that start-up. The machine's load averages around the Spark stages are recorded too:
Spark's ``local[2]`` wants both cores, which other work on the machine takes from it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .bench import BenchFailed, _medallion, build_stages, run_child
from .bench_mysql import slowest_nodes, target_summary_rows

if TYPE_CHECKING:
    from .bench import Bench

# what `medallion build` builds on DuckDB: every node (dbt's default selection)
WHOLE_PROJECT = "fqn:*"
# the driver memory profiles.yml gives Spark without MEDALLION_SPARK_DRIVER_MEMORY
DEFAULT_DRIVER_MEMORY = "2g"

# dbt's log lines that open each phase of a build (dbt.log, dbt 1.7)
_LOG_LINE = re.compile(r"^(?:\x1b\[0m)?(\d\d):(\d\d):(\d\d)\.(\d{6}) \[\w+\s*\] \[[^\]]*\]: (.*)$")
_PHASES = {
    "parsed": re.compile(r"^Found \d+ models"),
    "hooks": re.compile(r"^Running \d+ on-run-start hook"),
    "nodes": re.compile(r"^Concurrency: "),
}


def spark_env(bench: Bench, index: int, duckdb_env: dict[str, str], folder: Path) -> dict[str, str]:
    """The DuckDB size's environment (the same sources) with a lake, a Spark warehouse
    and dbt's and dlt's local folders of its own (the lake and Spark's warehouse default
    to folders beside ``MEDALLION_DUCKDB_PATH``)."""
    env = dict(duckdb_env)
    own = folder / "spark"
    for key in ("MEDALLION_LAKE_URL", "MEDALLION_LAKE_SPARK_URL", "MEDALLION_SPARK_WAREHOUSE"):
        env.pop(key, None)
    env.update(
        {
            "MEDALLION_DUCKDB_PATH": str(own / "warehouse" / "medallion.duckdb"),
            "DBT_TARGET_PATH": str(own / "dbt_target"),
            "DBT_LOG_PATH": str(own / "dbt_logs"),
        }
    )
    return env


def build_phases(log: Path, started: datetime, wall_seconds: float) -> dict[str, float] | None:
    """The seconds of each phase of one dbt build on Spark, from the last run in
    ``dbt.log`` (its lines carry the time of day, local time): ``dbt_start`` (process
    start, imports, parsing), ``spark_start`` (the JVM and the metastore, started by
    dbt's first query, and dbt's listing of the schemas), ``register_lake`` (the
    ``on-run-start`` hook) and ``nodes`` (the rest: every node, and dbt's end). None
    when a phase is missing from the log (a build that failed before its nodes)."""
    lines = log.read_text(errors="replace").splitlines()
    first = max((i for i, line in enumerate(lines) if "Running with dbt=" in line), default=0)
    found: dict[str, datetime] = {}
    for line in lines[first:]:
        match = _LOG_LINE.match(line)
        if not match:
            continue
        hour, minute, second, micro, text = match.groups()
        for phase, pattern in _PHASES.items():
            if phase not in found and pattern.match(text):
                at = started.replace(
                    hour=int(hour), minute=int(minute), second=int(second), microsecond=int(micro)
                )
                if at < started - timedelta(seconds=1):  # past midnight
                    at += timedelta(days=1)
                found[phase] = at
    if set(found) != set(_PHASES):
        return None

    def since(a: datetime, b: datetime) -> float:
        return max((b - a).total_seconds(), 0.0)

    phases = {
        "dbt_start": since(started, found["parsed"]),
        "spark_start": since(found["parsed"], found["hooks"]),
        "register_lake": since(found["hooks"], found["nodes"]),
    }
    phases["nodes"] = max(wall_seconds - sum(phases.values()), 0.0)
    return phases


def _build_on_spark(bench: Bench, name: str, env: dict[str, str], folder: Path) -> dict[str, Any]:
    """``medallion build --target spark --select fqn:*`` as a child, split by phase."""
    results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    results.unlink(missing_ok=True)
    dbt_log = Path(env["DBT_LOG_PATH"]) / "dbt.log"
    started = datetime.now()  # local time, as dbt's log
    child = run_child(
        name,
        _medallion("build", "--target", "spark", "--select", WHOLE_PROJECT),
        env,
        bench.logs,
        may_fail=True,  # a failing test still ran and was timed: reported, not fatal
    )
    if not results.exists() or not dbt_log.exists():
        raise BenchFailed(f"{name} did not run (log: {bench.logs / (name + '.log')})")
    split = build_stages(results, child.seconds)
    phases = build_phases(dbt_log, started, child.seconds)
    if phases is None:
        raise BenchFailed(f"{name}: no start-up phases in {dbt_log}")
    startup = phases["spark_start"] + phases["register_lake"]
    # dbt's execution phase holds Spark's start-up: the node stages share what is left
    node_total = sum(split["node_seconds"].values()) or 1.0
    running = max(split["elapsed"] - startup, 0.0)
    stages = {
        "dbt_overhead": child.seconds - split["elapsed"],
        "spark_start": phases["spark_start"],
        "register_lake": phases["register_lake"],
    }
    for stage, seconds in split["node_seconds"].items():
        stages[stage] = running * seconds / node_total
    shutil.copy(results, folder / f"{name}.json")
    return {
        "seconds": child.seconds,
        "max_rss_bytes": child.max_rss_bytes,
        "cpu_seconds": child.cpu_seconds,
        "returncode": child.returncode,
        "startup_seconds": startup,
        "phases": phases,
        "stages": stages,
        "node_seconds": split["node_seconds"],
        "nodes": split["nodes"],
        "elapsed": split["elapsed"],
        "failures": split["failures"],
        "slowest_nodes": slowest_nodes(results),
    }


def measure_spark_target(
    bench: Bench, index: int, duckdb_env: dict[str, str], folder: Path, duckdb_build: dict
) -> dict[str, Any]:
    """Ingest and build one size on Spark; the build beside DuckDB's."""
    env = spark_env(bench, index, duckdb_env, folder)
    rows = duckdb_build.get("raw_transaction_rows") or 0
    load_before = list(os.getloadavg())
    bench.progress(f"ingest into the Spark lake at {rows:,} rows")
    ingest = run_child(
        f"spark-ingest-{index}", _medallion("ingest", "--target", "spark"), env, bench.logs
    )
    bench.progress(f"dbt build on Spark at {rows:,} rows")
    build = _build_on_spark(bench, f"spark-build-{index}", env, folder)
    if rows:
        build["seconds_per_million_rows"] = build["seconds"] / rows * 1e6
    load_after = list(os.getloadavg())
    # DuckDB's build publishes its marts after dbt; a selection on Spark publishes none
    duckdb_seconds = duckdb_build["seconds"] - duckdb_build["stages"].get("publish", 0.0)
    duckdb_results = folder / f"build-{index}.json"
    lake = Path(env["MEDALLION_DUCKDB_PATH"]).parent / "lake"
    return {
        "driver_memory": env.get("MEDALLION_SPARK_DRIVER_MEMORY") or DEFAULT_DRIVER_MEMORY,
        "master": env.get("MEDALLION_SPARK_MASTER") or "local[2]",
        "load_average_before": load_before,
        "load_average_after": load_after,
        "ingest": {
            "seconds": ingest.seconds,
            "max_rss_bytes": ingest.max_rss_bytes,
            "lake_bytes": sum(p.stat().st_size for p in lake.rglob("*.parquet")),
        },
        "build": build,
        "duckdb_build_seconds": duckdb_seconds,
        "build_ratio": build["seconds"] / duckdb_seconds,
        "build_ratio_without_startup": (build["seconds"] - build["startup_seconds"])
        / duckdb_seconds,
        "duckdb_slowest_nodes": slowest_nodes(duckdb_results) if duckdb_results.exists() else [],
    }


def _figures(n: str, spark: dict[str, Any]) -> list[tuple[str, str, str]]:
    """One size's rows of the Spark target, before its failed and slowest nodes."""
    build = spark["build"]
    phases = build["phases"]
    return [
        (f"[{n}] Spark: ingest into the lake (s)", f"{spark['ingest']['seconds']:.1f}", ""),
        (f"[{n}] Spark: dbt build (s)", f"{build['seconds']:.1f}", ""),
        (
            f"[{n}] Spark: of which start-up, JVM + metastore / register_lake (s)",
            f"{phases['spark_start']:.1f} / {phases['register_lake']:.1f}",
            "",
        ),
        (f"[{n}] Spark build / DuckDB build", f"{spark['build_ratio']:.2f}x", ""),
        (
            f"[{n}] the same without Spark's start-up",
            f"{spark['build_ratio_without_startup']:.2f}x",
            "",
        ),
        (
            f"[{n}] Spark: driver memory, load average before / after",
            f"{spark['driver_memory']}, {spark['load_average_before'][0]:.1f} / "
            f"{spark['load_average_after'][0]:.1f}",
            "",
        ),
    ]


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target) rows of the Spark target, for the printed summary."""
    return target_summary_rows(results, "spark", "Spark", _figures)

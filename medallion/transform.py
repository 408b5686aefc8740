"""The silver and gold layers: dbt, invoked in-process on the project of this repository."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field

from .settings import PROJECT_DIR, check_target, schema_prefix, spark_warehouse, warehouse_path


class BuildFailed(Exception):
    """dbt reported errors or failing tests; the message lists them."""


@dataclass
class DbtOutcome:
    """What one dbt command did: node counts by type and status, and its duration."""

    command: str
    success: bool
    seconds: float
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    results: list = field(default_factory=list)  # dbt's node results, for callers' details


def dbt_environment(target: str) -> None:
    """Point dbt at the same warehouse as dlt, whatever the working directory: the same
    DuckDB file, or the same MySQL server (``profiles.yml`` reads ``MEDALLION_MYSQL_*``),
    with the same schema prefix (read by ``generate_schema_name`` and the sources)."""
    os.environ["MEDALLION_TARGET"] = check_target(target)
    os.environ["MEDALLION_SCHEMA_PREFIX"] = schema_prefix()
    os.environ["MEDALLION_DUCKDB_PATH"] = str(warehouse_path())
    warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    if target == "spark":
        from .lake import check_java, lake_environment

        check_java()
        os.environ["MEDALLION_SPARK_WAREHOUSE"] = spark_warehouse()
        lake_environment()


def run_dbt(
    args: list[str],
    target: str = "duckdb",
    raise_on_failure: bool = True,
    changed_since: str | None = None,
    project_dir: os.PathLike | str | None = None,
) -> DbtOutcome:
    """Run one dbt command (``["build"]``, ``["docs", "generate"]``...) and summarise it.
    ``changed_since``: the watermark of an incremental build (``build_state``); without
    it the incremental models are built whole. ``project_dir``: another checkout of the
    project (the slim CI build of a change, ``medallion.slim``); this one by default."""
    from dbt.cli.main import dbtRunner

    from .faults import dbt_callbacks

    dbt_environment(target)
    os.environ["MEDALLION_CHANGED_SINCE"] = changed_since or ""
    started = time.perf_counter()
    result = dbtRunner(callbacks=dbt_callbacks()).invoke(
        [
            *args,
            "--project-dir",
            str(project_dir or PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            target,
        ]
    )
    outcome = DbtOutcome(
        command=" ".join(args), success=bool(result.success), seconds=time.perf_counter() - started
    )
    outcome.results = list(getattr(result.result, "results", None) or [])
    for node_result in outcome.results:
        node = getattr(node_result, "node", None)
        kind = getattr(node, "resource_type", "node")
        status = str(getattr(node_result, "status", "unknown"))
        outcome.counts[(str(kind), status)] += 1
        if status in ("error", "fail", "runtime error"):
            message = (getattr(node_result, "message", "") or "").splitlines()
            outcome.failures.append(
                f"{kind} {getattr(node, 'name', '?')}: {status}"
                + (f" ({message[0]})" if message else "")
            )
    if raise_on_failure and not outcome.success:
        detail = "\n  ".join(outcome.failures) or str(result.exception or "see the dbt log above")
        raise BuildFailed(f"dbt {outcome.command} failed:\n  {detail}")
    return outcome


def release_warehouse() -> None:
    """Let go of the DuckDB warehouse file dbt-duckdb keeps open in this process after a
    command. The command line exits anyway; a process that stays (Dagster's in-process
    runs, ``medallion.orchestration``) must not hold the file's lock against the next
    reader or run in another process."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    import gc

    DuckDBConnectionManager.close_all_connections()
    gc.collect()

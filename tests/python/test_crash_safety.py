"""Crash safety, idempotent re-runs and one writer at a time, on the real pipeline.

A run is killed with SIGKILL (nothing runs after it: no ``finally``, no flush) in the
middle of each step: dlt's extraction, normalisation and loading, and dbt's build after
some models are built. The kill comes from the test-only hook ``MEDALLION_FAULT_AT``
(``medallion/faults.py``). Each time the next ``medallion run`` must finish, and the
warehouse must then equal, table by table and row by row, the warehouse of one
uninterrupted run of the same sources (the module's reference).

Compared: every table and view of every schema dlt and dbt write (raw, staging,
intermediate, snapshots, marts, quarantine, audit, seeds), the same set of tables on
both sides, whole rows. Left out, because they legitimately differ between two
warehouses loaded at different moments:

- dlt's own tables (``_dlt_loads``, ``_dlt_pipeline_state``, ``_dlt_version``: a crashed
  and re-run warehouse has more loads in its log) and the ``*_staging`` datasets
  (dlt's scratch space for merges);
- the columns ``_dlt_load_id`` and ``load_id`` (its copy in silver, quarantine and
  ``snap_products``: the id is the load's timestamp), ``change_load_id`` and
  ``rewritten_since`` (load ids too: the load that changed a row, the watermark an
  incremental build wrote it under), ``_dlt_id`` (dlt draws a random
  row id at normalisation) and ``detected_at`` (when a deletion was noticed);
- the run audit's ``audit.pipeline_runs``, ``audit.pipeline_run_tables`` and
  ``audit.pipeline_run_warnings``: rows per run by design (``test_run_audit.py`` and
  ``test_policy.py`` test them; a killed run records none, and the run that completes it
  does not repeat the ingest warnings of files the killed run loaded), and
  ``audit.dbt_builds``, one row per successful build (``test_build_state.py``).

The snapshots' ``dbt_valid_from``, ``dbt_updated_at`` and ``dbt_scd_id`` are compared
too: with the timestamp strategy they come from the data's ``updated_at``, not from
the clock, so a re-run must reproduce them exactly.

Two runs in a row are compared on every column (nothing is left out): the second run
with no source change must leave every table as the first left it. That second run is
also the one a concurrent run tries to join and is refused.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import MEDALLION, PROJECT_DIR, pipeline_env, query, run_cli

from medallion.faults import dbt_callbacks, dlt_progress
from medallion.lock import lock_file

pytestmark = pytest.mark.slow

SCALE = "0.25"
IGNORED_COLUMNS = {
    "_dlt_id",
    "_dlt_load_id",
    "load_id",
    "change_load_id",
    "rewritten_since",
    "detected_at",
}
Tables = dict[str, list[tuple[Any, ...]]]


def env_for(demo: Path, tmp: Path) -> dict[str, str]:
    return pipeline_env(
        tmp,
        f"sqlite:///{demo / 'archive.sqlite'}",
        f"sqlite:///{demo / 'live.sqlite'}",
        demo / "landing",
    )


def warehouse_tables(warehouse: Path | str, ignored: set[str] = IGNORED_COLUMNS) -> Tables:
    """Every table and view dlt and dbt write, as sorted rows without ``ignored``."""
    names = query(
        warehouse,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema not like '%\\_staging' escape '\\'"
        " and table_name not like '\\_dlt\\_%' escape '\\'"
        # the run audit records each run (ids, times, outcome), each successful build
        # and each publication (their times): they differ by design
        " and not (table_schema = 'audit' and table_name in"
        " ('pipeline_runs', 'pipeline_run_tables', 'pipeline_run_warnings', 'dbt_builds',"
        " 'publications'))",
    )
    tables: Tables = {}
    for schema, table in names:
        columns = [
            name
            for (name,) in query(
                warehouse,
                "select column_name from information_schema.columns"
                f" where table_schema = '{schema}' and table_name = '{table}'"
                " order by ordinal_position",
            )
            if name not in ignored
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = query(warehouse, f'select {select} from "{schema}"."{table}"')
        tables[f"{schema}.{table}"] = sorted(rows, key=repr)
    return tables


def assert_same_tables(actual: Tables, expected: Tables) -> None:
    assert sorted(actual) == sorted(expected), "the set of tables differs"
    for name, rows in expected.items():
        assert len(actual[name]) == len(rows), f"{name}: {len(actual[name])} rows, not {len(rows)}"
        assert actual[name] == rows, f"{name}: same row count, different rows"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small demo sources, written by ``medallion demo``; every run here reads them."""
    root = tmp_path_factory.mktemp("crash_demo")
    env = env_for(root, root)
    env["MEDALLION_DEMO_DIR"] = str(root)
    run_cli(["demo", "--scale", SCALE, "--out", str(root)], env)
    return root


@pytest.fixture(scope="module")
def reference(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One uninterrupted run: its environment, and its tables as it left them, whole
    (``tables``) and without the ignored columns (``compared``)."""
    env = env_for(demo, tmp_path_factory.mktemp("reference"))
    run_cli(["run"], env)
    tables = warehouse_tables(env["MEDALLION_DUCKDB_PATH"], ignored=set())
    assert tables["marts.fct_transactions"] and tables["snapshots.snap_customers"]
    compared = warehouse_tables(env["MEDALLION_DUCKDB_PATH"])
    return {"env": env, "tables": tables, "compared": compared}


def pending_packages(warehouse: Path) -> list[Path]:
    """dlt packages a killed run left in the pipelines' working folders, not loaded."""
    folders = ("normalize/extracted", "load/new", "load/normalized")
    root = warehouse.parent / ".dlt"
    return [p for f in folders for p in root.glob(f"*/medallion_*/{f}/*") if p.is_dir()]


def rows_of_incomplete_loads(warehouse: Path) -> int:
    """Raw rows whose load never completed (no row in that dataset's ``_dlt_loads``)."""
    total = 0
    for schema, table in query(
        warehouse,
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('raw_archive', 'raw_live', 'raw_files')"
        " and table_name not like '\\_dlt\\_%' escape '\\'"
        # the run audit records each run (ids, times, outcome): differs by design
        " and not (table_schema = 'audit' and table_name like 'pipeline\\_run%' escape '\\')",
    ):
        total += query(
            warehouse,
            f"select count(*) from {schema}.{table} where _dlt_load_id not in"
            f" (select load_id from {schema}._dlt_loads)",
        )[0][0]
    return total


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# Where each kill lands on the demo (0.25). The live and file pipelines run first and
# the archive last (its fingerprints are taken meanwhile): extract:3 in the middle of
# extracting the live database (the package of a table already extracted waits in the
# pipeline folder); normalize:2 in the middle of normalising live's packages; load:12 in
# the middle of loading live (its customers package is loaded and its state committed,
# the next package's rows are in raw_live but its load never completed); load:27 while
# loading the archive (live and files complete): after the last job of its last package
# (the transactions with the fingerprints' state; its two jobs end in either order),
# before that package completes; dbt:dim_customer when
# dim_customer has been built, so before fct_transactions (which reads it).
KILL_POINTS = {
    "extract:3": "extracting raw_live.",
    "normalize:2": "normalising raw_live",
    "load:12": "loading raw_live",
    "load:27": "loading raw_archive",
    "dbt:dim_customer": None,
}


@pytest.mark.parametrize("fault", list(KILL_POINTS))
def test_a_run_killed_at_any_point_is_completed_by_the_next_run(
    fault: str, demo: Path, reference: dict[str, Any], tmp_path: Path
):
    env = env_for(demo, tmp_path)
    warehouse = env["MEDALLION_DUCKDB_PATH"]

    killed = run_cli(["run"], {**env, "MEDALLION_FAULT_AT": fault}, expect=None)

    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    progress = [line for line in killed.stdout.splitlines() if line.startswith("…")]
    if KILL_POINTS[fault]:
        assert progress[-1].startswith("… " + KILL_POINTS[fault]), progress[-3:]
        assert "Data quality raw:" not in killed.stdout
        assert pending_packages(Path(warehouse)), "the kill left no dlt package behind"
        if fault.startswith("load"):  # rows of a load that never completed are in raw
            assert rows_of_incomplete_loads(Path(warehouse)) > 0
    else:  # in dbt, with some marts built and others not yet
        assert "Data quality raw:" in killed.stdout and "dbt build (" not in killed.stdout
        marts = {
            name
            for (name,) in query(
                warehouse,
                "select table_name from information_schema.tables where table_schema = 'marts'",
            )
        }
        assert "dim_customer" in marts and "fct_transactions" not in marts, marts
    # the kill left its lock file behind, naming a process that is gone
    holder = lock_file(Path(warehouse)).read_text()
    dead = int(re.search(r"pid (\d+)", holder).group(1))
    assert "medallion run" in holder and not _pid_alive(dead)

    rerun = run_cli(["run"], env)  # neither the stale lock nor the debris stops it

    assert "dbt build (" in rerun.stdout
    assert_same_tables(warehouse_tables(warehouse), reference["compared"])


@pytest.fixture(scope="module")
def second_run(reference: dict[str, Any]) -> dict[str, Any]:
    """``medallion run`` again on the reference warehouse, sources unchanged; while it
    runs, a third run on the same warehouse is started and must be refused."""
    env = reference["env"]
    lock = lock_file(Path(env["MEDALLION_DUCKDB_PATH"]))
    first = subprocess.Popen(
        [MEDALLION, "run"],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while f"pid {first.pid} " not in (lock.read_text() if lock.exists() else ""):
        assert first.poll() is None and time.monotonic() < deadline, "never took the lock"
        time.sleep(0.05)
    started = time.perf_counter()
    refused = run_cli(["run"], env, expect=None)
    refused_in = time.perf_counter() - started
    output, _ = first.communicate(timeout=900)
    return {
        "first": first,
        "output": output,
        "refused": refused,
        "refused_in": refused_in,
        "env": env,
    }


def test_a_second_run_started_during_a_run_is_refused_naming_the_holder(second_run):
    refused = second_run["refused"]
    message = " ".join(refused.stdout.split())
    assert refused.returncode == 1, message
    assert f"in use by pid {second_run['first'].pid} " in message
    assert second_run["env"]["MEDALLION_DUCKDB_PATH"] in message
    assert "one run at a time" in message
    assert "Ingestion" not in refused.stdout  # refused before touching anything
    assert second_run["refused_in"] < 30


def test_the_run_holding_the_lock_finishes_untouched(second_run):
    assert second_run["first"].returncode == 0, second_run["output"][-3000:]
    # its sources did not change: it ingested nothing and skipped the build
    assert "dbt build skipped" in " ".join(second_run["output"].split())
    assert "dbt build (" not in second_run["output"]


def test_two_runs_in_a_row_leave_every_table_identical(second_run, reference):
    after = warehouse_tables(second_run["env"]["MEDALLION_DUCKDB_PATH"], ignored=set())
    assert_same_tables(after, reference["tables"])


def test_a_lock_held_on_the_mysql_warehouse_refuses_and_dies_with_its_holder(
    demo: Path, tmp_path: Path, mysql_prefix: str
):
    env = {**env_for(demo, tmp_path), "MEDALLION_SCHEMA_PREFIX": mysql_prefix}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from medallion.lock import warehouse_lock\n"
            "with warehouse_lock('mysql', 'ingest'):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        env=env,
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"

        refused = run_cli(["ingest", "--target", "mysql", "--only", "files"], env, expect=1)

        message = " ".join(refused.stdout.split())
        assert f"in use by pid {holder.pid} " in message, message
        assert "127.0.0.1:3306" in message and mysql_prefix in message
        assert f"medallion:{mysql_prefix}" in message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    # the server released the lock with the killed holder's connection
    run_cli(["ingest", "--target", "mysql", "--only", "files"], env)


def test_the_fault_hook_installs_nothing_when_unset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MEDALLION_FAULT_AT", raising=False)
    assert dlt_progress() is None
    assert dbt_callbacks() == []
    monkeypatch.setenv("MEDALLION_FAULT_AT", "dbt:3")
    assert dlt_progress() is None and len(dbt_callbacks()) == 1
    monkeypatch.setenv("MEDALLION_FAULT_AT", "load")
    assert dlt_progress() is not None and dbt_callbacks() == []
    monkeypatch.setenv("MEDALLION_FAULT_AT", "dbt:dim_customer")
    assert dlt_progress() is None and len(dbt_callbacks()) == 1
    monkeypatch.setenv("MEDALLION_FAULT_AT", "extract:dim_customer")
    with pytest.raises(ValueError, match="MEDALLION_FAULT_AT"):
        dlt_progress()

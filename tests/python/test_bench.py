"""`medallion bench` at a tiny scale against the real MariaDB: every figure is in the
JSON, every ratio is the quotient of the raw figures reported beside it, the re-runs
really re-ingested the rows the benchmark changed, and its databases are dropped."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, databases_with_prefix, drop_databases, run_cli

from medallion.bench import BUILD_STAGES, INGEST_STAGES, STAGES

pytestmark = [pytest.mark.mysql, pytest.mark.slow]

ROWS = (1_500, 3_000)
CHANGES = (0.0, 1.0)  # 0.1 % is the same code path; one build less


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, mysql_server: dict[str, Any]) -> dict:
    """One tiny benchmark run shared by the checks below: seven dbt builds, minutes."""
    tmp = tmp_path_factory.mktemp("bench")
    prefix = f"tbench{os.getpid()}_"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "MEDALLION_", "DBT_"))
    }
    out = tmp / "results.json"
    try:
        run_cli(
            [
                "bench",
                "--rows",
                ",".join(map(str, ROWS)),
                "--changes",
                ",".join(map(str, CHANGES)),
                "--out",
                str(out),
                "--db-prefix",
                prefix,
                # the smaller size is also built on the MySQL warehouse
                "--mysql-rows",
                str(ROWS[0]),
            ],
            env,
            # seven builds, beside the other pytest worker's: 900 s ran out on a busy machine
            timeout=1800,
        )
        left = databases_with_prefix(prefix)
    finally:  # never leave databases behind, whatever failed
        drop_databases(prefix)
    return {"results": json.loads(Path(out).read_text()), "left": left, "prefix": prefix}


def test_databases_are_dropped(bench: dict) -> None:
    results, prefix = bench["results"], bench["prefix"]
    assert bench["left"] == []
    expected = {f"{prefix}s{i}_{db}" for i in range(len(ROWS)) for db in ("archive", "live")}
    dropped = set(results["dropped_databases"])
    # and the MySQL warehouse of the size built there (--mysql-rows): raw, built, published
    warehouse = {name for name in dropped if name.startswith(f"{prefix}s0w_")}
    assert dropped - warehouse == expected
    assert {f"{prefix}s0w_{db}" for db in ("raw_archive", "raw_live", "marts_build", "marts")} <= (
        warehouse
    )
    assert results["settings"]["database_prefix"] == prefix


def test_machine_facts_and_settings(bench: dict) -> None:
    results = bench["results"]
    machine = results["machine"]
    assert machine["cores"] == os.cpu_count()
    assert positive(machine["memory_bytes"]) and machine["cpu_model"]
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    for name in ("dbt-core", "dbt-duckdb", "dlt", "duckdb", "mysql_server", "mysql_client"):
        assert machine["versions"][name], name
    assert machine["versions"]["dbt-core"] == "1.7.20"
    conn = pymysql.connect(**MYSQL)
    try:
        with conn.cursor() as cursor:
            cursor.execute("select @@innodb_buffer_pool_size")
            (pool,) = cursor.fetchone()
    finally:
        conn.close()
    assert machine["mysql_buffer_pool_bytes"] == int(pool) > 0
    assert results["settings"]["rows"] == list(ROWS)
    assert results["settings"]["changes_percent"] == list(CHANGES)
    assert results["schema_version"] == 1


def test_ingest_efficiency_is_the_quotient_of_the_rates(bench: dict) -> None:
    for size in bench["results"]["sizes"]:
        wire, copy = size["wire"], size["copy"]
        # both read the whole archive table
        assert wire["rows"] == copy["rows"] == size["archive_transaction_rows"] > 0
        assert wire["seconds"] == min(wire["runs_seconds"]) and positive(wire["seconds"])
        assert close(wire["rows_per_second"], wire["rows"] / wire["seconds"])
        steps = ("extract_seconds", "normalize_seconds", "load_seconds")
        assert all(positive(copy[step]) for step in steps)
        assert close(copy["seconds"], sum(copy[step] for step in steps))
        assert close(copy["rows_per_second"], copy["rows"] / copy["seconds"])
        assert close(size["ingest_efficiency"], copy["rows_per_second"] / wire["rows_per_second"])
        assert positive(copy["max_rss_bytes"]) and copy["wall_seconds"] >= copy["seconds"]


def test_cpu_budget_of_the_copy_and_the_wire(bench: dict) -> None:
    """The server is local here, so every CPU figure is read; the bound is recomputed
    from them: the copy's CPU seconds spread over every core."""
    for size in bench["results"]["sizes"]:
        wire, copy, cpu = size["wire"], size["copy"], size["cpu"]
        assert cpu["cores"] == os.cpu_count()
        for value in (wire["client_cpu_seconds"], copy["cpu_seconds"]):
            assert positive(value)
        # the server works for both reads (a tiny table may round to 0 clock ticks)
        assert wire["server_cpu_seconds"] >= 0 and copy["server_cpu_seconds"] >= 0
        spent = copy["cpu_seconds"] + copy["server_cpu_seconds"]
        fastest = spent / os.cpu_count()
        assert close(
            cpu["efficiency_with_every_core_busy"],
            (copy["rows"] / fastest) / wire["rows_per_second"],
        )
        wire_cpu = wire["client_cpu_seconds"] + wire["server_cpu_seconds"]
        assert close(cpu["copy_cpu_per_wire_cpu"], spent / wire_cpu)


def test_build_throughput_growth_and_fixed_overhead(bench: dict) -> None:
    results = bench["results"]
    sizes = results["sizes"]
    assert [s["requested_rows"] for s in sizes] == list(ROWS)
    baseline = results["baseline_build"]
    assert positive(baseline["seconds"]) and positive(baseline["raw_transaction_rows"])
    assert baseline["failures"] == []
    # forced: the same warehouse was just built by `make run`, which would skip it
    assert baseline["skipped"] is False and baseline["nodes"]["tests"] > 0
    for size in sizes:
        build = size["build"]
        # raw holds every transaction row of both sources, and about the size asked for
        assert build["raw_transaction_rows"] == size["source_transaction_rows"]
        assert abs(size["source_transaction_rows"] - size["requested_rows"]) < (
            0.25 * size["requested_rows"]
        )
        assert close(
            build["seconds_per_million_rows"],
            build["seconds"] / build["raw_transaction_rows"] * 1e6,
        )
        assert close(size["fixed_overhead_share"], baseline["seconds"] / build["seconds"])
        assert close(sum(build["stages"].values()), build["seconds"])
        assert set(build["stages"]) == set(BUILD_STAGES)
        # the build published its marts, and said how long that took (medallion/publish.py)
        assert 0 < build["stages"]["publish"] < build["seconds"]
        # a benchmark of a failing build would mislead: every node passed
        assert build["failures"] == []
        # every node type of the project ran
        assert all(build["nodes"][kind] > 0 for kind in ("seeds", "models", "snapshots", "tests"))
        assert positive(build["max_rss_bytes"]) and positive(size["ingest"]["max_rss_bytes"])
        assert close(sum(size["ingest"]["stages"].values()), size["ingest"]["seconds"])
        assert set(size["ingest"]["stages"]) == set(INGEST_STAGES)
    (growth,) = results["growth"]
    small, large = sizes
    assert growth["from_rows"] == small["build"]["raw_transaction_rows"]
    assert growth["to_rows"] == large["build"]["raw_transaction_rows"]
    per_row = [s["build"]["seconds"] / s["build"]["raw_transaction_rows"] for s in sizes]
    assert close(growth["time_per_row_ratio"], per_row[1] / per_row[0])


def test_reruns_are_shares_of_the_full_run(bench: dict) -> None:
    results = bench["results"]
    largest = results["sizes"][-1]
    incremental = results["incremental"]
    full = incremental["full_run"]
    assert incremental["rows"] == largest["requested_rows"]
    assert close(full["seconds"], largest["ingest"]["seconds"] + largest["build"]["seconds"])
    assert close(sum(full["stages"].values()), full["seconds"])
    assert [r["changed_percent"] for r in incremental["reruns"]] == list(CHANGES)
    live_rows = largest["source_transaction_rows"] - largest["archive_transaction_rows"]
    for rerun in incremental["reruns"]:
        assert set(rerun["stages"]) == set(STAGES)
        assert close(rerun["seconds"], rerun["ingest"]["seconds"] + rerun["build"]["seconds"])
        assert close(sum(rerun["stages"].values()), rerun["seconds"])
        assert close(rerun["share"], rerun["seconds"] / full["seconds"])
        for stage, seconds in rerun["stages"].items():
            assert close(rerun["stage_shares"][stage], seconds / full["seconds"])
        # the changes were real: the re-run loaded exactly the live rows changed
        changed = rerun["changed_rows"]["transactions"]
        assert changed == round(live_rows * rerun["changed_percent"] / 100)
        assert rerun["ingest"]["tables"]["raw_live.transactions"]["loaded"] == changed
        # nothing loaded, nothing to build: dbt is skipped; a change is built
        assert rerun["build"]["skipped"] is (sum(rerun["changed_rows"].values()) == 0)
        assert (sum(rerun["build"]["nodes"].values()) == 0) is rerun["build"]["skipped"]
    assert incremental["reruns"][-1]["changed_rows"]["transactions"] > 0


def test_targets_follow_the_figures(bench: dict) -> None:
    results = bench["results"]
    targets = {t["name"]: t for t in results["targets"]}
    largest = results["sizes"][-1]
    efficiency = targets["ingest_efficiency"]
    assert efficiency["value"] == largest["ingest_efficiency"]
    assert efficiency["met"] == (efficiency["value"] >= 0.70)
    rerun = targets["rerun_after_1pct_share"]
    assert rerun["value"] == results["incremental"]["reruns"][-1]["share"]
    assert rerun["met"] == (rerun["value"] <= 0.10)
    rss = targets["ingest_peak_rss_at_10m"]
    assert rss["value"] == largest["ingest"]["max_rss_bytes"]
    # 3,000 rows say nothing about 10M: not measured, unless already over the limit
    assert rss["met"] is (False if rss["value"] >= 2**30 else None)
    make_run = targets["make_run_seconds"]
    assert positive(results["make_run"]["seconds"])
    assert make_run["value"] == results["make_run"]["seconds"]
    assert make_run["met"] == (make_run["value"] < 60)


def test_the_mysql_warehouse_is_built_beside_duckdb_at_the_sizes_asked(bench: dict) -> None:
    results = bench["results"]
    small, large = results["sizes"]
    assert large["mysql"] is None
    mysql = small["mysql"]
    build = mysql["build"]
    # the same project, every node passing, published like a DuckDB build
    assert build["failures"] == [] and build["returncode"] == 0
    assert all(build["nodes"][kind] > 0 for kind in ("seeds", "models", "snapshots", "tests"))
    assert build["nodes"] == small["build"]["nodes"]
    assert close(sum(build["stages"].values()), build["seconds"])
    assert 0 < build["stages"]["publish"] < build["seconds"]
    assert positive(mysql["ingest"]["seconds"]) and positive(build["max_rss_bytes"])
    assert close(mysql["build_ratio"], build["seconds"] / small["build"]["seconds"])
    for nodes in (build["slowest_nodes"], mysql["duckdb_slowest_nodes"]):
        seconds = [node["seconds"] for node in nodes]
        assert len(nodes) == 8 and seconds == sorted(seconds, reverse=True)
        assert all(
            node["node"].split(":")[0] in {"model", "test", "seed", "snapshot"} for node in nodes
        )
    target = {t["name"]: t for t in results["targets"]}["mysql_build_ratio"]
    assert target["value"] == mysql["build_ratio"]
    assert target["met"] == (mysql["build_ratio"] <= 10)  # every node passed (above)


def test_mysql_rows_must_be_among_the_sizes(tmp_path: Path) -> None:
    result = run_cli(
        ["bench", "--rows", "1500", "--mysql-rows", "3000", "--out", str(tmp_path / "x.json")],
        dict(os.environ),
        expect=2,
    )
    assert "--mysql-rows 3000 is not one of the --rows sizes (1500)" in " ".join(
        result.stdout.split()
    )
    assert not (tmp_path / "x.json").exists()


def test_the_no_change_ingest_is_a_figure_against_its_baselines(bench: dict) -> None:
    results = bench["results"]
    measured = results["no_change_ingest"]
    # the first no-change run after make run runs the live pipeline (recording the
    # source's signature); the later ones run none
    assert measured["first_skipped"] == ["archive", "files"]
    assert measured["skipped"] == ["archive", "files", "live"]
    assert measured["seconds"] == min(measured["runs_seconds"])
    assert positive(measured["cpu_seconds"])
    cli, imports = measured["baselines"]["cli_start"], measured["baselines"]["imports"]
    assert cli["seconds"] == min(cli["runs_seconds"]) and positive(cli["cpu_seconds"])
    assert close(measured["ratio_to_cli_start"], measured["seconds"] / cli["seconds"])
    assert close(measured["beyond_imports_seconds"], measured["seconds"] - imports["seconds"])
    target = {t["name"]: t for t in results["targets"]}["no_change_ingest_seconds"]
    assert target["value"] == measured["seconds"]
    assert target["met"] == (measured["seconds"] <= 1.5)

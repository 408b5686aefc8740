"""The run audit, source freshness and volume anomalies, as a user meets them.

Three pipelines on their own demo sources run at the same time (each mostly waits on
dbt or a database): the demo on DuckDB, run twice (the second time with a shrunk and a
grown source and two live tables whose last load is backdated); a demo whose live
source breaks a critical expectation; and the demo on MariaDB under a unique schema
prefix, with one live table backdated past its warning threshold. Everything is real:
SQLite sources, the CLI in a subprocess, DuckDB, dbt, GX, MariaDB. Expected numbers are
computed here from the sources and the warehouse, never read from the audit's inputs.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, PROJECT_DIR, pipeline_env, query, run_cli

from medallion.demo import generate_demo
from medallion.run_audit import Freshness

SCALE = 0.3
DAY = 86_400
SQL_TABLES = ("customers", "products", "transactions", "order_notes")


def in_one_line(output: str) -> str:
    return " ".join(output.split())


@dataclass
class Scenario:
    env: dict[str, str]
    demo: Path
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    first_counts: dict[str, int] = field(default_factory=dict)
    first_amounts: dict[str, Decimal] = field(default_factory=dict)
    first_duplicates: int = 0
    status_created_warehouse: bool | None = None
    source_counts: dict[str, int] = field(default_factory=dict)
    source_amounts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def warehouse(self) -> str:
        return self.env["MEDALLION_DUCKDB_PATH"]


def make_scenario(tmp: Path) -> Scenario:
    sources = generate_demo(tmp / "demo", seed=42, scale=SCALE)
    env = pipeline_env(tmp, sources.archive_url, sources.live_url, sources.landing_dir)
    return Scenario(env, tmp / "demo")


def measure_sources(scenario: Scenario) -> None:
    """Rows and money of every source table, read from the SQLite files; and the
    transaction duplicates of gold rules 1-2 counted in Python: the archive/live
    union's rows minus its distinct business keys (order#line, else the id)."""
    keys = set()
    union = 0
    for source in ("archive", "live"):
        with sqlite3.connect(scenario.demo / f"{source}.sqlite") as conn:
            for table in SQL_TABLES:
                count = conn.execute(f"select count(*) from {table}").fetchone()[0]
                scenario.source_counts[f"raw_{source}.{table}"] = count
            amounts = conn.execute("select amount from transactions").fetchall()
            scenario.source_amounts[f"raw_{source}.transactions"] = sum(
                (Decimal(str(a)) for (a,) in amounts if a is not None), Decimal(0)
            ).quantize(Decimal("0.01"))
            for transaction_id, order_number, line in conn.execute(
                "select transaction_id, order_number, order_line_number from transactions"
            ):
                union += 1
                keys.add(
                    f"id#{transaction_id}"
                    if order_number is None or line is None
                    else f"{order_number}#{line}"
                )
    scenario.first_duplicates = scenario.first_duplicates or union - len(keys)


def change_sources_and_backdate(scenario: Scenario) -> None:
    """Between the two DuckDB runs: the archive's transactions shrink to 30 % (beyond
    the factor 2), its order notes grow fourfold (beyond), the live transactions grow
    by 40 % (within); live customers' last load is moved 15 days back (error after 14)
    and live products' 31 days back (warning after 30)."""
    with sqlite3.connect(scenario.demo / "archive.sqlite") as conn:
        conn.execute("delete from transactions where transaction_id % 10 < 7")
        for copy in (1, 2, 3):
            conn.execute(
                "insert into order_notes (note_id, order_number, note, updated_at)"
                f" select note_id + {copy * 1_000_000}, order_number, note, updated_at"
                " from order_notes where note_id < 1000000"
            )
    with sqlite3.connect(scenario.demo / "live.sqlite") as conn:
        columns = [row[1] for row in conn.execute("pragma table_info(transactions)")]
        chosen = {
            "transaction_id": "transaction_id + 50000000",
            "order_number": "order_number || 'G'",
            "updated_at": "'2025-01-15 00:00:00'",
        }
        conn.execute(
            f"insert into transactions ({', '.join(columns)})"
            f" select {', '.join(chosen.get(c, c) for c in columns)}"
            " from transactions where transaction_id % 5 < 2"
        )
    import duckdb

    now = time.time()
    with duckdb.connect(scenario.warehouse) as conn:
        for table, days in (("customers", 15), ("products", 31)):
            conn.execute(
                f"update raw_live.{table} set _dlt_load_id = ?", [f"{now - days * DAY:.6f}"]
            )


def duckdb_pipeline(scenario: Scenario) -> None:
    s = scenario
    s.results["status_before"] = run_cli(["status"], s.env, None)
    s.status_created_warehouse = Path(s.warehouse).exists()
    s.results["first"] = run_cli(["run"], s.env, None)
    measure_sources(s)
    s.first_counts, s.first_amounts = dict(s.source_counts), dict(s.source_amounts)
    s.results["status_first"] = run_cli(["status"], s.env, None)
    if s.results["first"].returncode == 0:
        change_sources_and_backdate(s)
        measure_sources(s)
        s.results["second"] = run_cli(["run", "--anomaly-factor", "2"], s.env, None)
        s.results["status_second"] = run_cli(["status", "--limit", "5"], s.env, None)


def critical_pipeline(scenario: Scenario) -> None:
    with sqlite3.connect(scenario.demo / "live.sqlite") as conn:
        conn.execute(
            "update transactions set status = 'Lost' where transaction_id in"
            # 30 of the live lines: more than max_bad_row_share (1%), so the run stops
            " (select transaction_id from transactions order by transaction_id limit 30)"
        )
    scenario.results["run"] = run_cli(["run"], scenario.env, None)
    scenario.results["status"] = run_cli(["status"], scenario.env, None)


def mysql_pipeline(scenario: Scenario, prefix: str) -> None:
    env = scenario.env
    ingest = run_cli(["ingest", "--target", "mysql"], env, None)
    scenario.results["ingest"] = ingest
    if ingest.returncode != 0:
        return
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"update `{prefix}raw_live`.`products` set _dlt_load_id = %s",
                (f"{time.time() - 31 * DAY:.6f}",),
            )
    finally:
        conn.close()
    scenario.results["run"] = run_cli(["run", "--target", "mysql"], env, None)
    scenario.results["status"] = run_cli(["status", "--target", "mysql"], env, None)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, module_prefix: str) -> dict[str, Scenario]:
    runs = {
        name: make_scenario(tmp_path_factory.mktemp(f"audit_{name}"))
        for name in ("duckdb", "critical", "mysql")
    }
    runs["mysql"].env["MEDALLION_SCHEMA_PREFIX"] = module_prefix
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [
            pool.submit(duckdb_pipeline, runs["duckdb"]),
            pool.submit(critical_pipeline, runs["critical"]),
            pool.submit(mysql_pipeline, runs["mysql"], module_prefix),
        ]
        for future in futures:
            future.result()
    return runs


def audit_rows(warehouse: str, sql: str) -> list[dict[str, Any]]:
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def runs_of(warehouse: str) -> list[dict[str, Any]]:
    return audit_rows(warehouse, "select * from audit.pipeline_runs order by started_at")


def tables_of(warehouse: str, run_id: str) -> dict[str, dict[str, Any]]:
    rows = audit_rows(
        warehouse, f"select * from audit.pipeline_run_tables where run_id = '{run_id}'"
    )
    return {row["table_name"]: row for row in rows}


def expected_expectations() -> dict[str, int]:
    """How many expectations each raw dataset's suites hold, read from the suite file."""
    content = json.loads((PROJECT_DIR / "quality" / "raw.json").read_text())
    sizes = {suite["name"]: len(suite["expectations"]) for suite in content["suites"]}
    return {v["dataset"]: sum(sizes[s] for s in v["suites"]) for v in content["validations"]}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout


# --- no run yet ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_status_before_any_run_says_so_and_creates_nothing(scenarios):
    result = scenarios["duckdb"].results["status_before"]
    assert result.returncode == 0, result.stdout
    assert "No run recorded yet" in in_one_line(result.stdout)
    assert "Last " not in result.stdout
    assert scenarios["duckdb"].status_created_warehouse is False


# --- a successful first run ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_a_successful_run_is_audited_with_counts_that_match_the_sources(scenarios):
    scenario = scenarios["duckdb"]
    output = ok(scenario.results["first"])
    runs = runs_of(scenario.warehouse)
    assert len(runs) == 2  # the first and, later, the second run
    first = runs[0]
    assert first["status"] == "ok" and first["error_message"] is None
    assert first["target"] == "duckdb" and first["command"] == "medallion run --target duckdb"
    assert first["started_at"] < first["ended_at"]
    assert f"Run {first['run_id']} recorded (ok)" in in_one_line(output)
    tables = tables_of(scenario.warehouse, first["run_id"])

    for name, count in scenario.first_counts.items():
        row = tables[name]
        assert row["layer"] == "raw"
        assert row["rows_extracted"] == row["rows_loaded"] == row["table_rows"] == count, name
    for name in ("raw_archive.transactions", "raw_live.transactions"):
        assert tables[name]["table_amount"] == scenario.first_amounts[name], name
    for name in ("raw_files.fiscal_calendar", "raw_files.surveys", "raw_files.expenses"):
        raw = query(scenario.warehouse, f"select count(*) from {name}")[0][0]  # loaded once
        assert tables[name]["rows_loaded"] == tables[name]["table_rows"] == raw > 0, name
        assert tables[name]["freshness_status"] == "pass"

    # freshness: every live and file table with thresholds passes; the archive has none
    for name in ("raw_live.customers", "raw_live.products", "raw_live.transactions"):
        assert tables[name]["freshness_status"] == "pass", name
        assert 0 <= tables[name]["freshness_age_hours"] < 1
    assert tables["raw_archive.customers"]["freshness_status"] is None
    # first run: no history, no anomaly
    assert not any(row["is_anomaly"] for row in tables.values() if row["layer"] == "raw")
    # expectations: as many passed as the suites hold, none failed
    for dataset, size in expected_expectations().items():
        row = tables[dataset]
        assert row["expectations_passed"] == size, dataset
        assert row["expectations_failed_critical"] == row["expectations_failed_warning"] == 0
    gold = [row for row in tables.values() if row["layer"] == "gold"]
    assert {"marts.fct_transactions", "check.monthly_summary_vs_facts"} <= {
        row["table_name"] for row in gold
    }
    assert all(row["expectations_failed_critical"] == 0 for row in gold)

    # silver: quarantined transactions are the rows of the quarantine table; duplicates
    # are the union's rows minus its distinct business keys, counted here from raw
    silver = tables["intermediate.int_transactions_deduplicated"]
    assert silver["layer"] == "silver"
    quarantined = query(scenario.warehouse, "select count(*) from quarantine.transactions_rejected")
    assert silver["rows_quarantined"] == quarantined[0][0] > 0
    assert silver["rows_deduplicated"] == scenario.first_duplicates > 0

    text = in_one_line(output)
    summary = text.split(f"Run {first['run_id']} checks")[1]
    summary = re.sub(r"[│┃\s]+", " ", summary)
    assert "freshness 6 tables: 6 pass" in summary
    assert "0 of 11 tables flagged (factor 2)" in summary


# --- the second run: anomalies and a stale source ----------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_a_stale_source_stops_the_run_and_anomalies_are_flagged(scenarios):
    scenario = scenarios["duckdb"]
    result = scenario.results["second"]
    assert result.returncode == 1, result.stdout[-6000:]
    text = in_one_line(result.stdout)
    failure = text.split("Failed:")[1]
    assert "raw_live.customers: the newest row was loaded 15.0 days ago" in failure
    assert "error after 14 days" in failure
    assert "dbt build did not run" in failure
    assert "dbt build (" not in result.stdout
    assert "Freshness warning: raw_live.products: the newest row was loaded 31.0 days" in text

    first, second = runs_of(scenario.warehouse)
    assert second["status"] == "failed"
    assert "raw_live.customers" in second["error_message"]
    assert second["command"] == "medallion run --target duckdb --anomaly-factor 2"
    tables = tables_of(scenario.warehouse, second["run_id"])
    assert tables["raw_live.customers"]["freshness_status"] == "error"
    assert tables["raw_live.products"]["freshness_status"] == "warn"
    assert tables["raw_live.transactions"]["freshness_status"] == "pass"  # new rows came

    # shrunk to 30 %: flagged, rows and amount, both equal to the source's own
    shrunk = tables["raw_archive.transactions"]
    assert shrunk["is_anomaly"] is True
    assert shrunk["table_rows"] == scenario.source_counts["raw_archive.transactions"]
    assert shrunk["table_amount"] == scenario.source_amounts["raw_archive.transactions"]
    assert "rows" in shrunk["anomaly_reason"] and "amount" in shrunk["anomaly_reason"]
    assert "factor of 2" in shrunk["anomaly_reason"]
    grown = tables["raw_archive.order_notes"]
    assert grown["is_anomaly"] is True
    assert grown["table_rows"] == scenario.source_counts["raw_archive.order_notes"]
    # grown by 40 %: within the factor, not flagged; unchanged tables neither
    within = tables["raw_live.transactions"]
    assert within["table_rows"] == scenario.source_counts["raw_live.transactions"]
    assert within["table_amount"] == scenario.source_amounts["raw_live.transactions"]
    assert within["is_anomaly"] is False
    for name in ("raw_archive.customers", "raw_live.customers", "raw_files.surveys"):
        assert tables[name]["is_anomaly"] is False, name
    flagged = sorted(name for name, row in tables.items() if row["is_anomaly"])
    assert flagged == ["raw_archive.order_notes", "raw_archive.transactions"]
    assert "Anomaly: raw_archive.transactions: rows" in text
    # no silver or gold rows: the build never ran
    assert {row["layer"] for row in tables.values()} == {"raw"}


@pytest.mark.slow
@pytest.mark.mysql
def test_status_shows_the_last_runs_and_the_tables_of_the_newest(scenarios):
    scenario = scenarios["duckdb"]
    first_status = in_one_line(ok(scenario.results["status_first"]))
    first_run = runs_of(scenario.warehouse)[0]["run_id"]
    assert "Last 1 run(s)" in first_status and first_run in first_status
    assert "int_transactions_deduplicated" in first_status
    output = ok(scenario.results["status_second"])
    text = in_one_line(output)
    first, second = runs_of(scenario.warehouse)
    assert "Last 2 run(s)" in text
    assert text.index(second["run_id"]) < text.index(first["run_id"])  # newest first
    assert "failed" in text and "stale beyond their error threshold" in text
    assert f"Tables of run {second['run_id']}" in text
    assert "flagged:" in text


# --- a run that fails on a critical expectation -------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_a_failed_run_is_recorded_and_status_shows_it(scenarios):
    scenario = scenarios["critical"]
    result = scenario.results["run"]
    assert result.returncode == 1, result.stdout[-6000:]
    (run,) = runs_of(scenario.warehouse)
    assert run["status"] == "failed"
    assert "expect_column_values_to_be_in_set(status)" in run["error_message"]
    assert "dbt build did not run" in run["error_message"]
    tables = tables_of(scenario.warehouse, run["run_id"])
    assert tables["raw_live.transactions"]["expectations_failed_critical"] == 1
    assert tables["raw_archive.transactions"]["expectations_failed_critical"] == 0
    assert {row["layer"] for row in tables.values()} == {"raw"}
    assert not any(row["is_anomaly"] for row in tables.values())
    status = in_one_line(ok(scenario.results["status"]))
    assert run["run_id"] in status and "failed" in status
    assert "expect_column_values_to_be_in_set(status)" in status


# --- MySQL --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_on_mysql_the_audit_is_written_beside_dbts_and_a_warning_lets_the_run_finish(
    scenarios, module_prefix
):
    scenario = scenarios["mysql"]
    ok(scenario.results["ingest"])
    output = ok(scenario.results["run"])
    text = in_one_line(output)
    assert f"Freshness warning: {module_prefix}raw_live.products" in text
    conn = pymysql.connect(**MYSQL, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"select * from `{module_prefix}audit`.`pipeline_runs`")
            (run,) = cursor.fetchall()
            cursor.execute(
                f"select * from `{module_prefix}audit`.`pipeline_run_tables` where run_id = %s",
                (run["run_id"],),
            )
            tables = {row["table_name"]: row for row in cursor.fetchall()}
            cursor.execute(f"select * from `{module_prefix}audit`.`silver_row_counts`")
            silver = {row["silver_table"]: row for row in cursor.fetchall()}
            cursor.execute(f"select count(*) as n from `{module_prefix}raw_live`.`transactions`")
            live_rows = cursor.fetchone()["n"]
            # counted here from the tables, not read from what the code under test wrote
            cursor.execute(
                f"select count(*) as n from `{module_prefix}quarantine`.`transactions_rejected`"
            )
            quarantined = cursor.fetchone()["n"]
            cursor.execute(
                "select count(*) - count(distinct trim(product_code)) as n from ("
                f" select product_code from `{module_prefix}raw_archive`.`products` union all"
                f" select product_code from `{module_prefix}raw_live`.`products`) as products"
            )
            product_duplicates = cursor.fetchone()["n"]
    finally:
        conn.close()
    assert run["status"] == "ok" and run["target"] == "mysql"
    assert tables["raw_live.products"]["freshness_status"] == "warn"
    assert tables["raw_live.transactions"]["freshness_status"] == "pass"
    assert tables["raw_files.surveys"]["freshness_status"] == "pass"
    assert tables["raw_live.transactions"]["table_rows"] == live_rows
    assert tables["raw_live.transactions"]["rows_loaded"] == 0  # `ingest` loaded them
    # the ingest before it wrote no audit: this run has no history, so no anomaly
    assert not any(row["is_anomaly"] for row in tables.values() if row["layer"] == "raw")
    assert len(silver) == 6
    transactions = tables["intermediate.int_transactions_deduplicated"]
    assert transactions["rows_quarantined"] == quarantined > 0
    products = tables["intermediate.int_products_deduplicated"]
    assert products["rows_deduplicated"] == product_duplicates > 0
    for name, counts in silver.items():
        row = tables[f"intermediate.{name}"]
        assert row["rows_deduplicated"] == counts["duplicates_removed"], name
        assert row["rows_quarantined"] == counts["rows_quarantined"], name
    status = in_one_line(ok(scenario.results["status"]))
    assert run["run_id"] in status and f"{module_prefix}audit.pipeline_runs" in status


# --- settings -----------------------------------------------------------------------------


def test_the_anomaly_factor_comes_from_the_flag_the_environment_or_the_config(monkeypatch):
    from medallion.run_audit import anomaly_settings
    from medallion.settings import ConfigError

    monkeypatch.delenv("MEDALLION_ANOMALY_FACTOR", raising=False)
    config = anomaly_settings()
    assert (config.factor, config.window) == (2.0, 5)  # .dlt/config.toml
    assert "config.toml" in config.source
    monkeypatch.setenv("MEDALLION_ANOMALY_FACTOR", "3.5")
    assert anomaly_settings().factor == 3.5
    assert anomaly_settings(1.5).factor == 1.5
    monkeypatch.setenv("MEDALLION_ANOMALY_FACTOR", "0.5")
    with pytest.raises(ConfigError, match="MEDALLION_ANOMALY_FACTOR"):
        anomaly_settings()
    monkeypatch.setenv("MEDALLION_ANOMALY_FACTOR", "lots")
    with pytest.raises(ConfigError, match="must be a number"):
        anomaly_settings()
    monkeypatch.setenv("MEDALLION_ANOMALY_FACTOR", "3")
    monkeypatch.setenv("MEDALLION_ANOMALY_WINDOW", "7")
    assert anomaly_settings().window == 7
    monkeypatch.setenv("MEDALLION_ANOMALY_WINDOW", "a week")
    with pytest.raises(ConfigError, match="MEDALLION_ANOMALY_WINDOW must be a number"):
        anomaly_settings()


def test_a_stale_static_source_is_a_warning_and_other_verdicts_stay() -> None:
    """The demo's sources never change: `medallion run` turns their freshness errors
    into warnings that say why, and leaves passes and warnings as they were."""
    stale = Freshness("raw_live.customers", "error", 400.0, "3 days", "14 days")
    softened = stale.as_warning("the demo sources are static")
    assert (softened.status, softened.table, softened.age_hours) == ("warn", stale.table, 400.0)
    assert softened.describe().endswith("; the demo sources are static")
    assert stale.status == "error"  # the original verdict is not changed in place
    for status in ("pass", "warn", "runtime error"):
        verdict = Freshness("raw_live.products", status, 1.0)
        assert verdict.as_warning("static") is verdict


@pytest.mark.parametrize("value", ["code=[/x]", "sku [bold]A-1", "[ab] and [/]"])
def test_source_values_in_the_warnings_table_are_shown_as_they_are(value):
    """The examples column holds source values: Rich markup in one neither vanishes nor
    breaks the table (a stray closing tag raised MarkupError)."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from medallion.run_audit import warnings_table

    warning = SimpleNamespace(
        layer="silver",
        table_name="stg_live__transactions",
        check_name="amount_not_negative",
        failing_rows=3,
        share="0.1%",
        examples=value,
    )
    audit = SimpleNamespace(warnings=[warning], prefixed=lambda name: name)
    out = io.StringIO()
    Console(file=out, width=200).print(warnings_table(audit))
    assert value in out.getvalue()

"""The data-quality policy (medallion/policy.py, issue 26): a bad row is routed and
reported, never a reason to stop publishing; too many bad rows stop the run.

The gold-rules scenario (test_gold_rules.py, which holds customers created after their
lines) plus one line per transaction anomaly below is written into two SQLite
databases and a landing folder; the module then runs, one after the other, on one
warehouse:

1. ``medallion run`` with ``MEDALLION_MAX_BAD_ROW_SHARE=0.25`` (the scenario is small:
   its bad statuses are 4 of 44 live lines): exit 0, the warnings table, each anomalous
   line in the fact (standardised, or kept and flagged) or in quarantine with its
   reason, both as ``oracle.py`` computes them from the same rows;
2. ``medallion run --strict`` on the same sources: exit 1 before the build;
3. ``medallion run`` with the share at 5%: exit 1 before the build, naming the table,
   the check, the share and the setting; the marts keep their values;
4. ``medallion build --force`` with the share at 1% (no raw checks there): dbt's
   row-level test on staging fails, dbt skips what depends on it, the marts keep their
   values.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fixtures import ZERO_DATE, write_landing, write_sqlite_source
from oracle import STATUSES, TERRITORIES, Oracle, Row, Sources
from pipeline_helpers import PROJECT_DIR
from test_gold_rules import (
    ARCHIVE,
    LANDING_FILES,
    LIVE,
    SOURCES,
    assert_same_rows,
    customer,
    rows,
    table,
    tx,
)

from medallion import policy
from medallion.settings import ConfigError

# --- the anomalies ---------------------------------------------------------------------


MAX_PRICE = Decimal("99999999.99")  # unit_price is decimal(10,2)


def _line(transaction_id: int, **changes: Any) -> Row:
    """A plain valid sale line of customer 12 (its own order), with ``changes``."""
    row = tx(
        transaction_id, f"O-A{transaction_id}", 1, 12, "S10_3000", 1, "100.00", "2024-03-20", "NA"
    )
    row.update(changes)
    return row


# transaction_id -> (the line, where it must end); every line has one defect
ANOMALIES: dict[int, tuple[Row, str]] = {
    6001: (_line(6001, status=""), "quarantine: empty status (MySQL's enum keeps '')"),
    6002: (_line(6002, status="  shipped "), "fact, status Shipped"),
    6003: (_line(6003, status="Lost"), "quarantine: unknown status"),
    6004: (_line(6004, status="CANCELLED"), "fact, status Cancelled, in no mart"),
    6005: (_line(6005, territory=" emea "), "fact, territory EMEA"),
    6006: (_line(6006, territory="latam"), "fact, territory kept as sent, flagged"),
    6007: (_line(6007, product_code=" s10_1000"), "fact, product S10_1000 (known)"),
    6008: (_line(6008, transaction_date=None), "quarantine: null transaction date"),
    6009: (_line(6009, transaction_date=ZERO_DATE), "quarantine: zero transaction date"),
    6010: (_line(6010, transaction_date="9999-12-31 12:00:00"), "quarantine: far future"),
    6011: (_line(6011, amount=None), "quarantine: null amount"),
    # dlt reads a line without a cursor value on every run (on_cursor_value_missing)
    6012: (_line(6012, updated_at=None), "fact: a null updated_at loads"),
    # at the limit of decimal(12,2): 100 x 99,999,999.99, summed in every mart
    6013: (
        _line(6013, quantity=100, unit_price=MAX_PRICE, amount=MAX_PRICE * 100),
        "fact: its amount sums without overflow",
    ),
    # customer 50 has neither created_at nor updated_at
    6014: (_line(6014, customer_id=50), "fact: its customer's first version"),
}
# a customer without dates: its first version still covers its lines
UNDATED_CUSTOMER = {
    **customer(50, "Nell", "Nodate", "nell@example.com", "2024-01-01 00:00:00"),
    "created_at": None,
    "updated_at": None,
}
LIVE_WITH_ANOMALIES = {
    **LIVE,
    "customers": [*LIVE["customers"], UNDATED_CUSTOMER],
    "transactions": [*LIVE["transactions"], *(row for row, _ in ANOMALIES.values())],
}
ANOMALOUS = Sources(
    archive=ARCHIVE,
    live=LIVE_WITH_ANOMALIES,
    fiscal_calendar=SOURCES.fiscal_calendar,
    surveys=SOURCES.surveys,
    expenses=SOURCES.expenses,
)
# the oracle's reason -> words the warehouse's reason must hold
REASON_WORDS = {
    "empty_status": "empty status",
    "unknown_status": "unknown status",
    "no_transaction_date": "transaction date",
    "date_after_max_valid_date": "max_valid_date",
    "null_amount": "null amount",
    "zero_quantity": "zero quantity",
    "amount_mismatch": "amount differs",
}

# the oracle's reasons as quarantine.transactions_rejected words them (docs/quality.md)
QUARANTINE_REASONS = {
    "empty_status": "empty status",
    "unknown_status": "unknown status",
    "no_transaction_date": "null or zero transaction date",
    "date_after_max_valid_date": "transaction date after max_valid_date",
    "null_amount": "null amount",
    "zero_quantity": "zero quantity",
    "amount_mismatch": "amount differs from quantity * unit_price",
}


def _live_lines() -> list[Row]:
    return LIVE_WITH_ANOMALIES["transactions"]


def _bad_status_lines() -> int:
    """Live lines whose status is not exactly one of the enum (what the raw check
    counts), computed from the rows."""
    return sum(1 for row in _live_lines() if row["status"] not in STATUSES)


# --- the runs --------------------------------------------------------------------------


@dataclass
class Runs:
    warehouse: Path
    oracle: Oracle
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    facts_after: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "medallion"), *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def _facts(warehouse: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sorted(
            con.execute(
                "select transaction_id, status, territory, total_amount from marts.fct_transactions"
            ).fetchall()
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("policy")
    warehouse = root / "warehouse.duckdb"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DBT_"))},
        "SOURCES__ARCHIVE__CREDENTIALS": write_sqlite_source(root / "archive.sqlite", ARCHIVE),
        "SOURCES__LIVE__CREDENTIALS": write_sqlite_source(
            root / "live.sqlite", LIVE_WITH_ANOMALIES
        ),
        "SOURCES__FILES__BUCKET_URL": str(write_landing(root / "landing", LANDING_FILES)),
        "MEDALLION_DUCKDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
        "COLUMNS": "250",
    }
    found = Runs(warehouse, Oracle(ANOMALOUS))
    found.results["published"] = _cli(["run"], {**env, "MEDALLION_MAX_BAD_ROW_SHARE": "0.25"})
    assert found.results["published"].returncode == 0, found.results["published"].stdout[-8000:]
    found.facts_after["published"] = _facts(warehouse)
    found.results["strict"] = _cli(
        ["run", "--strict"], {**env, "MEDALLION_MAX_BAD_ROW_SHARE": "0.25"}
    )
    found.results["share"] = _cli(["run"], {**env, "MEDALLION_MAX_BAD_ROW_SHARE": "0.05"})
    found.facts_after["share"] = _facts(warehouse)
    found.results["dbt_share"] = _cli(
        ["build", "--force"], {**env, "MEDALLION_MAX_BAD_ROW_SHARE": "0.01"}
    )
    found.facts_after["dbt_share"] = _facts(warehouse)
    return found


@pytest.fixture(scope="module")
def con(runs: Runs):
    with duckdb.connect(str(runs.warehouse), read_only=True) as connection:
        yield connection


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- the policy alone ------------------------------------------------------------------


def test_a_row_level_check_within_the_share_is_a_warning_above_it_stops():
    within = policy.judge("expect_column_values_to_be_in_set", 3, 1122, 0.01)
    above = policy.judge("expect_column_values_to_be_in_set", 12, 1122, 0.01)
    assert not within.stops and "row-level" in within.rule
    assert above.stops and "max_bad_row_share" in above.rule and "1.07%" in above.rule
    exactly = policy.judge("expect_column_values_to_not_be_null", 1, 100, 0.01)
    assert not exactly.stops  # "exceeds" the share: 1% of the rows is still a warning


def test_structural_checks_stop_whatever_the_share():
    for kind in ("expect_table_columns_to_match_set", "expect_column_values_to_be_unique"):
        assert policy.judge(kind, 1, 1000, 0.5).stops
    assert policy.judge("expect_column_values_to_be_in_type_list", 1, 1000, 0.5).stops
    whole = policy.judge("expect_column_values_to_not_be_null", 50, 50, 1.0)
    assert whole.stops and "entirely null" in whole.rule
    assert policy.judge("expect_column_values_to_not_be_null", 1, 1000, 0.5, structural=True).stops
    assert policy.judge("expect_column_values_to_be_in_set", None, None, 0.5).stops


def test_the_share_comes_from_the_environment_then_the_config(monkeypatch):
    monkeypatch.delenv(policy.SHARE_SETTING, raising=False)
    assert policy.max_bad_row_share() == (0.01, ".dlt/config.toml checks.max_bad_row_share")
    monkeypatch.setenv(policy.SHARE_SETTING, "0.2")
    assert policy.max_bad_row_share() == (0.2, policy.SHARE_SETTING)
    for bad in ("lots", "1.5", "-0.1", "nan"):
        monkeypatch.setenv(policy.SHARE_SETTING, bad)
        with pytest.raises(ConfigError, match=policy.SHARE_SETTING):
            policy.max_bad_row_share()


# --- 1. a run with bad rows publishes ----------------------------------------------------


@pytest.mark.slow
def test_the_run_publishes_and_prints_the_warnings(runs: Runs):
    output = one_line(runs.results["published"].stdout)
    assert "Warnings (" in output
    warnings = output.split("Warnings (")[1]
    assert "raw_live.transactions" in warnings
    assert "expect_column_values_to_be_in_set(status)" in warnings
    assert "expect_column_values_to_not_be_null(transaction_date)" in warnings
    assert "accepted_values_columns_stg_live__transactions" in warnings  # dbt's warning
    assert "'Lost'" in warnings
    assert "raw_live.transactions │ expect_column_values_to_not_be_null(updated_at)" in warnings
    assert "recorded (ok)" in output


@pytest.mark.slow
def test_every_anomalous_line_is_in_the_fact_or_in_quarantine_as_the_oracle_says(
    runs: Runs, con: duckdb.DuckDBPyConnection
):
    oracle = runs.oracle
    facts = {r["transaction_id"]: r for r in table(con, "marts.fct_transactions")}
    rejected = {
        r["transaction_id"]: r["reason"] for r in table(con, "quarantine.transactions_rejected")
    }
    for transaction_id, (_, where) in ANOMALIES.items():
        in_fact, in_quarantine = transaction_id in facts, transaction_id in rejected
        assert in_fact != in_quarantine, (transaction_id, where)  # exactly one place
        assert in_quarantine == where.startswith("quarantine"), (transaction_id, where)
        if in_quarantine:
            words = REASON_WORDS[oracle.rejected[transaction_id]]
            assert words in rejected[transaction_id], (transaction_id, rejected[transaction_id])
    assert sorted(rejected) == sorted(oracle.rejected)
    assert (facts[6002]["status"], facts[6004]["status"]) == ("Shipped", "Cancelled")
    assert facts[6004]["is_cancelled"]
    assert facts[6005]["territory"] == "EMEA" and facts[6006]["territory"] == "latam"
    assert facts[6007]["product_code"] == "S10_1000" and facts[6007]["product_key"] != -1
    assert facts[6013]["total_amount"] == Decimal("9999999999.00")
    (undated,) = rows(
        con,
        "select customer_key, valid_from, valid_to from marts.dim_customer where customer_id = 50",
    )
    assert facts[6014]["customer_key"] == undated["customer_key"] != -1
    assert undated["valid_from"] <= facts[6014]["transaction_at"] < undated["valid_to"]


@pytest.mark.slow
def test_the_fact_and_the_marts_equal_the_oracle(con: duckdb.DuckDBPyConnection, runs: Runs):
    oracle = runs.oracle
    assert_same_rows(
        "marts.fct_transactions",
        table(con, "marts.fct_transactions"),
        oracle.fct_transactions,
        ["transaction_id"],
        ["customer_id", "product_code", "order_date", "total_amount", "territory", "status"],
    )
    assert_same_rows(
        "marts.monthly_summary",
        table(con, "marts.monthly_summary"),
        oracle.monthly_summary,
        ["year_number", "month_number"],
        ["total_sales", "total_refunds", "net_revenue", "order_count", "unique_customers"],
    )
    assert_same_rows(
        "marts.product_performance",
        table(con, "marts.product_performance"),
        oracle.product_performance,
        ["territory", "product_code"],
        ["total_revenue", "total_quantity", "order_count", "revenue_rank"],
    )
    assert_same_rows(
        "marts.customer_segments",
        table(con, "marts.customer_segments"),
        oracle.customer_segments,
        ["customer_id"],
        ["total_spent", "order_count", "customer_segment"],
    )
    assert "latam" in {r["territory"] for r in oracle.product_performance}
    assert "latam" not in TERRITORIES  # kept as sent: the warning flags it


@pytest.mark.slow
def test_the_audit_reconciles_and_records_the_warnings(con: duckdb.DuckDBPyConnection, runs: Runs):
    (counts,) = rows(
        con,
        "select * from audit.silver_row_counts"
        " where silver_table = 'int_transactions_deduplicated'",
    )
    assert counts["rows_in"] == (
        counts["rows_out"] + counts["duplicates_removed"] + counts["rows_quarantined"]
    )
    assert counts["rows_quarantined"] == len(runs.oracle.rejected)
    (first_run,) = rows(
        con,
        "select run_id from audit.pipeline_runs where status = 'ok' order by started_at limit 1",
    )
    warned = rows(
        con,
        "select layer, table_name, check_name, failing_rows, table_rows, examples"
        " from audit.pipeline_run_warnings where run_id = ?",
        first_run["run_id"],
    )
    status = [w for w in warned if w["check_name"] == "expect_column_values_to_be_in_set(status)"]
    assert len(status) == 1
    assert status[0]["layer"] == "raw" and status[0]["table_name"] == "raw_live.transactions"
    assert status[0]["failing_rows"] == _bad_status_lines() == 4
    assert status[0]["table_rows"] == len(_live_lines())
    assert "'Lost'" in status[0]["examples"]
    assert any(w["layer"] == "dbt" and w["table_name"] == "fct_transactions" for w in warned)
    # dbt's warnings carry their failing rows' count, the tested model's rows (row-level
    # tests count them) and a few failing rows as examples
    (staged,) = [
        w for w in warned if w["check_name"] == "accepted_values_columns_stg_live__transactions"
    ]
    assert staged["layer"] == "dbt" and staged["table_name"] == "stg_live__transactions"
    assert staged["table_rows"] == len(_live_lines())
    unknown = [r for r in _live_lines() if str(r.get("status") or "").strip().lower() == "lost"]
    assert unknown and staged["failing_rows"] >= len(unknown)
    assert "failing_column=status, failing_value=Lost, n_records=" in staged["examples"]
    # every quarantine reason is a warning of its own, counted as the oracle counts it
    quarantined = [w for w in warned if w["table_name"] == "quarantine.transactions_rejected"]
    by_reason: dict[str, list[int]] = {}
    for transaction_id, reason in sorted(runs.oracle.rejected.items()):
        by_reason.setdefault(QUARANTINE_REASONS[reason], []).append(transaction_id)
    assert len(quarantined) == len(by_reason)
    for reason, ids in by_reason.items():
        (warning,) = [w for w in quarantined if w["check_name"] == reason]
        assert warning["layer"] == "silver" and warning["failing_rows"] == len(ids)
        assert warning["table_rows"] == counts["rows_in"]
        assert warning["examples"].startswith(", ".join(str(i) for i in ids[:3]))


# --- 2. --strict ---------------------------------------------------------------------------


@pytest.mark.slow
def test_strict_makes_a_warning_fail_the_run_before_the_build(runs: Runs):
    result = runs.results["strict"]
    assert result.returncode == 1, result.stdout[-4000:]
    failure = one_line(result.stdout).split("Failed:")[1]
    assert "--strict" in failure and "dbt build did not run" in failure
    assert "dbt build (" not in result.stdout


def test_strict_makes_dbt_warnings_errors_in_arguments_dbt_accepts():
    """--strict hands dbt --warn-error where dbt 1.7 takes it (before the command: after
    it dbt refuses the option); dbt parses the arguments (--help stops there)."""
    from medallion.run import RunOptions, build_args

    assert build_args(RunOptions()) == ["build"]
    strict = build_args(RunOptions(strict=True))
    assert "--warn-error" in strict
    dbt = str(Path(sys.executable).parent / "dbt")
    parsed = subprocess.run([dbt, *strict, "--help"], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr


# --- 3. too many bad rows stop the run -----------------------------------------------------


@pytest.mark.slow
def test_bad_rows_above_the_share_stop_the_run_and_the_marts_keep_their_values(
    runs: Runs, con: duckdb.DuckDBPyConnection
):
    result = runs.results["share"]
    assert result.returncode == 1, result.stdout[-4000:]
    failure = one_line(result.stdout).split("Failed:")[1]
    share = f"{100 * _bad_status_lines() / len(_live_lines()):.2f}".rstrip("0").rstrip(".")
    share += "%"  # 4 of 43 lines: 9.3%
    assert "raw_live.transactions: expect_column_values_to_be_in_set(status)" in failure
    assert f"max_bad_row_share: {share} of the rows fail, more than 5%" in failure
    assert "MEDALLION_MAX_BAD_ROW_SHARE" in failure
    assert "dbt build did not run" in failure
    assert "dbt build (" not in result.stdout
    assert runs.facts_after["share"] == runs.facts_after["published"]
    (last,) = rows(
        con,
        # the last run recorded: `medallion build` (4.) records none
        "select status, error_message from audit.pipeline_runs order by started_at desc limit 1",
    )
    assert last["status"] == "failed" and "max_bad_row_share" in last["error_message"]


@pytest.mark.slow
def test_a_dbt_row_level_test_above_the_share_stops_what_depends_on_it(runs: Runs):
    result = runs.results["dbt_share"]
    assert result.returncode == 1, result.stdout[-4000:]
    failure = one_line(result.stdout).split("Failed:")[1]
    assert "accepted_values_columns_stg_live__transactions: fail" in failure
    assert "0.01 * max(table_rows)" in failure
    assert "SKIP" in result.stdout
    assert runs.facts_after["dbt_share"] == runs.facts_after["published"]

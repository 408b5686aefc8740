"""The same customer id with another email (issue 26), through two runs.

The source contract lets an email change; the gold contract (rules 1 and 3) decides
where the row ends: the record that wins (latest ``updated_at``, live on a tie) is
the customer, its email is the one the dimension shows and the one merges are judged
on, and the id map is recomputed on every build. So:

* **between archive and live**: customer 3 is ``carol@example.com`` in the archive and
  ``grace@example.com`` in live (newer): it merges with customer 7 (grace), and not
  with customer 50, a live customer who is ``carol@example.com`` now;
* **between runs**: after the first run, live customer 13 changes its email to
  customer 1's (``ada@example.com``) with a newer ``updated_at``: on the next run
  (an incremental build) 1 merges into 13, the survivor; 1's lines count for 13, and
  1's version in ``dim_customer`` is closed (a merged-away id has no open version).

Every expectation comes from ``oracle.py`` run on the same rows.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fixtures import write_landing, write_sqlite_source
from oracle import Oracle
from pipeline_helpers import query, run_cli
from test_gold_rules import ARCHIVE, LANDING_FILES, LIVE, SOURCES, customer

LIVE_WITH_CHANGES = {
    **LIVE,
    "customers": [
        *LIVE["customers"],
        # archive: carol@example.com (2023-04-01); live, newer: grace's email
        customer(3, "Carol", "Shaw", "grace@example.com", "2024-03-01 12:00:00"),
        customer(50, "Caroline", "Other", "carol@example.com", "2023-11-01 12:00:00"),
    ],
}
SECOND_RUN_EMAIL = ("ada@example.com", "2024-09-01 12:00:00")  # customer 13's change


def _oracle(live: dict[str, Any]) -> Oracle:
    return Oracle(replace(SOURCES, live=live))


def _after_second_change() -> dict[str, Any]:
    email, updated_at = SECOND_RUN_EMAIL
    changed = [
        {**row, "email": email, "updated_at": updated_at} if row["customer_id"] == 13 else row
        for row in LIVE_WITH_CHANGES["customers"]
    ]
    return {**LIVE_WITH_CHANGES, "customers": changed}


@dataclass
class Runs:
    warehouse: Path
    outputs: dict[str, str] = field(default_factory=dict)
    id_maps: dict[str, dict[int, int]] = field(default_factory=dict)
    facts: dict[str, dict[int, int]] = field(default_factory=dict)


def _state(warehouse: Path) -> tuple[dict[int, int], dict[int, int]]:
    id_map = dict(
        query(
            warehouse,
            "select customer_id, survivor_customer_id from intermediate.int_customer_id_map",
        )
    )
    facts = dict(query(warehouse, "select transaction_id, customer_id from marts.fct_transactions"))
    return id_map, facts


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("customer_emails")
    live = root / "live.sqlite"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MEDALLION_", "DBT_"))},
        "SOURCES__ARCHIVE__CREDENTIALS": write_sqlite_source(root / "archive.sqlite", ARCHIVE),
        "SOURCES__LIVE__CREDENTIALS": write_sqlite_source(live, LIVE_WITH_CHANGES),
        "SOURCES__FILES__BUCKET_URL": str(write_landing(root / "landing", LANDING_FILES)),
        "MEDALLION_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
        "COLUMNS": "200",
    }
    found = Runs(root / "warehouse.duckdb")
    found.outputs["first"] = run_cli(["run"], env).stdout
    found.id_maps["first"], found.facts["first"] = _state(found.warehouse)
    with sqlite3.connect(live) as conn:
        conn.execute(
            "update customers set email = ?, updated_at = ? where customer_id = 13",
            SECOND_RUN_EMAIL,
        )
    found.outputs["second"] = run_cli(["run"], env).stdout
    found.id_maps["second"], found.facts["second"] = _state(found.warehouse)
    return found


def _merged(id_map: dict[int, int]) -> dict[int, int]:
    return {k: v for k, v in id_map.items() if k != v}


def _oracle_facts(oracle: Oracle) -> dict[int, int]:
    return {row["transaction_id"]: row["customer_id"] for row in oracle.fct_transactions}


@pytest.mark.slow
def test_the_live_email_decides_the_merge_not_the_archived_one(runs: Runs) -> None:
    oracle = _oracle(LIVE_WITH_CHANGES)
    assert oracle.key_map[7] == 3 and oracle.key_map.get(50, 50) == 50  # the rule, as read
    assert _merged(runs.id_maps["first"]) == _merged(oracle.key_map)
    assert runs.facts["first"] == _oracle_facts(oracle)


@pytest.mark.slow
def test_an_email_changed_between_runs_merges_on_the_next_run(runs: Runs) -> None:
    oracle = _oracle(_after_second_change())
    assert oracle.key_map[1] == 13  # 13 is the most recently updated: the survivor
    assert "Incremental build" in runs.outputs["second"]
    assert "schema drift" not in runs.outputs["second"]  # the same tables: nothing drifted
    assert _merged(runs.id_maps["second"]) == _merged(oracle.key_map)
    assert runs.facts["second"] == _oracle_facts(oracle)
    moved = {t for t, c in runs.facts["first"].items() if c == 1}
    assert moved and all(runs.facts["second"][t] == 13 for t in moved)


@pytest.mark.slow
def test_the_dimension_closes_the_merged_id_and_versions_the_survivor(runs: Runs) -> None:
    versions = query(
        runs.warehouse,
        "select customer_id, is_current, valid_to < timestamp '9999-01-01'"
        " from marts.dim_customer where customer_id in (1, 13) order by customer_id, valid_from",
    )
    # 1: its only version closed; 13: the old version closed, the new one current
    assert versions == [(1, False, True), (13, False, True), (13, True, False)]
    (email,) = query(
        runs.warehouse,
        "select pii.email from restricted.customer_pii as pii"
        " inner join marts.dim_customer as dim on pii.customer_key = dim.customer_key"
        " where dim.customer_id = 13 and dim.is_current",
    )
    assert email == (SECOND_RUN_EMAIL[0],)

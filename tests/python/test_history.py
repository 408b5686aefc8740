"""SCD type 2 history across runs, and hard deletes in live flowing to the gold layer.

The whole pipeline (`medallion run`) runs once on real demo sources for the module; each
test starts from that warehouse, put back as it was built (``SavedFolder``), makes a change
in the live SQLite database, runs the pipeline again and reads the marts.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from oracle import mask_pii
from pipeline_helpers import SavedFolder, pipeline_env, query, run_cli

from medallion.demo import generate_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history_demo")
    generate_demo(root, seed=3, scale=0.3)
    return root


@pytest.fixture(scope="module")
def built_once(
    demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SavedFolder, dict[str, str]]:
    """A copy of the demo sources and a warehouse built from them, once for the module."""
    work = tmp_path_factory.mktemp("history") / "work"
    sources = work / "sources"
    shutil.copytree(demo, sources)
    env = pipeline_env(
        work,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )
    run_cli(["run"], env)
    return SavedFolder.save(work), env


@pytest.fixture
def built(built_once: tuple[SavedFolder, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    """The demo sources and the warehouse built from them, as the module's run left
    them: each test changes both freely."""
    saved, env = built_once
    return saved.restore() / "sources", dict(env)


def _live(sources: Path) -> sqlite3.Connection:
    return sqlite3.connect(sources / "live.sqlite")


def _a_live_only_survivor(warehouse: str, sources: Path) -> int:
    """A customer that is its own survivor, current, and present only in live."""
    with _live(sources) as conn:
        live_ids = {row[0] for row in conn.execute("select customer_id from customers")}
    rows = query(
        warehouse,
        "select customer_id from marts.dim_customer where is_current and customer_key <> -1"
        " and customer_id in (select customer_id from intermediate.int_customer_id_map"
        " where customer_id = survivor_customer_id) order by customer_id desc",
    )
    candidates = [r[0] for r in rows if r[0] in live_ids]
    assert candidates
    return candidates[0]


def test_a_changed_attribute_opens_a_second_version_and_closes_the_first(built):
    sources, env = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    customer_id = _a_live_only_survivor(warehouse, sources)
    with _live(sources) as conn:
        conn.execute(
            "update customers set city = 'Tromsø', updated_at = '2025-06-01 12:00:00'"
            " where customer_id = ?",
            (customer_id,),
        )

    run_cli(["run"], env)

    versions = query(
        warehouse,
        "select city, is_current, valid_from, valid_to from restricted.customer_pii"
        f" where customer_id = {customer_id} order by valid_from",
    )
    masked = query(
        warehouse,
        "select city from marts.dim_customer"
        f" where customer_id = {customer_id} order by valid_from",
    )
    assert masked == [(mask_pii(city),) for city, *_ in versions]  # the mart shows the mask
    assert len(versions) == 2, versions
    (old_city, old_current, _, old_to), (new_city, new_current, new_from, new_to) = versions
    assert new_city == "Tromsø" and new_current and not old_current
    assert old_city != "Tromsø"
    assert old_to == new_from  # adjacent windows: no gap, no overlap
    assert str(new_from).startswith("2025-06-01 12:00:00")
    assert str(new_to).startswith("9999-12-31")


def test_a_customer_hard_deleted_in_live_has_its_version_closed(built):
    sources, env = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    customer_id = _a_live_only_survivor(warehouse, sources)
    with sqlite3.connect(sources / "archive.sqlite") as conn:
        in_archive = conn.execute(
            "select count(*) from customers where customer_id = ?", (customer_id,)
        ).fetchone()[0]
    assert in_archive == 0
    with _live(sources) as conn:
        conn.execute("delete from customers where customer_id = ?", (customer_id,))

    run_cli(["run"], env)

    versions = query(
        warehouse,
        f"select is_current, valid_to from marts.dim_customer where customer_id = {customer_id}",
    )
    assert versions and all(not is_current for is_current, _ in versions), versions
    assert all(not str(valid_to).startswith("9999") for _, valid_to in versions)
    # its raw row is kept
    assert query(
        warehouse, f"select count(*) from raw_live.customers where customer_id = {customer_id}"
    ) == [(1,)]


def test_a_transaction_hard_deleted_in_live_leaves_every_fact_and_mart(built):
    sources, env = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    transaction_id, amount, year, month = query(
        warehouse,
        "select transaction_id, total_amount, year(order_date), month(order_date)"
        " from marts.fct_transactions"
        " where source_system = 'live' and not is_cancelled and transaction_type = 'Sale'"
        " order by transaction_id limit 1",
    )[0]
    sales_before = query(
        warehouse,
        "select total_sales from marts.monthly_summary"
        f" where year_number = {year} and month_number = {month}",
    )[0][0]
    with _live(sources) as conn:
        conn.execute("delete from transactions where transaction_id = ?", (transaction_id,))
    with sqlite3.connect(sources / "archive.sqlite") as conn:
        conn.execute("delete from transactions where transaction_id = ?", (transaction_id,))

    run_cli(["run"], env)

    assert query(
        warehouse,
        f"select count(*) from marts.fct_transactions where transaction_id = {transaction_id}",
    ) == [(0,)]
    sales_after = query(
        warehouse,
        "select total_sales from marts.monthly_summary"
        f" where year_number = {year} and month_number = {month}",
    )[0][0]
    assert sales_before - sales_after == amount
    assert query(
        warehouse,
        f"select count(*) from raw_live.transactions where transaction_id = {transaction_id}",
    ) == [(1,)]

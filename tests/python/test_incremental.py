"""Incremental builds: after live-only changes, `medallion build` rewrites only what a
later load touched, and the warehouse it leaves is the one a whole build gives.

The pipeline runs on real demo sources; the live SQLite database then gets changes of
every kind the transaction chain must follow (an updated line, a line moved onto
another's business key that now wins, the line it beat, a new line, a line deleted at
source, a line that becomes rejected and one that stops being, a customer and a
product changed, an order that a new line takes over the large-order threshold).
After `medallion ingest` and the incremental `medallion build`, a copy of the warehouse
is rebuilt whole (`--full-refresh`), and every silver and gold table must hold the same
rows in both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import PROJECT_DIR, SavedFolder, pipeline_env, query, run_cli

from medallion.build_state import BuildState, whole_build_every_days
from medallion.demo import generate_demo
from medallion.settings import ConfigError

# Bookkeeping of the incremental models, which says when a row was written, not what
# it holds: left out of the comparison.
BOOKKEEPING = {"rewritten_since"}

COMPARED = [
    "intermediate.int_transactions_unioned",
    "intermediate.int_transactions_ranked",
    "intermediate.int_transactions_deduplicated",
    "intermediate.int_customer_keys",
    "intermediate.int_product_keys",
    "intermediate.int_customers_versioned",
    "quarantine.transactions_rejected",
    "marts.fct_transactions",
    "marts.fct_refunds",
    "marts.monthly_summary",
    "marts.regional_summary",
    "marts.product_performance",
    "marts.customer_segments",
    "marts.top_customers",
    "marts.dim_customer",
    "marts.dim_product",
    "marts.dim_date",
    "audit.silver_row_counts",
]


# --- when a build may be incremental (no warehouse needed) ----------------------------

LAST = {
    "raw_archive.transactions": [100, "1733000000.5", "1733000000.5"],
    "raw_live.transactions": [50, "1733000100.25", "1733000000.5"],
    "raw_live.customers": [20, "1733000100.25", "1733000000.5"],
    "raw_files.expenses": [9, "1733000200.125", "1733000000.5"],
}


def _state(now: dict, project: str = "p1", last: dict | None = None) -> BuildState:
    detail = json.dumps({"raw_tables": now, "project": project})
    last_detail = json.dumps({"raw_tables": last or LAST, "project": "p1"})
    return BuildState("duckdb", "sig", detail, "old", None, last_detail)


def test_only_live_rows_added_allow_an_incremental_build_since_the_newest_load() -> None:
    now = dict(LAST)
    now["raw_live.transactions"] = [55, "1733000300.1", "1733000000.5"]
    now["raw_live._medallion_deletions"] = [1, "1733000300.1", "1733000300.1"]  # a new live table
    now["raw_files.expenses"] = [12, "1733000300.1", "1733000000.5"]  # always rebuilt whole
    # the newest load id the last build had read, whatever its table
    assert _state(now).changed_since == "1733000200.125"
    # and the build selects what those sources feed
    assert _state(now).changed_sources == ["files", "live"]
    only_live = {**LAST, "raw_live.customers": [21, "1733000300.1", "1733000000.5"]}
    assert _state(only_live).changed_sources == ["live"]


@pytest.mark.parametrize(
    "change",
    [
        {"raw_archive.transactions": [100, "1733000300.1", "1733000300.1"]},  # reloaded
        {"raw_live.transactions": [49, "1733000300.1", "1733000000.5"]},  # lost rows
        # replaced (ingest --full-refresh, a table without a key): rows may have gone
        # while others came, so the count alone would not tell
        {"raw_live.transactions": [60, "1733000300.1", "1733000300.1"]},
        {"raw_archive.customers": [3, "1733000300.1", "1733000300.1"]},  # a new table
    ],
)
def test_any_other_change_makes_a_whole_build(change: dict) -> None:
    assert _state({**LAST, **change}).changed_since is None


def test_a_project_change_or_a_missing_record_makes_a_whole_build() -> None:
    assert _state(dict(LAST), project="p2").changed_since is None
    gone = {name: figures for name, figures in LAST.items() if name != "raw_live.customers"}
    assert _state(gone).changed_since is None
    assert BuildState("duckdb", "sig", "{}", None, None, None).changed_since is None


def test_a_build_is_made_whole_when_the_last_whole_one_is_older_than_the_setting() -> None:
    now = dt.datetime(2026, 12, 6, 12, 0)
    state = _state(dict(LAST))
    state.whole_every_days = 7
    state.last_whole_at = now - dt.timedelta(days=6, hours=23)
    assert not state.whole_build_due(now)
    state.last_whole_at = now - dt.timedelta(days=7)  # daily runs: the seventh is whole
    assert state.whole_build_due(now)
    state.whole_every_days = 0.5  # half a day
    state.last_whole_at = now - dt.timedelta(hours=13)
    assert state.whole_build_due(now)
    state.last_whole_at = None  # no whole build recorded (a warehouse of an older version)
    assert state.whole_build_due(now)
    state.whole_every_days = 0  # never for its age
    assert not state.whole_build_due(now)


def test_a_whole_build_mark_as_newest_row_makes_the_build_whole() -> None:
    marked = BuildState(
        "duckdb",
        "sig",
        json.dumps({"raw_tables": LAST, "project": "p1"}),
        "",
        None,
        json.dumps({"whole": "started"}),
    )
    assert marked.unfinished_whole_build and marked.changed_since is None
    assert not marked.unchanged  # and it is never skipped
    assert not _state(dict(LAST)).unfinished_whole_build


@pytest.mark.parametrize("value", ["weekly", "-1", "nan", "inf", "1e9"])
def test_a_bad_whole_build_setting_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MEDALLION_WHOLE_BUILD_EVERY_DAYS", value)
    with pytest.raises(ConfigError, match="MEDALLION_WHOLE_BUILD_EVERY_DAYS must be"):
        whole_build_every_days()


def test_the_whole_build_setting_comes_from_the_environment_then_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEDALLION_WHOLE_BUILD_EVERY_DAYS", raising=False)
    configured = tomllib.loads((PROJECT_DIR / ".dlt" / "config.toml").read_text())
    days = configured["build"]["whole_build_every_days"]
    assert whole_build_every_days() == (days, ".dlt/config.toml build.whole_build_every_days")
    monkeypatch.setenv("MEDALLION_WHOLE_BUILD_EVERY_DAYS", "1.5")
    assert whole_build_every_days() == (1.5, "MEDALLION_WHOLE_BUILD_EVERY_DAYS")


# --- incremental builds against whole ones, on the demo --------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("incremental_demo")
    generate_demo(root, seed=11, scale=0.3)
    return root


@pytest.fixture(scope="module")
def built_once(
    demo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SavedFolder, dict[str, str]]:
    """A copy of the demo sources, ingested and built whole, once for the module."""
    work = tmp_path_factory.mktemp("incremental") / "work"
    sources = work / "sources"
    shutil.copytree(demo, sources)
    env = pipeline_env(
        work,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )
    run_cli(["ingest"], env)
    first = run_cli(["build"], env)
    assert "Incremental build" not in first.stdout
    return SavedFolder.save(work), env


@pytest.fixture
def built(
    built_once: tuple[SavedFolder, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str], Path]:
    """The sources and the warehouse as the module's first build left them (each test
    changes both freely), and a folder of the test's own."""
    saved, env = built_once
    return saved.restore() / "sources", dict(env), tmp_path


def _later(conn: sqlite3.Connection) -> str:
    """A timestamp after every `updated_at` of the live database: the cursor moves."""
    (newest,) = conn.execute("select max(updated_at) from transactions").fetchone()
    (newest_customer,) = conn.execute("select max(updated_at) from customers").fetchone()
    return max(newest, newest_customer)[:4] + "-12-31 23:59:59"


def _change_live(sources: Path, warehouse: str) -> dict[str, int | str]:
    """One change of each kind; returns the transaction ids (and the order) it is about."""
    # a live line that beat another to its business key (a re-entered line): when it
    # moves away, the runner-up must take the key back
    moved, runner_up = query(
        warehouse,
        "select winner.transaction_id, second.transaction_id"
        " from intermediate.int_transactions_ranked as winner"
        " inner join intermediate.int_transactions_ranked as second"
        " on winner.order_number = second.order_number"
        " and winner.order_line_number = second.order_line_number"
        " and second.business_key_rank = 2"
        " where winner.business_key_rank = 1 and winner.source_system = 'live'"
        " and winner.rejection_reason is null and not winner.is_deleted"
        " order by winner.transaction_id limit 1",
    )[0]
    survivors = query(
        warehouse,
        "select transaction_id, order_number, order_line_number"
        " from intermediate.int_transactions_deduplicated"
        " where source_system = 'live' and rejection_reason is null and not is_deleted"
        " and order_number is not null and order_line_number is not null"
        f" and transaction_id not in ({moved}, {runner_up})"
        " order by transaction_id limit 4",
    )
    assert len(survivors) == 4
    (beaten, order, line), (updated, _, _), (deleted, _, _), (rejected, _, _) = survivors
    quarantined = query(
        warehouse,
        "select transaction_id from intermediate.int_transactions_deduplicated"
        " where source_system = 'live' and rejection_reason = 'zero quantity'"
        " order by transaction_id limit 1",
    )
    # an order of archive lines only, not large: a new live line takes it over the
    # threshold, so its old lines (no change of their own) must be flagged too
    (small_order,) = query(
        warehouse,
        "select order_number from marts.fct_transactions where order_number is not null"
        " group by order_number having count(*) >= 2 and not bool_or(is_large_order)"
        " and bool_and(source_system = 'archive') order by order_number limit 1",
    )[0]
    with sqlite3.connect(sources / "live.sqlite") as conn:
        later = _later(conn)
        # the moved line takes the beaten line's business key, and wins it (newest)
        conn.execute(
            "update transactions set order_number = ?, order_line_number = ?,"
            " updated_at = ? where transaction_id = ?",
            (order, line, later, moved),
        )
        conn.execute(
            "update transactions set territory = 'Japan', amount = amount * 3,"
            " quantity = quantity * 3, updated_at = ? where transaction_id = ?",
            (later, updated),
        )
        conn.execute(
            "update transactions set quantity = 0, updated_at = ? where transaction_id = ?",
            (later, rejected),
        )
        conn.execute("delete from transactions where transaction_id = ?", (deleted,))
        if quarantined:
            conn.execute(
                "update transactions set quantity = 1, amount = unit_price, updated_at = ?"
                " where transaction_id = ?",
                (later, quarantined[0][0]),
            )
        columns = [row[1] for row in conn.execute("pragma table_info(transactions)")]
        new_id = conn.execute("select max(transaction_id) + 1000 from transactions").fetchone()[0]
        template = dict(
            zip(
                columns,
                conn.execute(
                    "select * from transactions where transaction_id = ?", (updated,)
                ).fetchone(),
                strict=True,
            )
        )
        template.update(
            transaction_id=new_id,
            order_number="INCR-1",
            order_line_number=1,
            updated_at=later,
        )
        conn.execute(
            f"insert into transactions ({', '.join(columns)})"
            f" values ({', '.join('?' for _ in columns)})",
            list(template.values()),
        )
        template.update(
            transaction_id=new_id + 1,
            order_number=small_order,
            order_line_number=999,
            quantity=1,
            unit_price=5000,
            amount=5000,
            status="Shipped",
        )
        conn.execute(
            f"insert into transactions ({', '.join(columns)})"
            f" values ({', '.join('?' for _ in columns)})",
            list(template.values()),
        )
        conn.execute(
            "update customers set city = 'Bergen', updated_at = ?"
            " where customer_id = (select min(customer_id) from customers)",
            (later,),
        )
        live_customers = {row[0] for row in conn.execute("select customer_id from customers")}
        survivors = [
            customer
            for (customer,) in query(
                warehouse,
                "select customer_id from intermediate.int_customer_id_map"
                " where customer_id = survivor_customer_id and email is not null"
                " and customer_id in (select source_customer_id from marts.fct_transactions)"
                " order by customer_id",
            )
            if customer in live_customers
        ]
        merged = [
            customer
            for (customer,) in query(
                warehouse,
                "select customer_id from intermediate.int_customer_id_map"
                " where customer_id <> survivor_customer_id"
                " and customer_id in (select source_customer_id from marts.fct_transactions)"
                " order by customer_id",
            )
            if customer in live_customers
        ]
        assert len(survivors) >= 2 and merged
        # one survivor takes another's email and, updated last, becomes its survivor;
        # a merged id gets an email of its own and is its own survivor again
        joining, joined = survivors[0], survivors[1]
        conn.execute(
            "update customers set email = (select email from customers where customer_id = ?),"
            " updated_at = ? where customer_id = ?",
            (joined, later, joining),
        )
        conn.execute(
            "update customers set email = ?, updated_at = ? where customer_id = ?",
            (f"incremental-{merged[0]}@example.com", later, merged[0]),
        )
        conn.execute(
            "update products set msrp = msrp + 7, updated_at = ?"
            " where product_code = (select min(product_code) from products)",
            (later,),
        )
    return {
        "moved": moved,
        "runner_up": runner_up,
        "beaten": beaten,
        "deleted": deleted,
        "new": new_id,
        "small_order": small_order,
        "joining": joining,
        "joined": joined,
        "split": merged[0],
    }


# Surrogate keys: a whole build numbers the versions in order, an incremental one keeps
# the keys it had and numbers new versions after them, so the same version may have
# another key in each warehouse. Compared as the version each key names.
KEYS = {
    "customer_key": "select customer_key, customer_id, dbt_valid_from"
    " from intermediate.int_customer_keys",
    "product_key": "select product_key, product_code, dbt_valid_from"
    " from intermediate.int_product_keys",
}


def _rows(warehouse: Path | str, table: str) -> list[tuple]:
    columns = [
        name
        for (name,) in query(
            warehouse,
            "select column_name from information_schema.columns"
            f" where table_schema || '.' || table_name = '{table}' order by ordinal_position",
        )
        if name not in BOOKKEEPING
    ]
    assert columns, table
    versions = {
        column: {-1: "unknown"} | {key: tuple(rest) for key, *rest in query(warehouse, sql)}
        for column, sql in KEYS.items()
    }
    rows = query(warehouse, f"select {', '.join(columns)} from {table}")
    rows = [
        tuple(
            versions[name][value] if name in versions else value
            for name, value in zip(columns, row, strict=True)
        )
        for row in rows
    ]
    return sorted(rows, key=repr)


@pytest.mark.slow
def test_an_incremental_build_equals_a_whole_build(built):
    sources, env, tmp = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    ids = _change_live(sources, warehouse)

    run_cli(["ingest"], env)
    incremental = run_cli(["build"], env)
    assert "Incremental build" in incremental.stdout
    assert "downstream of source live" in " ".join(incremental.stdout.split())

    # what each change must have done, checked directly
    dedup = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            "select transaction_id, is_deleted, rejection_reason"
            " from intermediate.int_transactions_deduplicated",
        )
    }
    assert ids["moved"] in dedup and ids["beaten"] not in dedup
    assert ids["runner_up"] in dedup
    assert dedup[ids["deleted"]][0] is True
    assert ids["new"] in dedup
    fact = {row[0] for row in query(warehouse, "select transaction_id from marts.fct_transactions")}
    assert ids["deleted"] not in fact and ids["beaten"] not in fact and ids["new"] in fact
    assert ids["moved"] in fact
    # the order closure: the order's old lines now carry the flag the new line gave it
    flags = query(
        warehouse,
        "select source_system, is_large_order from marts.fct_transactions"
        f" where order_number = '{ids['small_order']}'",
    )
    assert sorted(flags) == [("archive", True)] * (len(flags) - 1) + [("live", True)], flags
    survivor_of = dict(
        query(
            warehouse,
            "select distinct source_customer_id, customer_id from marts.fct_transactions"
            f" where source_customer_id in ({ids['joining']}, {ids['joined']}, {ids['split']})",
        )
    )
    assert survivor_of == {
        ids["joining"]: ids["joining"],
        ids["joined"]: ids["joining"],
        ids["split"]: ids["split"],
    }

    whole_env = dict(env)
    whole_env["MEDALLION_DUCKDB_PATH"] = str(tmp / "whole" / "medallion.duckdb")
    whole_env["DBT_TARGET_PATH"] = str(tmp / "whole_target")
    Path(whole_env["MEDALLION_DUCKDB_PATH"]).parent.mkdir()
    shutil.copy(warehouse, whole_env["MEDALLION_DUCKDB_PATH"])
    whole = run_cli(["build", "--full-refresh", "--force"], whole_env)
    assert "Incremental build" not in whole.stdout

    for table in COMPARED:
        assert _rows(warehouse, table) == _rows(whole_env["MEDALLION_DUCKDB_PATH"], table), table


def _dbt(env: dict[str, str], *args: str, since: str) -> subprocess.CompletedProcess[str]:
    dbt = str(Path(sys.executable).parent / "dbt")
    return subprocess.run(
        [dbt, *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
        env={**env, "MEDALLION_CHANGED_SINCE": since, "PATH": os.environ["PATH"]},
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_an_incremental_build_tests_the_fact_lines_it_wrote(built):
    """The fact's tests of line values check, in an incremental build, the lines it
    wrote: a wrong line among them fails the test, and one left as it was is checked
    by a whole pass (no watermark), not by the incremental one. Its key tests check the
    keys of the lines written against every line: a line left alone that took a
    written line's business key or transaction id fails both passes."""
    sources, env, tmp = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    (line,) = query(
        warehouse,
        "select min(transaction_id) from marts.fct_transactions where source_system = 'live'",
    )[0]
    with sqlite3.connect(sources / "live.sqlite") as conn:
        conn.execute(
            "update transactions set updated_at = ? where transaction_id = ?",
            (_later(conn), line),
        )
    run_cli(["ingest"], env)
    assert "Incremental build" in run_cli(["build"], env).stdout

    # on a copy: the wrong values would otherwise stay for the next build to find
    copy = tmp / "tested.duckdb"
    shutil.copy(warehouse, copy)
    env = {**env, "MEDALLION_DUCKDB_PATH": str(copy), "DBT_TARGET_PATH": str(tmp / "tested")}
    (since,) = query(copy, "select max(rewritten_since) from marts.fct_transactions")[0]
    assert since, "the incremental build wrote no line"
    picked = {
        written: query(
            copy,
            "select min(transaction_id) from marts.fct_transactions"
            f" where rewritten_since {'=' if written else '<>'} '{since}'"
            " and customer_key <> -1",
        )[0][0]
        for written in (True, False)
    }
    assert None not in picked.values(), picked
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "update marts.fct_transactions set customer_key = -999"
            f" where transaction_id in ({picked[True]}, {picked[False]})"
        )
    tests = [
        # a generic test (`where` config) and a singular one, each a row per wrong line
        "relationships_fct_transactions_customer_key__customer_key__ref_dim_customer_",
        "assert_unknown_member_only_for_missing_keys",
    ]
    for watermark, failing in ((since, 1), ("", 2)):
        result = _dbt(env, "test", "--select", *tests, since=watermark)
        assert result.returncode != 0, result.stdout[-2000:]
        for test in tests:
            found = re.findall(rf"FAIL (\d+) {test}\b", result.stdout)
            assert found == [str(failing)], (watermark, test, result.stdout[-3000:])

    # A key of a written line taken by a line the build left alone: the incremental
    # pass counts the written keys over every line, so it finds the clash too.
    (transaction_id, order_number, line_number) = query(
        copy,
        "select transaction_id, order_number, order_line_number from marts.fct_transactions"
        f" where transaction_id = {picked[True]}",
    )[0]
    left_alone = [
        row[0]
        for row in query(
            copy,
            "select transaction_id from marts.fct_transactions"
            f" where rewritten_since <> '{since}' and transaction_id <> {picked[False]}"
            " order by transaction_id limit 2",
        )
    ]
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "update marts.fct_transactions set order_number = ?, order_line_number = ?"
            " where transaction_id = ?",
            [order_number, line_number, left_alone[0]],
        )
        conn.execute(
            "update marts.fct_transactions set transaction_id = ? where transaction_id = ?",
            [transaction_id, left_alone[1]],
        )
    tests = ["unique_business_key_fct_transactions", "unique_transaction_id_fct_transactions"]
    for watermark in (since, ""):
        result = _dbt(env, "test", "--select", *tests, since=watermark)
        assert result.returncode != 0, result.stdout[-2000:]
        for test in tests:
            found = re.findall(rf"FAIL (\d+) {test}\b", result.stdout)
            assert found == ["1"], (watermark, test, result.stdout[-3000:])


@pytest.mark.slow
def test_a_bad_watermark_is_refused_by_dbt(built):
    """`MEDALLION_CHANGED_SINCE` goes into SQL: anything but a load id stops dbt."""
    _, env, _ = built
    result = _dbt(env, "compile", "--select", "int_transactions_ranked", since="1' or '1' = '1")
    assert result.returncode != 0
    assert "MEDALLION_CHANGED_SINCE must be a dlt load id" in result.stdout + result.stderr


def _change_a_live_line(sources: Path, env: dict[str, str], which: str) -> None:
    """Move the `which` (min, max) live line past the cursor, and ingest it."""
    with sqlite3.connect(sources / "live.sqlite") as conn:
        conn.execute(
            "update transactions set updated_at = ? where transaction_id ="
            f" (select {which}(transaction_id) from transactions)",
            (_later(conn),),
        )
    run_cli(["ingest"], env)


def _last_build(warehouse: str) -> tuple[str, dict]:
    """The newest row of audit.dbt_builds: its signature and its detail."""
    signature, detail = query(
        warehouse, "select signature, detail from audit.dbt_builds order by built_at desc limit 1"
    )[0]
    return signature, json.loads(detail)


def _whole_and_tested(warehouse: str, build: str) -> None:
    """The build was whole: no incremental watermark is on any line of the fact."""
    assert "Incremental build" not in build, build
    written = "select count(*) from marts.fct_transactions where rewritten_since <> ''"
    assert query(warehouse, written) == [(0,)]
    assert _last_build(warehouse)[1]["whole"] is True


@pytest.mark.slow
def test_a_build_is_whole_when_the_last_whole_build_is_too_old(built):
    """A build that could be incremental is whole once the last whole build is older
    than `whole_build_every_days`; the next one, right after it, is incremental again."""
    sources, env, _ = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    _change_a_live_line(sources, env, "min")
    (last_whole,) = query(warehouse, "select max(built_at) from audit.dbt_builds")[0]
    age = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - last_whole).total_seconds()
    too_old = {**env, "MEDALLION_WHOLE_BUILD_EVERY_DAYS": f"{age / 2 / 86400:.9f}"}
    build = " ".join(run_cli(["build"], too_old).stdout.split())
    assert "Whole build: the last whole build started on" in build, build
    _whole_and_tested(warehouse, build)

    _change_a_live_line(sources, env, "max")
    build = " ".join(run_cli(["build"], env).stdout.split())  # 7 days, the default
    assert "Incremental build" in build and "Whole build" not in build, build
    assert _last_build(warehouse)[1]["whole"] is False


@pytest.mark.slow
def test_a_whole_build_that_did_not_finish_is_followed_by_a_whole_build(built):
    """A whole build killed after it rewrote the fact leaves rows no test has passed:
    the next build is whole (without the mark it would be incremental: only a live line
    changed since the last recorded build), then builds are incremental again."""
    sources, env, _ = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    _change_a_live_line(sources, env, "min")
    killed = run_cli(
        ["build", "--full-refresh"],
        {**env, "MEDALLION_FAULT_AT": "dbt:fct_transactions"},
        expect=None,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert _last_build(warehouse) == ("", {"whole": "started"})  # the mark, and no record

    build = " ".join(run_cli(["build"], env).stdout.split())
    assert "Whole build: the last whole build (started" in build, build
    assert "did not finish" in build
    _whole_and_tested(warehouse, build)

    _change_a_live_line(sources, env, "max")
    build = " ".join(run_cli(["build"], env).stdout.split())
    assert "Incremental build" in build and "Whole build" not in build, build


@pytest.mark.slow
def test_a_build_after_an_archive_change_is_whole(built):
    """Archive edits that keep every count, sum and text length (a territory rewritten
    to another of the same length, two lines' customers swapped) reach raw, the build
    is whole, and the fact shows the new values."""
    sources, env, _ = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    in_fact = (  # archive lines that reach the fact (not beaten by a live line)
        "select transaction_id, customer_id from raw_archive.transactions where {}"
        " and transaction_id in (select transaction_id from marts.fct_transactions"
        " where source_system = 'archive') order by 1"
    )
    (edited, _), *_ = query(warehouse, in_fact.format("territory = 'APAC'"))
    lines = query(warehouse, in_fact.format("customer_id is not null"))
    (first, customer), (second, other) = next(
        (a, b) for a, b in zip(lines, lines[1:], strict=False) if a[1] != b[1]
    )
    with sqlite3.connect(sources / "archive.sqlite") as conn:
        conn.execute(
            "update transactions set territory = 'EMEA' where transaction_id = ?", (edited,)
        )
        conn.execute(
            "update transactions set customer_id = case transaction_id when ? then ? else ? end"
            " where transaction_id in (?, ?)",
            (first, other, customer, first, second),
        )
    run_cli(["ingest"], env)
    raw = "select {} from raw_archive.transactions where transaction_id = {}"
    assert query(warehouse, raw.format("territory", edited)) == [("EMEA",)]
    assert query(warehouse, raw.format("customer_id", first)) == [(other,)]
    assert query(warehouse, raw.format("customer_id", second)) == [(customer,)]

    build = " ".join(run_cli(["build"], env).stdout.split())
    _whole_and_tested(warehouse, build)
    fact = "select {} from marts.fct_transactions where transaction_id = {}"
    assert query(warehouse, fact.format("territory", edited)) == [("EMEA",)]
    assert query(warehouse, fact.format("source_customer_id", first)) == [(other,)]
    assert query(warehouse, fact.format("source_customer_id", second)) == [(customer,)]

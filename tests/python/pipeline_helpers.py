"""Helpers for tests: run the real CLI against real files, SQLite and MariaDB.

Every test that runs the pipeline gets its own warehouse file, its own dbt target
folder and its own sources, through the same environment variables a user sets.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
MEDALLION = str(Path(sys.executable).parent / "medallion")
MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}

# The gold and silver columns that hold money: decimal(18,2) on every warehouse (gold.md)
MONEY_COLUMNS = frozenset(
    {
        "unit_price",
        "total_amount",
        "restocking_fee",
        "net_amount",
        "refund_amount",
        "refund_net",
        "msrp",
        "total_spent",
        "avg_order_value",
        "total_revenue",
        "avg_price",
        "best_revenue",
        "revenue_diff_from_best",
        "total_sales",
        "total_refunds",
        "net_revenue",
        "total_restocking_fees",
    }
)


def pipeline_env(tmp: Path, archive: str, live: str, landing: Path | str) -> dict[str, str]:
    """The environment of one isolated pipeline: sources, warehouse, dbt folders."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "MEDALLION_", "DBT_"))
    }
    env.update(
        {
            "SOURCES__ARCHIVE__CREDENTIALS": archive,
            "SOURCES__LIVE__CREDENTIALS": live,
            "SOURCES__FILES__BUCKET_URL": str(landing),
            "MEDALLION_DUCKDB_PATH": str(tmp / "warehouse" / "medallion.duckdb"),
            "DBT_TARGET_PATH": str(tmp / "dbt_target"),
            "DBT_LOG_PATH": str(tmp / "dbt_logs"),
            "COLUMNS": "200",  # wide enough that summary tables are not truncated
        }
    )
    return env


@dataclass(frozen=True)
class SavedFolder:
    """A folder built once per module, put back as it was before each test that changes it.

    A pipeline's whole state (its sources, the DuckDB file, dlt's pipeline folders beside
    it, dbt's target and logs) lives in one folder. A module builds it once, saves a copy
    beside it, and each test gets it back byte for byte at the same absolute path, so
    every path that was recorded (the SQLite URLs, dlt's state, dbt's manifest) still
    holds: the cost of a copy of a few megabytes instead of an ingest and a build.
    """

    folder: Path
    saved: Path

    @classmethod
    def save(cls, folder: Path) -> SavedFolder:
        saved = folder.with_name(f"{folder.name}.saved")
        shutil.copytree(folder, saved, symlinks=True)
        return cls(folder, saved)

    def restore(self) -> Path:
        """The folder as it was saved, whatever the last test did to it."""
        shutil.rmtree(self.folder)
        shutil.copytree(self.saved, self.folder, symlinks=True)
        return self.folder


def run_cli(
    args: list[str], env: dict[str, str], expect: int | None = 0, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``medallion ARGS`` as a user would; assert its exit code unless told not to."""
    result = subprocess.run(
        [MEDALLION, *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if expect is not None:
        assert result.returncode == expect, (
            f"medallion {' '.join(args)} exited {result.returncode}, expected {expect}\n"
            f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


def summary_counts(output: str) -> dict[str, tuple[int, int]]:
    """Parse the ingestion summary table: ``schema.table -> (extracted, loaded)``."""
    counts = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│")]
        cells = [c for c in cells if c != ""]
        if len(cells) >= 3 and cells[0].startswith("raw_") and "." in cells[0]:
            counts[cells[0]] = (int(cells[1].replace(",", "")), int(cells[2].replace(",", "")))
    return counts


def query(warehouse: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """Read the warehouse (read-only, one result at a time)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def change_one_live_sale(live: Path, warehouse: Path | str) -> tuple[int, int, int]:
    """A valid change to the first live sale of the fact, in the live SQLite source: 7
    more items, the amount follows (quantity * unit_price), ``updated_at`` ahead of the
    demo's. Returns its id, the quantity before and the quantity after."""
    (transaction_id,) = query(
        warehouse,
        "select transaction_id from marts.fct_transactions where transaction_type = 'Sale'"
        " and transaction_id in (select transaction_id from raw_live.transactions)"
        " order by transaction_id limit 1",
    )[0]
    with sqlite3.connect(live) as conn:
        (quantity,) = conn.execute(
            "select quantity from transactions where transaction_id = ?", (transaction_id,)
        ).fetchone()
        conn.execute(
            "update transactions set quantity = ?, amount = round(? * unit_price, 2),"
            " updated_at = '2025-07-01 09:00:00' where transaction_id = ?",
            (quantity + 7, quantity + 7, transaction_id),
        )
    return transaction_id, quantity, quantity + 7


def copy_first_live_transaction(conn: sqlite3.Connection, transaction_id: int) -> None:
    """An insert in the live SQLite source, through ``conn`` (inside the caller's
    transaction): the first transaction again under a new ``transaction_id``, with its
    own order number and an ``updated_at`` ahead of the demo's and of
    ``change_one_live_sale``'s."""
    columns = [column[1] for column in conn.execute("pragma table_info(transactions)")]
    first = conn.execute("select * from transactions order by transaction_id limit 1")
    inserted = dict(zip(columns, first.fetchone(), strict=True))
    inserted.update(
        transaction_id=transaction_id, order_number=999999, updated_at="2025-07-03 08:00:00"
    )
    conn.execute(
        f"insert into transactions ({', '.join(inserted)})"
        f" values ({', '.join('?' * len(inserted))})",
        list(inserted.values()),
    )


def table_rows(warehouse: Path | str, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, sorted, for whole-table equality checks."""
    return sorted(query(warehouse, f"select * from {table}"), key=repr)


def databases_with_prefix(prefix: str) -> list[str]:
    """The databases of the real MariaDB whose names start with ``prefix``."""
    import pymysql

    conn = pymysql.connect(**MYSQL)
    try:
        with conn.cursor() as cursor:
            cursor.execute("show databases like %s", (prefix.replace("_", r"\_") + "%",))
            return [name for (name,) in cursor.fetchall()]
    finally:
        conn.close()


def drop_databases(prefix: str, users: tuple[str, ...] = ()) -> None:
    """Drop every database whose name starts with ``prefix`` (and the given users)."""
    import pymysql

    names = databases_with_prefix(prefix)
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            for user in users:
                cursor.execute("drop user if exists %s@'%%'", (user,))
            for name in names:
                cursor.execute(f"drop database `{name}`")
    finally:
        conn.close()


def stops_running(pid: int, within: float = 30.0) -> bool:
    """True once process ``pid`` no longer runs: gone, or a zombie (killed, waiting for
    its new parent to reap it). A kill is delivered asynchronously, so this waits for it
    (up to ``within`` seconds) rather than looking once."""
    import time

    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

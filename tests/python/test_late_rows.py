"""Late live rows, from the MariaDB source to the fact: a row whose ``updated_at`` is
behind the newest one already loaded reaches ``raw_live`` and ``marts.fct_transactions``
on the next ``medallion run``, through the incremental build.

The demo is written to the real MariaDB (``generate_demo(mysql_url=...)``) and run as a
user would; then two lines are inserted behind the cursor: one 30 minutes behind the
newest ``updated_at`` (inside the default one-hour look-back window) and one two days
behind (outside it: found by the key comparison, the live table now holding more rows
than raw). The settings' parsing is tested here too.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pymysql
import pytest
from pipeline_helpers import MYSQL, PROJECT_DIR, pipeline_env, query, run_cli, summary_counts

from ingestion.pipelines import key_check_due, key_check_every_days, live_lag
from medallion.demo import generate_demo
from medallion.settings import ConfigError, parse_duration


def _live(database: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = pymysql.connect(**MYSQL, database=database, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params or None)
            return list(cursor.fetchall())
    finally:
        conn.close()


def _copy_line(database: str, source_id: int, new_id: int, updated_at: dt.datetime) -> None:
    """A new line like ``source_id``'s, in an order of its own, with ``updated_at``."""
    _live(
        database,
        "insert into transactions (transaction_id, order_number, order_line_number,"
        " customer_id, product_code, quantity, unit_price, amount, status, territory,"
        " transaction_date, updated_at)"
        " select %s, %s, order_line_number, customer_id, product_code, quantity,"
        " unit_price, amount, status, territory, transaction_date, %s"
        " from transactions where transaction_id = %s",
        (new_id, f"L{new_id}", updated_at, source_id),
    )


@pytest.mark.mysql
@pytest.mark.slow
def test_late_rows_reach_raw_and_the_fact_on_the_next_run(
    mysql_prefix: str, tmp_path: Path
) -> None:
    demo = generate_demo(
        tmp_path / "demo",
        seed=7,
        scale=0.1,
        mysql_url="mysql+pymysql://root:@127.0.0.1:3306/x",
        database_prefix=mysql_prefix,
    )
    env = pipeline_env(tmp_path, demo.archive_url, demo.live_url, demo.landing_dir)
    run_cli(["run"], env)
    live = f"{mysql_prefix}live"
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    (newest,) = _live(live, "select max(updated_at) from transactions")[0]
    (top_id,) = _live(live, "select max(transaction_id) from transactions")[0]
    in_fact = {
        row[0] for row in query(warehouse, "select transaction_id from marts.fct_transactions")
    }
    live_ids = [row[0] for row in _live(live, "select transaction_id from transactions")]
    model = next(i for i in live_ids if i in in_fact)
    inside, outside = top_id + 1, top_id + 2
    _copy_line(live, model, inside, newest - dt.timedelta(minutes=30))
    _copy_line(live, model, outside, newest - dt.timedelta(days=2))

    second = run_cli(["run"], env)

    ingestion = second.stdout.split("Ingestion (", 1)[1].split("Raw checks", 1)[0]
    assert summary_counts(ingestion)["raw_live.transactions"] == (2, 2), second.stdout
    assert "2 late row(s) recovered: 1 in the look-back window, 1 by key" in second.stdout, (
        second.stdout
    )
    assert "Incremental build" in second.stdout, second.stdout
    for table in ("raw_live.transactions", "marts.fct_transactions"):
        found = query(
            warehouse,
            f"select transaction_id, count(*) from {table}"
            f" where transaction_id in ({inside}, {outside}) group by 1 order by 1",
        )
        assert found == [(inside, 1), (outside, 1)], table
    assert (
        query(
            warehouse,
            "select transaction_id from raw_live.transactions group by 1 having count(*) > 1",
        )
        == []
    )
    recovered = query(
        warehouse,
        "select t.rows_recovered from audit.pipeline_run_tables as t"
        " inner join audit.pipeline_runs as r on r.run_id = t.run_id"
        " where t.table_name = 'raw_live.transactions' order by r.started_at",
    )
    assert recovered == [(0,), (2,)]


# --- the settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), (90, 90), ("1h", 3600), ("30m", 1800), ("2d", 172_800), ("1h30m", 5400),
     ("1.5h", 5400), ("0", 0), (" 45 s ", 45)],
)  # fmt: skip
def test_a_duration_is_seconds_or_written_with_units(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["an hour", "1w", "-1h", "nan", "inf", "", "1h-", True])
def test_a_bad_duration_is_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_the_live_settings_come_from_the_environment_and_bad_ones_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOURCES__LIVE__LAG", raising=False)
    monkeypatch.delenv("SOURCES__LIVE__KEY_CHECK_EVERY_DAYS", raising=False)
    configured = tomllib.loads((PROJECT_DIR / ".dlt" / "config.toml").read_text())["sources"]
    assert live_lag() == (
        parse_duration(configured["live"]["lag"]),
        ".dlt/config.toml sources.live.lag",
    )
    assert key_check_every_days() == (
        configured["live"]["key_check_every_days"],
        ".dlt/config.toml sources.live.key_check_every_days",
    )
    monkeypatch.setenv("SOURCES__LIVE__LAG", "2h")
    monkeypatch.setenv("SOURCES__LIVE__KEY_CHECK_EVERY_DAYS", "0")
    assert live_lag() == (7200.0, "SOURCES__LIVE__LAG")
    assert key_check_every_days() == (0.0, "SOURCES__LIVE__KEY_CHECK_EVERY_DAYS")
    monkeypatch.setenv("SOURCES__LIVE__LAG", "an hour")
    with pytest.raises(ConfigError, match="SOURCES__LIVE__LAG must be a duration"):
        live_lag()
    monkeypatch.setenv("SOURCES__LIVE__LAG", "400d")
    with pytest.raises(ConfigError, match="at most 366 days"):
        live_lag()
    monkeypatch.setenv("SOURCES__LIVE__KEY_CHECK_EVERY_DAYS", "-1")
    with pytest.raises(ConfigError, match="SOURCES__LIVE__KEY_CHECK_EVERY_DAYS must be 0"):
        key_check_every_days()


def test_the_key_check_is_due_weekly_by_default_and_every_run_at_zero() -> None:
    now = dt.datetime(2026, 1, 8, 6, tzinfo=dt.UTC)
    week_ago = now - dt.timedelta(days=7)
    assert key_check_due(None, 7, now)
    assert key_check_due(week_ago, 7, now)
    assert not key_check_due(week_ago + dt.timedelta(minutes=1), 7, now)
    assert key_check_due(now, 0, now)

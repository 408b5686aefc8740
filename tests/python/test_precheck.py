"""A no-change ingest runs no dlt pipeline (``ingestion/precheck.py``), and every change
is still picked up by the run after.

The module settles one warehouse on small demo sources (two ingests: the first copies;
the second skips files and archive, runs live, which finds nothing and records the
source's signature); each test gets that
folder back as it was (``SavedFolder``), checks that a third ingest skips all three
pipelines, or makes one change in a source and checks that the next ingest loads it,
as the pipelines themselves would. Expected rows come from the SQLite sources and the
files, never from the pipeline under test.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from dlt.common.versioned_state import compress_state, decompress_state
from pipeline_helpers import SavedFolder, pipeline_env, query, run_cli, summary_counts, table_rows

from ingestion.precheck import _comparable, _window_bound, code_version
from medallion.demo import generate_demo

SKIPPED = {
    "files": "files: no new landing file, pipeline not run",
    "archive": "archive: every table's fingerprint unchanged, pipeline not run",
    "live": "live: the source as the last live run left it (no change), pipeline not run",
}
RAW_TABLES = [
    f"{schema}.{table}"
    for schema in ("raw_archive", "raw_live")
    for table in ("customers", "order_notes", "products", "transactions")
] + ["raw_files.fiscal_calendar", "raw_files.surveys", "raw_files.expenses"]


def _env(folder: Path) -> dict[str, str]:
    sources = folder / "sources"
    return pipeline_env(
        folder,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> SavedFolder:
    folder = tmp_path_factory.mktemp("precheck") / "pipeline"
    generate_demo(folder / "sources", seed=11, scale=0.2)
    env = _env(folder)
    run_cli(["ingest"], env)
    second = run_cli(["ingest"], env)
    # files and archive are checked against the state at once; live ran its pipeline,
    # found nothing, and recorded the source's signature
    assert _skipped(second.stdout) == {"files", "archive"}, second.stdout
    assert all(loaded == 0 for _, loaded in summary_counts(second.stdout).values())
    return SavedFolder.save(folder)


@pytest.fixture
def folder(settled: SavedFolder) -> Iterator[Path]:
    yield settled.restore()


def _skipped(output: str) -> set[str]:
    return {name for name, message in SKIPPED.items() if message in output}


def _live(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(folder / "sources" / "live.sqlite") as conn:
        return conn.execute(sql, params).fetchall()


def _newest(folder: Path, table: str) -> dt.datetime:
    (text,) = _live(folder, f"select max(updated_at) from {table}")[0]
    return dt.datetime.fromisoformat(text)


def test_a_no_change_ingest_runs_no_pipeline_and_reports_every_table(folder: Path) -> None:
    env = _env(folder)
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    before = {t: table_rows(warehouse, t) for t in RAW_TABLES}

    result = run_cli(["ingest"], env)

    assert _skipped(result.stdout) == set(SKIPPED), result.stdout
    counts = summary_counts(result.stdout)
    assert set(counts) == set(RAW_TABLES)
    assert set(counts.values()) == {(0, 0)}
    assert {t: table_rows(warehouse, t) for t in RAW_TABLES} == before


def test_a_new_landing_file_is_loaded_and_the_other_sources_skipped(folder: Path) -> None:
    env = _env(folder)
    new_file = folder / "sources" / "landing" / "expenses" / "expenses_after_the_check.csv"
    new_file.write_text(
        "expense_id,submitted_by,department,category,amount,currency,expense_date,description\n"
        "PRE-1,ann,Sales,Travel,12.50,EUR,2024-12-30,taxi\n"
    )

    result = run_cli(["ingest"], env)

    assert _skipped(result.stdout) == {"archive", "live"}, result.stdout
    assert summary_counts(result.stdout)["raw_files.expenses"] == (1, 1)
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        "select expense_id from raw_files.expenses"
        " where _file_name = 'expenses/expenses_after_the_check.csv'",
    ) == [("PRE-1",)]
    # the same file is not loaded twice: the next run skips the files again
    assert "files" in _skipped(run_cli(["ingest"], env).stdout)


def test_a_landing_file_rewritten_with_another_size_is_loaded_again(folder: Path) -> None:
    env = _env(folder)
    name = sorted((folder / "sources" / "landing" / "surveys").glob("*.csv"))[0]
    name.write_bytes(name.read_bytes() + b"\n\n")  # a size the state does not know

    result = run_cli(["ingest", "--only", "files"], env)

    assert "files" not in _skipped(result.stdout), result.stdout


def test_a_missing_landing_folder_is_still_named(folder: Path) -> None:
    env = _env(folder)
    (folder / "sources" / "landing").rename(folder / "sources" / "landing.moved")

    result = run_cli(["ingest", "--only", "files"], env, expect=1)

    assert "The landing folder does not exist" in " ".join(result.stdout.split())


def test_an_archive_row_changed_without_changing_the_count_is_reloaded(folder: Path) -> None:
    env = _env(folder)
    archive = folder / "sources" / "archive.sqlite"
    with sqlite3.connect(archive) as conn:
        (note_id,) = conn.execute("select min(note_id) from order_notes").fetchone()
        conn.execute("update order_notes set note = upper(note) where note_id = ?", (note_id,))
        (note,) = conn.execute(
            "select note from order_notes where note_id = ?", (note_id,)
        ).fetchone()
        (count,) = conn.execute("select count(*) from order_notes").fetchone()

    result = run_cli(["ingest"], env)

    assert _skipped(result.stdout) == {"files", "live"}, result.stdout
    assert summary_counts(result.stdout)["raw_archive.order_notes"] == (count, count)
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        f"select note from raw_archive.order_notes where note_id = {note_id}",
    ) == [(note,)]


def test_a_live_row_changed_in_the_window_without_moving_its_cursor_is_loaded(
    folder: Path,
) -> None:
    """The newest customer row changes its city and keeps its ``updated_at``: no count,
    no newest value moves; only the look-back window's rows tell."""
    env = _env(folder)
    newest = _newest(folder, "customers")
    (customer_id,) = _live(
        folder,
        "select customer_id from customers where updated_at = ? order by 1 limit 1",
        (f"{newest:%Y-%m-%d %H:%M:%S}",),
    )[0]
    _live(folder, "update customers set city = 'Precheck' where customer_id = ?", (customer_id,))

    result = run_cli(["ingest"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert summary_counts(result.stdout)["raw_live.customers"] == (1, 1), result.stdout
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        f"select city from raw_live.customers where customer_id = {customer_id}",
    ) == [("Precheck",)]


def test_a_late_update_inside_the_window_is_loaded_as_a_late_row(folder: Path) -> None:
    """An old transaction line changed with an ``updated_at`` 30 minutes behind the newest
    one: the count and the newest value stay; the window re-reads it."""
    env = _env(folder)
    newest = _newest(folder, "transactions")
    late = newest - dt.timedelta(minutes=30)
    (line,) = _live(folder, "select min(transaction_id) from transactions")[0]
    _live(
        folder,
        "update transactions set status = 'Disputed', updated_at = ? where transaction_id = ?",
        (f"{late:%Y-%m-%d %H:%M:%S}", line),
    )

    result = run_cli(["ingest"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert "1 late row(s) recovered: 1 in the look-back window, 0 by key" in result.stdout
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        f"select status from raw_live.transactions where transaction_id = {line}",
    ) == [("Disputed",)]


def test_a_late_insert_outside_the_window_is_loaded_by_key(folder: Path) -> None:
    env = _env(folder)
    newest = _newest(folder, "transactions")
    (top,) = _live(folder, "select max(transaction_id) from transactions")[0]
    _live(
        folder,
        "insert into transactions select ? as transaction_id, order_number || '-late',"
        " order_line_number, customer_id, product_code, quantity, unit_price, amount, status,"
        " territory, transaction_date, ? from transactions where transaction_id = ?",
        (top + 1, f"{newest - dt.timedelta(days=2):%Y-%m-%d %H:%M:%S}", top),
    )

    result = run_cli(["ingest"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert "1 late row(s) recovered: 0 in the look-back window, 1 by key" in result.stdout
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        f"select count(*) from raw_live.transactions where transaction_id = {top + 1}",
    ) == [(1,)]


def test_a_row_deleted_in_live_is_marked_deleted(folder: Path) -> None:
    env = _env(folder)
    (line,) = _live(folder, "select min(transaction_id) from transactions")[0]
    _live(folder, "delete from transactions where transaction_id = ?", (line,))

    result = run_cli(["ingest"], env)

    assert "+1 deleted at source" in result.stdout, result.stdout
    assert query(
        env["MEDALLION_DUCKDB_PATH"],
        "select primary_key, is_deleted from raw_live._medallion_deletions",
    ) == [(str(line), True)]


def test_the_periodic_key_check_still_runs_when_due(folder: Path) -> None:
    env = {**_env(folder), "SOURCES__LIVE__KEY_CHECK_EVERY_DAYS": "0"}

    result = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert "keys compared" in result.stdout


def test_a_changed_live_setting_runs_the_live_pipeline(folder: Path) -> None:
    env = {**_env(folder), "SOURCES__LIVE__LAG": "2h"}

    result = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(result.stdout), result.stdout


def test_a_deleted_warehouse_loads_everything_again(folder: Path) -> None:
    env = _env(folder)
    Path(env["MEDALLION_DUCKDB_PATH"]).unlink()

    result = run_cli(["ingest"], env)

    assert _skipped(result.stdout) == set(), result.stdout
    live_rows = _live(folder, "select count(*) from transactions")[0][0]
    assert summary_counts(result.stdout)["raw_live.transactions"] == (live_rows, live_rows)


def test_a_live_run_that_fails_leaves_no_record(folder: Path) -> None:
    """The record is deleted when a live run starts: a run stopped by a refused source
    (here a contract column gone) leaves none, so the run after it, the source put back
    as it was, runs the live pipeline instead of trusting the old record."""
    env = _env(folder)
    record = Path(env["MEDALLION_DUCKDB_PATH"]).parent / ".dlt" / "medallion" / "live-precheck.json"
    assert record.exists()
    _live(folder, "alter table products rename column msrp to list_price")
    failed = run_cli(["ingest", "--only", "live"], env, expect=1)
    assert "msrp" in failed.stdout, failed.stdout
    assert not record.exists()
    _live(folder, "alter table products rename column list_price to msrp")

    again = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(again.stdout), again.stdout
    assert record.exists()
    assert "live" in _skipped(run_cli(["ingest", "--only", "live"], env).stdout)


def test_the_window_bound_is_never_above_the_runs_own() -> None:
    top = dt.datetime(2024, 12, 31, 0, 30)
    assert _window_bound(top, 3600) == dt.datetime(2024, 12, 30, 23, 30)
    # text (SQLite): the day of the bound, at or before every text of that day
    assert _window_bound("2024-12-31 00:30:00", 3600) == "2024-12-30"
    assert _window_bound("2024-12-31T00:30:00", 0) == "2024-12-31"
    assert _window_bound("not a date", 3600) is None
    assert _window_bound(42, 3600) == 42


def _record(env: dict[str, str]) -> Path:
    return Path(env["MEDALLION_DUCKDB_PATH"]).parent / ".dlt" / "medallion" / "live-precheck.json"


_NEWEST_LIVE_STATE = (
    "select s._dlt_load_id, s.state from raw_live._dlt_pipeline_state as s"
    " join raw_live._dlt_loads as l on l.load_id = s._dlt_load_id"
    " where l.status = 0 order by l.load_id desc limit 1"
)


def _rewrite_live_state(env: dict[str, str], change: Callable[[str], str]) -> None:
    """Replace the live pipeline's newest stored state (its text) by ``change(text)``."""
    with duckdb.connect(env["MEDALLION_DUCKDB_PATH"]) as conn:
        load_id, text = conn.execute(_NEWEST_LIVE_STATE).fetchone()
        conn.execute(
            "update raw_live._dlt_pipeline_state set state = ? where _dlt_load_id = ?",
            [change(text), load_id],
        )


def test_rows_deleted_from_raw_are_loaded_again(folder: Path) -> None:
    """The source is as the recorded run left it, but raw lost five rows: the live counts
    no longer match raw's (less its tombstones), so the live pipeline runs and its key
    comparison loads them back."""
    env = _env(folder)
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    oldest = "select transaction_id from transactions order by updated_at, 1 limit 5"
    gone = [row[0] for row in _live(folder, oldest)]
    with duckdb.connect(warehouse) as conn:
        conn.execute(
            "delete from raw_live.transactions where transaction_id in"
            f" ({', '.join(str(key) for key in gone)})"
        )

    result = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert "5 late row(s) recovered: 0 in the look-back window, 5 by key" in result.stdout
    live_keys = {row[0] for row in _live(folder, "select transaction_id from transactions")}
    raw_keys = {
        row[0] for row in query(warehouse, "select transaction_id from raw_live.transactions")
    }
    assert raw_keys == live_keys


def test_a_stored_cursor_other_than_the_sources_newest_runs_the_live_pipeline(
    folder: Path,
) -> None:
    """The record matches (same source, same state version), but the pipeline's own
    cursor for transactions is two days behind the source's newest value: the run would
    read from its cursor, not from the source's newest, so it runs (and, as that run
    moves no cursor when it finds nothing, so does every run until a newer row comes:
    the check never guesses what a window other than the source's would hold)."""
    env = _env(folder)

    def cursor_back(text: str) -> str:
        state = decompress_state(text)
        for source in state["sources"].values():
            cursor = source["resources"]["transactions"]["incremental"]["updated_at"]
            cursor["last_value"] -= dt.timedelta(days=2)
        return compress_state(state)

    _rewrite_live_state(env, cursor_back)

    result = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    # it re-read from its own cursor and found those rows loaded already
    (live_rows,) = _live(folder, "select count(*) from transactions")[0]
    assert query(env["MEDALLION_DUCKDB_PATH"], "select count(*) from raw_live.transactions") == [
        (live_rows,)
    ]


def test_a_stored_state_that_cannot_be_decoded_is_told_in_one_line(folder: Path) -> None:
    """The check cannot read the state: the live pipeline runs, and fails the way it
    would without the check, in one line rather than a traceback."""
    env = _env(folder)
    _rewrite_live_state(env, lambda text: "not a state")

    result = run_cli(["ingest", "--only", "live"], env, expect=1)

    assert "Traceback" not in result.stderr, result.stderr
    assert "The live pipeline failed at its sync step" in " ".join(result.stdout.split())


def test_two_file_patterns_for_one_table_are_still_refused(folder: Path) -> None:
    env = {**_env(folder), "SOURCES__FILES__FILE_PATTERNS": "surveys/*.csv,surveys/*.csv"}

    result = run_cli(["ingest", "--only", "files"], env, expect=2)

    assert "files" not in _skipped(result.stdout), result.stdout
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert (
        "Configuration error: sources.files.file_patterns (SOURCES__FILES__FILE_PATTERNS): "
        "'surveys/*.csv' and 'surveys/*.csv' load the same table, surveys"
    ) in result.stdout.splitlines()[-1]


def test_a_record_made_by_other_code_is_not_trusted(folder: Path) -> None:
    env = _env(folder)
    record = _record(env)
    saved = json.loads(record.read_text())
    assert saved["code"] == code_version()
    record.write_text(json.dumps({**saved, "code": "medallion 0.0.9, dlt 1.0.0, 0"}))

    result = run_cli(["ingest", "--only", "live"], env)

    assert "live" not in _skipped(result.stdout), result.stdout
    assert json.loads(record.read_text())["code"] == code_version()
    assert "live" in _skipped(run_cli(["ingest", "--only", "live"], env).stdout)


def test_cursor_values_are_compared_as_the_source_and_the_state_give_them() -> None:
    stored = dt.datetime(2024, 12, 31, 23, 59, 59)
    # SQLite's text, and a MySQL datetime's text, against dlt's datetime
    assert _comparable("2024-12-31 23:59:59") == _comparable(stored)
    assert _comparable("2024-12-31 23:59:58") != _comparable(stored)
    # an aware value (dlt may keep UTC) against the naive source value
    aware = dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert _comparable(aware) == _comparable("2024-12-31 23:59:59")
    assert _comparable(42) == _comparable("42")
    assert _comparable("not a date") == "not a date"

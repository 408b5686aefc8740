"""The bronze layer: dlt pipelines from SQLite/MySQL databases and CSV files into DuckDB.

Each test runs the real ``medallion`` command against real demo sources and reads the
real warehouse. Expected counts come from the sources themselves (SQLite queries,
Python's csv module), never from the pipeline under test.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pipeline_helpers import pipeline_env, query, run_cli, summary_counts, table_rows

from medallion.demo import generate_demo

PROJECT_DIR = Path(__file__).resolve().parents[2]

DB_TABLES = ["customers", "order_notes", "products", "transactions"]
FILE_TABLES = {
    "fiscal_calendar": "fiscal_calendar*.csv",
    "surveys": "surveys/*.csv",
    "expenses": "expenses/*.csv",
}


def sqlite_count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def csv_record_count(landing: Path, pattern: str) -> int:
    """Records in the files, by Python's csv module: what the raw table must hold."""
    total = 0
    for path in landing.glob(pattern):
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        if not text.strip():
            continue
        delimiter = (
            ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        )
        records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
        total += max(len(records) - 1, 0)
    return total


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small demo sources, generated once; tests copy them before changing anything."""
    root = tmp_path_factory.mktemp("demo")
    generate_demo(root, seed=7, scale=0.3)
    return root


@pytest.fixture
def sources(demo: Path, tmp_path: Path) -> Path:
    """A private copy of the demo sources, free to change."""
    copy = tmp_path / "sources"
    shutil.copytree(demo, copy)
    return copy


def env_for(sources: Path, tmp_path: Path) -> dict[str, str]:
    return pipeline_env(
        tmp_path,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )


def warehouse_of(env: dict[str, str]) -> Path:
    return Path(env["MEDALLION_DUCKDB_PATH"])


def test_first_run_loads_every_table_into_the_three_raw_schemas(sources, tmp_path):
    env = env_for(sources, tmp_path)
    result = run_cli(["ingest"], env)
    counts = summary_counts(result.stdout)
    warehouse = warehouse_of(env)
    # the command ends without Python's teardown (cli.exit_now): every connection was
    # closed before, so DuckDB checkpointed into the file and left no write-ahead log
    assert not Path(f"{warehouse}.wal").exists()
    for database, schema in [("archive", "raw_archive"), ("live", "raw_live")]:
        for table in DB_TABLES:
            expected = sqlite_count(sources / f"{database}.sqlite", table)
            assert query(warehouse, f"select count(*) from {schema}.{table}")[0][0] == expected
            assert counts[f"{schema}.{table}"] == (expected, expected)
    for table, pattern in FILE_TABLES.items():
        expected = csv_record_count(sources / "landing", pattern)
        assert expected > 0
        assert query(warehouse, f"select count(*) from raw_files.{table}")[0][0] == expected
        assert counts[f"raw_files.{table}"][1] == expected


def test_the_load_runs_with_duckdbs_settings_as_configured(sources, tmp_path):
    """The pipelines' DuckDB sessions carry every setting of .dlt/config.toml's
    global_config (the memory limit that keeps ingest under 1 GiB at 10M rows, the
    insertion order left free), as DuckDB itself spells each value."""
    configured = tomllib.loads((PROJECT_DIR / ".dlt" / "config.toml").read_text())
    settings = configured["destination"]["duckdb"]["credentials"]["global_config"]
    assert {"memory_limit", "preserve_insertion_order"} <= set(settings)
    import duckdb

    expected = {}
    with duckdb.connect() as conn, duckdb.connect() as default:
        for name, value in settings.items():
            conn.execute(
                f"set {name} = {value!r}"
                if isinstance(value, str)
                else f"set {name} = {str(value).lower()}"
            )
            expected[name] = str(conn.execute(f"select current_setting('{name}')").fetchone()[0])
            alone = str(default.execute(f"select current_setting('{name}')").fetchone()[0])
            assert expected[name] != alone, name  # each says what DuckDB would not do alone

    names = sorted(settings)
    probe = (
        "from ingestion.pipelines import make_pipeline\n"
        "for source in ('archive', 'live', 'files'):\n"
        "    with make_pipeline(source).sql_client() as client:\n"
        f"        for name in {names!r}:\n"
        "            print(client.execute_sql(f\"select current_setting('{name}')\")[0][0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env_for(sources, tmp_path),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split("\n")[: 3 * len(names)] == [expected[n] for n in names] * 3


def test_every_file_row_keeps_its_file_name_and_row_number(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest", "--only", "files"], env)
    for table in FILE_TABLES:
        rows = query(
            warehouse_of(env),
            f"select count(*), count(_file_name), count(_row_number),"
            f" count(distinct (_file_name, _row_number)) from raw_files.{table}",
        )[0]
        assert rows[0] == rows[1] == rows[2] == rows[3]


def test_a_second_run_with_no_change_loads_nothing_and_leaves_raw_identical(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest"], env)
    raw_tables = [f"raw_archive.{t}" for t in DB_TABLES] + [f"raw_live.{t}" for t in DB_TABLES]
    raw_tables += [f"raw_files.{t}" for t in FILE_TABLES]
    before = {t: table_rows(warehouse_of(env), t) for t in raw_tables}

    second = run_cli(["ingest"], env)

    counts = summary_counts(second.stdout)
    assert counts, second.stdout
    assert all(loaded == 0 for _, loaded in counts.values()), second.stdout
    assert {t: table_rows(warehouse_of(env), t) for t in raw_tables} == before


def test_after_a_live_update_the_next_run_loads_that_row_only(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest"], env)
    with sqlite3.connect(sources / "live.sqlite") as conn:
        (customer_id,) = conn.execute("select min(customer_id) from customers").fetchone()
        conn.execute(
            "update customers set city = 'Reykjavik', updated_at = '2026-01-01 00:00:00'"
            " where customer_id = ?",
            (customer_id,),
        )

    result = run_cli(["ingest"], env)

    counts = summary_counts(result.stdout)
    assert counts["raw_live.customers"] == (1, 1), result.stdout
    assert all(loaded == 0 for t, (_, loaded) in counts.items() if t != "raw_live.customers")
    rows = query(
        warehouse_of(env),
        f"select city, count(*) over () from raw_live.customers where customer_id = {customer_id}",
    )
    assert rows == [("Reykjavik", 1)]


def test_a_new_landing_file_is_the_only_file_loaded(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest"], env)
    new_file = sources / "landing" / "expenses" / "expenses_late_arrival.csv"
    new_file.write_text(
        "expense_id,submitted_by,department,category,amount,currency,expense_date,description\n"
        "LATE-1,ann,Sales,Travel,12.50,EUR,2024-12-30,taxi\n"
        "LATE-2,bob,Sales,Travel,99.00,EUR,2024-12-31,train\n"
    )
    result = run_cli(["ingest"], env)
    counts = summary_counts(result.stdout)
    assert counts["raw_files.expenses"][1] == 2
    # every other table of the three raw schemas is in the summary and loaded nothing
    others = {f"raw_archive.{t}" for t in DB_TABLES} | {f"raw_live.{t}" for t in DB_TABLES}
    others |= {f"raw_files.{t}" for t in FILE_TABLES if t != "expenses"}
    assert {table: counts[table][1] for table in others} == dict.fromkeys(others, 0)
    rows = query(
        warehouse_of(env),
        "select expense_id, _row_number from raw_files.expenses"
        " where _file_name = 'expenses/expenses_late_arrival.csv' order by 2",
    )
    assert rows == [("LATE-1", 1), ("LATE-2", 2)]


@pytest.mark.parametrize("how", ["new path", "deleted file"])
def test_state_follows_the_warehouse_so_a_new_warehouse_loads_everything(sources, tmp_path, how):
    env = env_for(sources, tmp_path)
    first = summary_counts(run_cli(["ingest"], env).stdout)
    if how == "new path":
        env["MEDALLION_DUCKDB_PATH"] = str(tmp_path / "elsewhere" / "other.duckdb")
    else:
        warehouse_of(env).unlink()

    again = summary_counts(run_cli(["ingest"], env).stdout)

    assert again == first
    assert query(warehouse_of(env), "select count(*) from raw_live.transactions")[0][0] == (
        sqlite_count(sources / "live.sqlite", "transactions")
    )


def test_a_row_deleted_in_live_is_kept_in_raw_and_marked_deleted(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest"], env)
    with sqlite3.connect(sources / "live.sqlite") as conn:
        (transaction_id,) = conn.execute("select max(transaction_id) from transactions").fetchone()
        conn.execute("delete from transactions where transaction_id = ?", (transaction_id,))

    result = run_cli(["ingest"], env)

    assert "-1 deleted" not in result.stdout and "+1 deleted at source" in result.stdout
    warehouse = warehouse_of(env)
    assert query(
        warehouse,
        f"select count(*) from raw_live.transactions where transaction_id = {transaction_id}",
    ) == [(1,)]
    assert query(
        warehouse, "select table_name, primary_key, is_deleted from raw_live._medallion_deletions"
    ) == [("transactions", str(transaction_id), True)]
    # a third run with no change finds nothing more to mark
    third = run_cli(["ingest"], env)
    assert "deleted at source" not in third.stdout


def test_the_archive_is_copied_again_when_it_changes(sources, tmp_path):
    env = env_for(sources, tmp_path)
    run_cli(["ingest"], env)
    with sqlite3.connect(sources / "archive.sqlite") as conn:
        conn.execute(
            "delete from order_notes where note_id = (select min(note_id) from order_notes)"
        )
    result = run_cli(["ingest", "--only", "archive"], env)
    counts = summary_counts(result.stdout)
    remaining = sqlite_count(sources / "archive.sqlite", "order_notes")
    assert counts["raw_archive.order_notes"] == (remaining, remaining)
    assert counts["raw_archive.customers"] == (0, 0)
    assert query(warehouse_of(env), "select count(*) from raw_archive.order_notes") == [
        (remaining,)
    ]
    # the new fingerprints are in the same load package as the copy they describe
    (copy_load,) = query(warehouse_of(env), "select max(_dlt_load_id) from raw_archive.order_notes")
    (state_load,) = query(
        warehouse_of(env),
        "select _dlt_load_id from raw_archive._dlt_pipeline_state order by created_at desc limit 1",
    )
    assert copy_load == state_load
    assert query(
        warehouse_of(env),
        f"select count(*) from raw_archive._dlt_loads where load_id >= '{copy_load[0]}'",
    ) == [(1,)]


# --- configuration errors -------------------------------------------------------------


def test_a_partial_configuration_names_the_settings_still_missing(sources, tmp_path):
    env = env_for(sources, tmp_path)
    del env["SOURCES__LIVE__CREDENTIALS"]
    result = run_cli(["ingest"], env, expect=2)
    assert "SOURCES__LIVE__CREDENTIALS" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_malformed_url_names_the_setting_to_fix(sources, tmp_path):
    env = env_for(sources, tmp_path)
    env["SOURCES__ARCHIVE__CREDENTIALS"] = "archive-db.internal:3306/sales"
    result = run_cli(["ingest"], env, expect=2)
    assert "SOURCES__ARCHIVE__CREDENTIALS" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_two_file_patterns_for_one_table_are_a_configuration_error(sources, tmp_path):
    env = env_for(sources, tmp_path)
    env["SOURCES__FILES__FILE_PATTERNS"] = "surveys/*.csv,surveys*.csv"
    result = run_cli(["ingest", "--only", "files"], env, expect=2)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if "surveys" in line]
    assert line == (
        "Configuration error: sources.files.file_patterns (SOURCES__FILES__FILE_PATTERNS): "
        "'surveys/*.csv' and 'surveys*.csv' load the same table, surveys; give each table "
        "one pattern"
    )
    assert not warehouse_of(env).exists() or query(
        warehouse_of(env),
        "select count(*) from information_schema.tables where table_schema = 'raw_files'",
    ) == [(0,)]


@pytest.mark.parametrize("pattern", ["*.csv", "*/expenses.csv", "[ab]*.csv", "__*.csv"])
def test_a_file_pattern_that_names_no_table_is_a_configuration_error(sources, tmp_path, pattern):
    """The raw table is named after the pattern's first folder or file-name stem; a
    pattern that begins with a wildcard names none: one line naming the setting and the
    pattern, exit 2, nothing loaded (the demo's other patterns included)."""
    env = env_for(sources, tmp_path)
    env["SOURCES__FILES__FILE_PATTERNS"] = f"surveys/*.csv,{pattern}"
    result = run_cli(["ingest", "--only", "files"], env, expect=2)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert (
        "Configuration error: sources.files.file_patterns (SOURCES__FILES__FILE_PATTERNS): "
        f"the pattern {pattern!r} names no table"
    ) in " ".join(result.stdout.split())
    assert not warehouse_of(env).exists() or query(
        warehouse_of(env),
        "select count(*) from information_schema.tables where table_schema = 'raw_files'",
    ) == [(0,)]


@pytest.mark.parametrize(
    "value",
    [
        "the pattern '[ab]*.csv' names no table",
        "server said: [Errno 111] Connection refused",
        "a path /data/[bold]/x and a closing [/bold] tag",
    ],
)
def test_a_value_in_a_message_is_printed_as_it_is(value):
    """Rich reads ``[...]`` as markup and drops what it takes for a tag (or fails on a
    stray closing one); behind a label, the value is printed exactly, the label still
    styled."""
    from rich.console import Console

    from medallion.report import labelled
    from medallion.run import progress

    out = io.StringIO()
    console = Console(file=out, width=300, force_terminal=True, color_system="standard")
    console.print(labelled("[bold red]Failed:[/bold red]", value))
    progress(console)(value)
    lines = out.getvalue().splitlines()
    text = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
    assert text == [f"Failed: {value}", f"… {value}"]
    assert "\x1b[1;31m" in lines[0]  # the label keeps its style


def test_an_unreachable_source_fails_naming_it_and_never_prints_the_password(
    sources, tmp_path, mysql_server
):
    env = env_for(sources, tmp_path)
    env["SOURCES__LIVE__CREDENTIALS"] = "mysql+pymysql://reader:Sup3rS3cret@127.0.0.1:9/sales"
    result = run_cli(["ingest", "--only", "live"], env, expect=1)
    output = result.stdout + result.stderr
    assert "live database" in output
    assert "Sup3rS3cret" not in output
    assert "Traceback" not in output


def test_wrong_credentials_fail_naming_the_source_without_the_password(
    sources, tmp_path, mysql_server
):
    env = env_for(sources, tmp_path)
    env["SOURCES__ARCHIVE__CREDENTIALS"] = (
        "mysql+pymysql://nobody:Wr0ngPassw0rd@127.0.0.1:3306/test"
    )
    result = run_cli(["ingest", "--only", "archive"], env, expect=1)
    output = result.stdout + result.stderr
    assert "archive database" in output and "Access denied" in output
    assert "Wr0ngPassw0rd" not in output


def test_a_missing_landing_folder_is_named(sources, tmp_path):
    env = env_for(sources, tmp_path)
    env["SOURCES__FILES__BUCKET_URL"] = str(tmp_path / "no-such-folder")
    result = run_cli(["ingest", "--only", "files"], env, expect=1)
    assert "landing folder does not exist" in result.stdout


def test_a_warehouse_held_by_another_program_is_told_in_one_line(sources, tmp_path):
    """Another program (DuckDB's shell, an editor) holds the warehouse open for writing:
    the pipeline cannot open it, and says so in one line naming the warehouse, without a
    traceback and without loading anything."""
    env = env_for(sources, tmp_path)
    warehouse = warehouse_of(env)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"conn = duckdb.connect({str(warehouse)!r})\n"
            "print('holding', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = run_cli(["ingest", "--only", "files"], env, expect=1)
    finally:
        holder.communicate("", timeout=60)
    assert "The files pipeline failed at its sync step (the warehouse:" in result.stdout
    assert str(warehouse.name) in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert query(
        warehouse,
        "select count(*) from information_schema.schemata where schema_name = 'raw_files'",
    ) == [(0,)]


# --- MySQL sources (the real MariaDB) -------------------------------------------------


@pytest.mark.mysql
def test_mysql_sources_arrive_whole_with_their_quirks(tmp_path, mysql_prefix):
    landing_root = tmp_path / "demo"
    demo = generate_demo(
        landing_root,
        seed=11,
        scale=0.2,
        mysql_url="mysql+pymysql://root:@127.0.0.1:3306",
        database_prefix=mysql_prefix,
    )
    env = pipeline_env(tmp_path, demo.archive_url, demo.live_url, demo.landing_dir)
    run_cli(["ingest"], env)
    warehouse = warehouse_of(env)

    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", password="", charset="utf8mb4")
    try:
        with conn.cursor() as cursor:
            for database, schema in [("archive", "raw_archive"), ("live", "raw_live")]:
                db = f"{mysql_prefix}{database}"
                for table in ["customers", "products", "transactions"]:
                    cursor.execute(f"select count(*) from `{db}`.`{table}`")
                    assert query(warehouse, f"select count(*) from {schema}.{table}") == [
                        cursor.fetchone()
                    ]
                # money to the cent, summed on both sides
                cursor.execute(f"select sum(amount), sum(quantity) from `{db}`.transactions")
                source_sum = cursor.fetchone()
                assert query(
                    warehouse, f"select sum(amount), sum(quantity) from {schema}.transactions"
                ) == [source_sum]
                # every name, byte for byte (latin1 archive table, 4-byte Unicode in live)
                cursor.execute(f"select customer_id, first_name, last_name from `{db}`.customers")
                assert sorted(cursor.fetchall()) == sorted(
                    query(
                        warehouse,
                        f"select customer_id, first_name, last_name from {schema}.customers",
                    )
                )
                cursor.execute(f"select status, count(*) from `{db}`.transactions group by 1")
                assert sorted(cursor.fetchall()) == sorted(
                    query(
                        warehouse, f"select status, count(*) from {schema}.transactions group by 1"
                    )
                )
            # zero dates arrive as null, every other date as it was
            db = f"{mysql_prefix}archive"
            cursor.execute(
                f"select count(*) from `{db}`.customers where updated_at = '0000-00-00 00:00:00'"
            )
            zero_dates = cursor.fetchone()[0]
            assert zero_dates > 0
            assert query(
                warehouse, "select count(*) from raw_archive.customers where updated_at is null"
            ) == [(zero_dates,)]
            cursor.execute(f"select is_active, count(*) from `{db}`.customers group by 1")
            assert sorted(cursor.fetchall()) == sorted(
                query(warehouse, "select is_active, count(*) from raw_archive.customers group by 1")
            )
    finally:
        conn.close()
    four_byte = query(
        warehouse,
        "select count(*) from raw_live.customers"
        " where regexp_matches(first_name || last_name, '[\\x{10000}-\\x{10FFFF}]')",
    )[0][0]
    assert four_byte > 0

"""The model-level generic tests (`macros/generic_tests/`) on DuckDB and the real MariaDB.

A scratch dbt project, made per test module, uses this repository's macros (its
``macro-paths`` is the project's ``macros`` folder) and the project's own
``profiles.yml``. It holds two seeds of the same shape: ``clean_rows``, which every
test must pass, and ``dirty_rows``, with one deliberately bad row per check. ``dbt
build`` runs the seeds and the tests for real on each warehouse (a unique database
prefix on MariaDB, dropped afterwards); each test's status and failure count are read
from ``run_results.json``, and its failure rows by running the test's compiled query
on the same warehouse, so the test can be seen to name the column and the bad value.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, PROJECT_DIR, pipeline_env, query

DBT = str(Path(sys.executable).parent / "dbt")

COLUMNS = "row_id,code,flag,amount,score"
CLEAN_ROWS = ["1,a,0,10.50,1", "2,b,1,0.01,5", "3,a,1,99,3"]
DIRTY_ROWS = [
    "1,a,0,10.50,1",
    "2,b,1,,5",  # amount null: not_null_columns
    "3,z,1,20,3",  # code 'z' not accepted: accepted_values_columns (quoted)
    "4,a,7,30,2",  # flag 7 not accepted: accepted_values_columns (quote: false)
    "5,b,0,0,4",  # amount 0 with an exclusive lower bound: accepted_ranges
    "6,a,1,40,9",  # score 9 above 5: accepted_ranges
]

TESTS = """
      - not_null_columns:
          name: {seed}_not_null
          columns: [row_id, code, flag, amount, score]
      - accepted_values_columns:
          name: {seed}_accepted_values
          values_by_column:
            code: [a, b, "it's"]
            flag: {{values: [0, 1], quote: false}}
      - accepted_ranges:
          name: {seed}_accepted_ranges
          ranges:
            amount: {{min_value: 0, inclusive: false}}
            score: {{min_value: 1, max_value: 5}}
"""

EXPECTED_FAILURES = {
    "dirty_rows_not_null": {("amount", None)},
    "dirty_rows_accepted_values": {("code", "z"), ("flag", "7")},
    "dirty_rows_accepted_ranges": {("amount", "0.00"), ("score", "9")},
}


def scratch_project(root: Path, column_types: str) -> None:
    """A dbt project named like ours, with the repository's macros and seeds of the
    given column types (YAML flow mapping)."""
    (root / "seeds").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: medallion\nversion: '1.0.0'\nconfig-version: 2\nprofile: medallion\n"
        f"macro-paths: ['{PROJECT_DIR / 'macros'}']\nseed-paths: ['seeds']\n"
        "model-paths: ['models']\n"
        "seeds:\n  medallion:\n    +schema: seeds\n"
        f"    +column_types: {column_types}\n"
    )


def write_project(root: Path) -> Path:
    """The scratch project: the repository's macros, two seeds and their tests."""
    scratch_project(root, "{code: varchar(10), amount: 'decimal(10, 2)'}")
    for seed, rows in (("clean_rows", CLEAN_ROWS), ("dirty_rows", DIRTY_ROWS)):
        (root / "seeds" / f"{seed}.csv").write_text("\n".join([COLUMNS, *rows]) + "\n")
    (root / "seeds" / "_seeds.yml").write_text(
        "version: 2\nseeds:\n"
        + "".join(
            f"  - name: {seed}\n    tests:" + TESTS.format(seed=seed)
            for seed in ("clean_rows", "dirty_rows")
        )
    )
    return root


def dbt_build(
    root: Path, env: dict[str, str], target: str, since: str = ""
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    """``dbt build`` of a scratch project (``since``: the incremental watermark); each
    test's result by its name. Failing tests make dbt exit 1; anything else is an error
    of its own."""
    Path(env["MEDALLION_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [DBT, "build", "--project-dir", str(root), "--profiles-dir", str(PROJECT_DIR)]
        + ["--target", target],
        env={**env, "MEDALLION_TARGET": target, "MEDALLION_CHANGED_SINCE": since},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout[-4000:] + result.stderr[-2000:]
    run_results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    outcomes = {
        item["unique_id"].split(".")[2]: item
        for item in run_results["results"]
        if item["unique_id"].startswith("test.")
    }
    return result, outcomes


def build(root: Path, env: dict[str, str], target: str) -> dict[str, dict[str, Any]]:
    """``dbt build`` of the scratch project; each test's result by its name."""
    result, outcomes = dbt_build(root, env, target)
    assert len(outcomes) == 6, result.stdout[-4000:]
    return outcomes


def failure_pairs(columns: list[str], rows: list[tuple[Any, ...]]) -> set[tuple[str, Any]]:
    """(failing_column, failing_value) of each failure row (the value as text, or None)."""
    column = columns.index("failing_column")
    if "failing_value" in columns:
        value = columns.index("failing_value")
        return {(row[column], None if row[value] is None else str(row[value])) for row in rows}
    # not_null_columns returns the row itself after the column's name
    return {(row[column], row[columns.index(row[column])]) for row in rows}


def duckdb_failures(env: dict[str, str], sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    with duckdb.connect(env["MEDALLION_DUCKDB_PATH"], read_only=True) as conn:
        result = conn.execute(sql)
        return [c[0] for c in result.description], result.fetchall()


def mysql_failures(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    conn = pymysql.connect(**MYSQL, charset="utf8mb4")
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return [c[0] for c in cursor.description], list(cursor.fetchall())
    finally:
        conn.close()


def check(outcomes: dict[str, dict[str, Any]], failures) -> None:
    for seed in ("clean_rows", "dirty_rows"):
        for kind in ("not_null", "accepted_values", "accepted_ranges"):
            name = f"{seed}_{kind}"
            outcome = outcomes[name]
            expected = "pass" if seed == "clean_rows" else "fail"
            assert outcome["status"] == expected, (name, outcome["status"], outcome["message"])
            columns, rows = failures(outcome["compiled_code"])
            if seed == "clean_rows":
                assert rows == [], (name, rows)
                continue
            assert outcome["failures"] == len(rows) > 0, name
            assert failure_pairs(columns, rows) == EXPECTED_FAILURES[name], (name, rows)


def test_multi_column_tests_name_the_column_and_value_on_duckdb(tmp_path: Path) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    outcomes = build(write_project(tmp_path / "project"), env, "duckdb")
    check(outcomes, lambda sql: duckdb_failures(env, sql))
    # the seeds really hold the bad rows the tests report
    assert query(env["MEDALLION_DUCKDB_PATH"], "select count(*) from seeds.dirty_rows") == [(6,)]


@pytest.mark.mysql
def test_multi_column_tests_name_the_column_and_value_on_mysql(
    tmp_path: Path, mysql_prefix: str
) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    env["MEDALLION_SCHEMA_PREFIX"] = mysql_prefix
    outcomes = build(write_project(tmp_path / "project"), env, "mysql")
    check(outcomes, mysql_failures)
    rows = mysql_failures(f"select count(*) from `{mysql_prefix}seeds`.`dirty_rows`")[1]
    assert rows == [(6,)]


# --- unique_combination_of_columns with `written` -------------------------------------
#
# One seed, keyed on (key_a, key_b), whose `written_at` plays an incremental model's
# bookkeeping column. With the watermark 200, rows at 300 were written by the build:
# (1, x) clashes a written row with one left alone, (4, w) two written rows, (5, null)
# a written row with one left alone on a null key part, (2, y) two rows left alone,
# (3, z) is unique. The incremental pass must find all but (2, y), a whole pass all.
KEYED_ROWS = [
    "key_a,key_b,written_at",
    "1,x,300",
    "1,x,100",
    "2,y,100",
    "2,y,100",
    "3,z,300",
    "4,w,300",
    "4,w,300",
    "5,,300",
    "5,,100",
]
CLASHES_FOUND = {
    "200": {(1, "x", 2), (4, "w", 2), (5, None, 2)},
    "": {(1, "x", 2), (2, "y", 2), (4, "w", 2), (5, None, 2)},
}


def keyed_project(root: Path) -> Path:
    scratch_project(root, "{key_a: integer, key_b: varchar(10), written_at: varchar(20)}")
    (root / "seeds" / "keyed_rows.csv").write_text("\n".join(KEYED_ROWS) + "\n")
    (root / "seeds" / "_seeds.yml").write_text(
        "version: 2\nseeds:\n  - name: keyed_rows\n    tests:\n"
        "      - unique_combination_of_columns:\n"
        "          name: keyed_rows_unique\n"
        "          written: written_at\n"
        "          combination_of_columns: [key_a, key_b]\n"
    )
    return root


def clashes_found(root: Path, env: dict[str, str], target: str, failures) -> dict[str, set]:
    """The duplicated keys the test reports, with the watermark and without."""
    found = {}
    for since in CLASHES_FOUND:
        result, outcomes = dbt_build(root, env, target, since)
        assert result.returncode == 1, result.stdout[-4000:]
        (outcome,) = outcomes.values()
        columns, rows = failures(outcome["compiled_code"])
        assert columns == ["key_a", "key_b", "row_count"], columns
        assert outcome["failures"] == len(rows), outcome
        found[since] = {(int(a), b, int(count)) for a, b, count in rows}
    return found


def test_an_incremental_pass_counts_the_written_keys_over_every_row_on_duckdb(
    tmp_path: Path,
) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    root = keyed_project(tmp_path / "project")
    found = clashes_found(root, env, "duckdb", lambda sql: duckdb_failures(env, sql))
    assert found == CLASHES_FOUND


@pytest.mark.mysql
def test_an_incremental_pass_counts_the_written_keys_over_every_row_on_mysql(
    tmp_path: Path, mysql_prefix: str
) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    env["MEDALLION_SCHEMA_PREFIX"] = mysql_prefix
    root = keyed_project(tmp_path / "project")
    assert clashes_found(root, env, "mysql", mysql_failures) == CLASHES_FOUND


# --- scd2_one_current ------------------------------------------------------------------
#
# Versions of eight keys (valid_to 9999-12-31, the end of time, or null: open). Key 1
# is current on its open latest version, 6 deleted (all closed) with none current, 7
# open with a null end: all three pass. Key 2 is open with no current version, 3
# deleted but still current, 4 current twice, 5 current on a version that is not the
# latest. Key 8 looks like key 1 but is gone from the source (absent from
# PRESENT_ROWS, or there with is_deleted): its version never closed.
VERSION_ROWS = [
    "version_key,valid_from,valid_to,is_current",
    "1,2020-01-01,2021-01-01,false",
    "1,2021-01-01,9999-12-31,true",
    "2,2020-01-01,2021-01-01,false",
    "2,2021-01-01,9999-12-31,false",
    "3,2020-01-01,2021-01-01,false",
    "3,2021-01-01,2022-01-01,true",
    "4,2020-01-01,9999-12-31,true",
    "4,2021-01-01,9999-12-31,true",
    "5,2020-01-01,2021-01-01,true",
    "5,2021-01-01,9999-12-31,false",
    "6,2020-01-01,2021-01-01,false",
    "7,2020-01-01,,true",
    "8,2020-01-01,2021-01-01,false",
    "8,2021-01-01,9999-12-31,true",
]
# the keys the source holds now: 6 is gone (deleted, closed), 8 marked deleted
PRESENT_ROWS = [
    "version_key,is_deleted",
    *(f"{key},false" for key in (1, 2, 3, 4, 5, 7)),
    "8,true",
]


def versions_project(root: Path) -> Path:
    scratch_project(
        root,
        "{version_key: integer, valid_from: timestamp, valid_to: timestamp, is_current: boolean}",
    )
    (root / "seeds" / "versions.csv").write_text("\n".join(VERSION_ROWS) + "\n")
    (root / "seeds" / "present.csv").write_text("\n".join(PRESENT_ROWS) + "\n")
    test = (
        "      - scd2_one_current:\n"
        "          name: {name}\n"
        "          key_column: version_key\n"
        "          current_column: is_current\n"
        "          order_column: valid_from\n"
        "          to_column: valid_to\n"
    )
    (root / "seeds" / "_seeds.yml").write_text(
        "version: 2\nseeds:\n  - name: versions\n    tests:\n"
        + test.format(name="versions_one_current")
        + test.format(name="versions_one_current_present")
        + "          present_in: ref('present')\n"
        + "          present_where: not is_deleted\n"
    )
    return root


def test_scd2_one_current_wants_one_current_version_for_open_keys_and_none_for_closed_ones(
    tmp_path: Path,
) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    result, outcomes = dbt_build(versions_project(tmp_path / "project"), env, "duckdb")
    expected = {
        "versions_one_current": {2, 3, 4, 5},  # without present_in, key 8 passes unseen
        "versions_one_current_present": {2, 3, 4, 5, 8},
    }
    assert set(outcomes) == set(expected)
    for name, keys in expected.items():
        outcome = outcomes[name]
        columns, rows = duckdb_failures(env, outcome["compiled_code"])
        found = {row[columns.index("version_key")] for row in rows}
        assert found == keys, (name, rows, result.stdout[-3000:])
        assert outcome["failures"] == len(rows) == len(keys)

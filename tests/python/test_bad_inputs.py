"""A catalogue of bad inputs: what the user gets for each, and that nothing else changes.

Two runs of the real ``medallion ingest`` + ``medallion build`` share this module, both
from the same small demo (SQLite archive and live, a landing folder):

* the *reference* run, whose sources hold only good rows: for every bad landing file
  the same file without its bad record(s), in plain UTF-8 with commas (the bad
  records are always last, so the good ones keep their row numbers);
* the *bad* run, whose sources hold every bad input of ``CASES`` at once, each in its
  own file or its own rows, so one pipeline run serves them all.

An input whose right outcome is to be kept as it is (an invalid email, 4-byte Unicode,
a string holding SQL) lands in both runs, and its case asserts the values themselves.

Each case then asserts what its input became (a quarantine row with its reason, a row
kept as it was, a clear refusal) and ``test_nothing_else_changed`` asserts that every
other row of every silver, quarantine and gold table equals the reference run's.
Configuration failures (an unreachable source, wrong credentials, a missing setting)
run ``medallion run`` against the bad run's warehouse and assert it is left unchanged.
Covered elsewhere and not repeated here: MySQL zero dates, latin1 tables and 4-byte
Unicode at the source (``test_mysql_sources.py``), malformed MySQL URLs and partial
configurations (``test_ingestion.py``, ``test_mysql_sources.py``).
Schema drift at a MySQL source (a new column, widened types, incompatible changes) is
``test_schema_drift.py``'s, on real MariaDB databases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fixtures import EXPENSE_COLUMNS, SURVEY_COLUMNS
from pipeline_helpers import pipeline_env, query, run_cli

from medallion.demo import generate_demo

LANDED_AT = dt.datetime(2025, 6, 1, tzinfo=dt.UTC).timestamp()
# columns that differ between two runs by construction (the load's id and time)
RUN_COLUMNS = {
    "load_id",
    "_dlt_load_id",
    "_dlt_id",
    "file_encoding",
    "change_load_id",  # a load id too (int_transactions_unioned)
    "rewritten_since",  # the watermark of an incremental build, a load id
}
NEW_ID = 90_000_000  # ids of rows added to the sources, above every demo id


def expense_rows(case: str, count: int = 3) -> list[list[str]]:
    """Good expense records of one case, with ids and months of their own."""
    return [
        [
            f"BAD-{case}-{n}",
            "Hélène Lefèvre",
            "Finance",
            "Travel",
            f"{10 * n}.50",
            "EUR",
            f"2024-0{n}-15",
            f"{case} good row {n}",
        ]
        for n in range(1, count + 1)
    ]


def survey_rows(case: str, count: int = 3) -> list[list[str]]:
    return [
        [
            f"S-{case}-{n}",
            f"survey{n}@example.com",
            f"2024-0{n}-10 12:00:00",
            str(5 + n),
            str(n + 1),
            "web",
            f"{case} comment {n}",
        ]
        for n in range(1, count + 1)
    ]


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_file(landing: Path, relative: str, data: bytes | None) -> None:
    """Write one landing file (None: no file) with a fixed modification time."""
    if data is None:
        return
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (LANDED_AT, LANDED_AT))


def sqlite_insert(database: Path, table: str, row: dict[str, Any]) -> None:
    with sqlite3.connect(database) as conn:
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"insert into {table} ({names}) values ({marks})", list(row.values()))  # noqa: S608


# --- the runs ---------------------------------------------------------------------------


@dataclass
class Runs:
    """The two runs: their sources, environments and warehouses."""

    ref_sources: Path
    bad_sources: Path
    ref_env: dict[str, str]
    bad_env: dict[str, str]
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> Path:
        return Path(self.ref_env["MEDALLION_DUCKDB_PATH"])

    @property
    def bad(self) -> Path:
        return Path(self.bad_env["MEDALLION_DUCKDB_PATH"])


def env_of(sources: Path, tmp: Path) -> dict[str, str]:
    return pipeline_env(
        tmp,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )


# --- the catalogue ------------------------------------------------------------------------


@dataclass
class Case:
    """One kind of bad input: how it is planted and what the user gets."""

    name: str
    outcome: str
    plant: Callable[[Path, Path], None]  # (reference sources, bad sources)
    check: Callable[[Runs], None]


CASES: list[Case] = []


def case(name: str, outcome: str, plant: Callable[[Path, Path], None]) -> Callable:
    def register(check: Callable[[Runs], None]) -> Callable[[Runs], None]:
        CASES.append(Case(name, outcome, plant, check))
        return check

    return register


def silver_rows(warehouse: Path, table: str, where: str) -> list[tuple[Any, ...]]:
    """Rows of a silver or gold table without the columns that name the run."""
    columns = [
        name
        for (name,) in query(
            warehouse,
            "select column_name from information_schema.columns"
            f" where table_name = '{table.split('.')[1]}'"
            f" and table_schema = '{table.split('.')[0]}' order by ordinal_position",
        )
        if name not in RUN_COLUMNS
    ]
    return sorted(
        query(warehouse, f"select {', '.join(columns)} from {table} where {where}"), key=repr
    )


def rejected(warehouse: Path, file_name: str) -> list[tuple[Any, ...]]:
    return query(
        warehouse,
        "select file_row_number, reason, raw_record from quarantine.file_rows_rejected"
        f" where file_name = '{file_name}' order by 1",
    )


def assert_good_rows_as_reference(runs: Runs, model: str, file_name: str) -> None:
    """The file's accepted rows are exactly those of the clean file in the reference."""
    where = f"file_name = '{file_name}' and rejection_reason is null"
    reference = silver_rows(runs.ref, f"intermediate.{model}", where)
    assert reference, f"the reference run has no row of {file_name}"
    assert silver_rows(runs.bad, f"intermediate.{model}", where) == reference


def expense_case(
    slug: str, bad: Callable[[list[list[str]]], bytes], good_rows: int = 3
) -> Callable[[Path, Path], None]:
    """Plant an expenses file: the reference gets the good rows, the bad run ``bad(rows)``."""

    def plant(ref: Path, bad_sources: Path) -> None:
        rows = expense_rows(slug, good_rows)
        name = f"expenses/bad_{slug}.csv"
        write_file(ref / "landing", name, csv_text(EXPENSE_COLUMNS, rows).encode())
        write_file(bad_sources / "landing", name, bad(rows))

    return plant


def expense_file(slug: str) -> str:
    return f"expenses/bad_{slug}.csv"


def with_last(extra: list[str]) -> Callable[[list[list[str]]], bytes]:
    return lambda rows: csv_text(EXPENSE_COLUMNS, [*rows, extra]).encode()


# 1, 2: a record with the wrong number of fields


@case(
    "malformed row: too many fields",
    "quarantine `malformed record` (file, row, fields as read); other rows loaded",
    expense_case(
        "too_many", with_last(["X-1", "ann", "Sales", "Travel", "1", "EUR", "2024-01-01", "a", "b"])
    ),
)
def _(runs: Runs) -> None:
    assert rejected(runs.bad, expense_file("too_many")) == [
        (4, "malformed record", "X-1,ann,Sales,Travel,1,EUR,2024-01-01,a,b")
    ]
    assert query(
        runs.bad,
        "select _parse_error from raw_files.expenses"
        f" where _file_name = '{expense_file('too_many')}' and _row_number = 4",
    ) == [("expected 8 fields, found 9",)]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("too_many"))


@case(
    "malformed row: too few fields",
    "quarantine `malformed record`; other rows loaded",
    expense_case("too_few", with_last(["X-2", "ann", "Sales"])),
)
def _(runs: Runs) -> None:
    assert rejected(runs.bad, expense_file("too_few")) == [(4, "malformed record", "X-2,ann,Sales")]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("too_few"))


# 3, 4, 5: a file in another dialect reads as the plain one


def reencoded(how: str) -> Callable[[list[list[str]]], bytes]:
    def render(rows: list[list[str]]) -> bytes:
        if how == "semicolon":
            return csv_text(EXPENSE_COLUMNS, rows, ";").encode()
        if how == "bom":
            return b"\xef\xbb\xbf" + csv_text(EXPENSE_COLUMNS, rows).replace("\n", "\r\n").encode()
        return csv_text(EXPENSE_COLUMNS, rows).encode("latin-1")

    return render


@case(
    "`;`-delimited file",
    "read as `,`: every row loaded as in a comma file",
    expense_case("semicolon", reencoded("semicolon")),
)
def _(runs: Runs) -> None:
    assert rejected(runs.bad, expense_file("semicolon")) == []
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("semicolon"))


@case(
    "byte-order mark (and CRLF line ends)",
    "read as plain UTF-8: first column named `expense_id`, every row loaded",
    expense_case("bom", reencoded("bom")),
)
def _(runs: Runs) -> None:
    assert rejected(runs.bad, expense_file("bom")) == []
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("bom"))


@case(
    "Latin-1 file",
    "decoded as Windows-1252 (`Hélène` intact), every row loaded, encoding kept in raw",
    expense_case("latin1", reencoded("latin1")),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select distinct submitted_by, _file_encoding from raw_files.expenses"
        f" where _file_name = '{expense_file('latin1')}'",
    ) == [("Hélène Lefèvre", "cp1252")]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("latin1"))


# 6, 7, 8: files with no rows or a cut end


def no_rows_case(slug: str, data: bytes) -> Callable[[Path, Path], None]:
    def plant(ref: Path, bad_sources: Path) -> None:
        write_file(bad_sources / "landing", f"expenses/bad_{slug}.csv", data)

    return plant


@case(
    "header-only file",
    "nothing loaded; the summary notes `no records in <file>`; nothing else changes",
    no_rows_case("header_only", csv_text(EXPENSE_COLUMNS, []).encode()),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select count(*) from raw_files.expenses"
        f" where _file_name = '{expense_file('header_only')}'",
    ) == [(0,)]
    assert "no records in" in runs.outputs["bad ingest"]
    assert "expenses/bad_header_only.csv" in runs.outputs["bad ingest"]


@case(
    "empty file (0 bytes)",
    "nothing loaded; the summary notes `no records in <file>`; nothing else changes",
    no_rows_case("empty", b""),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        f"select count(*) from raw_files.expenses where _file_name = '{expense_file('empty')}'",
    ) == [(0,)]
    assert "no records in" in runs.outputs["bad ingest"]
    assert "expenses/bad_empty.csv" in runs.outputs["bad ingest"]


@case(
    "truncated file (cut inside its last record)",
    "the cut record is quarantined `malformed record`; the rows before it loaded",
    expense_case(
        "truncated", lambda rows: csv_text(EXPENSE_COLUMNS, [*rows, ["X-8"] * 8]).encode()[:-12]
    ),
)
def _(runs: Runs) -> None:
    assert rejected(runs.bad, expense_file("truncated")) == [
        (4, "malformed record", "X-8,X-8,X-8,X-8,X-8,")
    ]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("truncated"))


# 9, 10: columns that are not the contract's


def extra_column(rows: list[list[str]]) -> bytes:
    return csv_text([*EXPENSE_COLUMNS, "approver"], [[*row, "boss"] for row in rows]).encode()


@case(
    "unknown extra column in a file",
    "kept in raw as a new column (schema evolves), ignored by staging; rows loaded",
    expense_case("extra_column", extra_column),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select distinct approver from raw_files.expenses"
        f" where _file_name = '{expense_file('extra_column')}'",
    ) == [("boss",)]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("extra_column"))


def missing_amount(rows: list[list[str]]) -> bytes:
    header = [c for c in EXPENSE_COLUMNS if c != "amount"]
    return csv_text(header, [row[:4] + row[5:] for row in rows]).encode()


def missing_column_plant(ref: Path, bad_sources: Path) -> None:
    write_file(
        bad_sources / "landing",
        expense_file("missing_column"),
        missing_amount(expense_rows("missing_column")),
    )


@case(
    "missing column in a file",
    "every row of the file quarantined `amount missing or invalid`",
    missing_column_plant,
)
def _(runs: Runs) -> None:
    assert [r[:2] for r in rejected(runs.bad, expense_file("missing_column"))] == [
        (1, "amount missing or invalid"),
        (2, "amount missing or invalid"),
        (3, "amount missing or invalid"),
    ]


# 11-15, 18, 19: values that break a rule


def value_case(slug: str, column: str, value: str) -> Callable[[Path, Path], None]:
    def bad(rows: list[list[str]]) -> bytes:
        last = list(rows[0])
        last[0] = f"BAD-{slug}-9"
        last[EXPENSE_COLUMNS.index(column)] = value
        return csv_text(EXPENSE_COLUMNS, [*rows, last]).encode()

    return expense_case(slug, bad)


def assert_rejected_row(runs: Runs, slug: str, reason: str) -> None:
    assert [r[:2] for r in rejected(runs.bad, expense_file(slug))] == [(4, reason)]
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file(slug))


@case(
    "type drift: text in a number column",
    "quarantine `amount missing or invalid`",
    value_case("text_amount", "amount", "twelve euros"),
)
def _(runs: Runs) -> None:
    assert_rejected_row(runs, "text_amount", "amount missing or invalid")


@case(
    "null key",
    "quarantine `expense_id missing`",
    value_case("null_key", "expense_id", ""),
)
def _(runs: Runs) -> None:
    assert_rejected_row(runs, "null_key", "expense_id missing")


@case(
    "zero date",
    "quarantine `expense_date missing or invalid`",
    value_case("zero_date", "expense_date", "0000-00-00"),
)
def _(runs: Runs) -> None:
    assert_rejected_row(runs, "zero_date", "expense_date missing or invalid")


@case(
    "date in the far future",
    "quarantine `expense_date after max_valid_date` (var, default 2099-12-31)",
    value_case("far_future", "expense_date", "9999-12-31"),
)
def _(runs: Runs) -> None:
    assert_rejected_row(runs, "far_future", "expense_date after max_valid_date")


@case(
    "huge amount (beyond decimal(18,2))",
    "quarantine `amount missing or invalid`",
    value_case("huge_amount", "amount", "123456789012345678901234.50"),
)
def _(runs: Runs) -> None:
    assert_rejected_row(runs, "huge_amount", "amount missing or invalid")


SQL_TEXT = "x'); drop table marts.fct_transactions; --"


@case(
    "a string holding SQL",
    "kept verbatim as text, never executed: every table still there",
    lambda ref, bad: (
        same_file(
            "sql_text",
            [*expense_rows("sql_text")[:2], [*expense_rows("sql_text")[2][:7], SQL_TEXT]],
        )(ref, bad),
        db_plant("customers", customer(NEW_ID + 4, last_name=SQL_TEXT), True)(ref, bad),
    ),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad, f"select last_name from restricted.customer_pii where customer_id = {NEW_ID + 4}"
    ) == [(SQL_TEXT,)]
    assert query(
        runs.bad,
        "select description from intermediate.int_expenses_judged"
        f" where file_name = '{expense_file('sql_text')}' and file_row_number = 3",
    ) == [(SQL_TEXT,)]
    assert query(runs.bad, "select count(*) from marts.fct_transactions")[0][0] > 0


@case(
    "duplicate key in a file",
    "one row kept (the later record wins), the other counted as a duplicate",
    value_case("duplicate", "expense_id", "BAD-duplicate-1"),
)
def _(runs: Runs) -> None:
    rows = query(
        runs.bad,
        "select file_row_number, file_rank, rejection_reason from intermediate.int_expenses_judged"
        " where expense_id = 'BAD-duplicate-1' order by 1",
    )
    assert rows == [(1, 2, None), (4, 1, None)]
    audit = (
        "select duplicates_removed from audit.silver_row_counts"
        " where silver_table = 'int_expenses_judged'"
    )
    assert query(runs.bad, audit)[0][0] == query(runs.ref, audit)[0][0] + 1


# 16, 17, 20: rows of the databases


def db_plant(
    table: str, row: dict[str, Any], also_reference: bool = False
) -> Callable[[Path, Path], None]:
    """Insert a row into the bad live database (and the reference's, for a row kept)."""

    def plant(ref: Path, bad_sources: Path) -> None:
        for sources in [bad_sources, ref] if also_reference else [bad_sources]:
            sqlite_insert(sources / "live.sqlite", table, row)

    return plant


def same_file(slug: str, rows: list[list[str]]) -> Callable[[Path, Path], None]:
    """A file whose rows are all kept: the same bytes land in both runs."""

    def plant(ref: Path, bad_sources: Path) -> None:
        for sources in (ref, bad_sources):
            write_file(
                sources / "landing", expense_file(slug), csv_text(EXPENSE_COLUMNS, rows).encode()
            )

    return plant


def transaction(transaction_id: int, **changes: Any) -> dict[str, Any]:
    row = {
        "transaction_id": transaction_id,
        "order_number": f"SO{transaction_id}",
        "order_line_number": 1,
        "customer_id": 9,
        "product_code": "S18_5398",
        "quantity": 2,
        "unit_price": 10,
        "amount": 20,
        "status": "Shipped",
        "territory": "EMEA",
        "transaction_date": "2024-05-01 10:00:00",
        "updated_at": "2024-05-01 10:00:00",
    }
    row.update(changes)
    return row


def customer(customer_id: int, **changes: Any) -> dict[str, Any]:
    row = {
        "customer_id": customer_id,
        "first_name": "Ada",
        "last_name": "Byron",
        "email": f"ada{customer_id}@example.com",
        "is_active": 1,
        "created_at": "2024-01-01 00:00:00",
        "updated_at": "2024-01-01 00:00:00",
    }
    row.update(changes)
    return row


@case(
    "negative quantity with a positive amount (-2 x 10.00 = 20.00)",
    "quarantine `amount differs from quantity * unit_price`; in no fact (no rule of"
    " its own: a sign is judged only through the amount)",
    db_plant("transactions", transaction(NEW_ID + 1, quantity=-2)),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        f"select reason from quarantine.transactions_rejected where transaction_id = {NEW_ID + 1}",
    ) == [("amount differs from quantity * unit_price",)]


@case(
    "invalid email",
    "customer kept, `email` null, `has_invalid_email` true, the text kept as entered",
    db_plant("customers", customer(NEW_ID + 2, email="ada at example dot com"), True),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select email, email_as_entered, has_invalid_email from staging.stg_live__customers"
        f" where customer_id = {NEW_ID + 2}",
    ) == [(None, "ada at example dot com", True)]
    assert query(
        runs.bad, f"select email from restricted.customer_pii where customer_id = {NEW_ID + 2}"
    ) == [(None,)]


FOUR_BYTE = "Zoë 😀 𝄞 𠜎"


@case(
    "4-byte Unicode (file and database)",
    "every character arrives intact in silver and gold",
    lambda ref, bad: (
        db_plant("customers", customer(NEW_ID + 3, first_name=FOUR_BYTE), True)(ref, bad),
        same_file("four_byte", [[*row[:7], FOUR_BYTE] for row in expense_rows("four_byte")])(
            ref, bad
        ),
    ),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select first_name, last_name from restricted.customer_pii"
        f" where customer_id = {NEW_ID + 3}",
    ) == [(FOUR_BYTE, "Byron")]
    assert query(
        runs.bad,
        "select distinct description from intermediate.int_expenses_judged"
        f" where file_name = '{expense_file('four_byte')}' and rejection_reason is null",
    ) == [(FOUR_BYTE,)]


@case(
    "header in another order and in upper case",
    "read by name: the same rows as the plain file",
    lambda ref, bad: (
        write_file(
            ref / "landing",
            expense_file("header_order"),
            csv_text(EXPENSE_COLUMNS, expense_rows("header_order")).encode(),
        ),
        write_file(
            bad / "landing",
            expense_file("header_order"),
            csv_text(
                [name.upper() for name in reversed(EXPENSE_COLUMNS)],
                [list(reversed(row)) for row in expense_rows("header_order")],
            ).encode(),
        ),
    ),
)
def _(runs: Runs) -> None:
    assert_good_rows_as_reference(runs, "int_expenses_judged", expense_file("header_order"))
    assert rejected(runs.bad, expense_file("header_order")) == []


SURVEY_SCORES = "surveys/bad_scores.csv"


@case(
    "survey score out of range (`11`) or not a number (`ten`)",
    "`quarantine.file_rows_rejected`: `nps_score not in 0..10`, file, row number",
    lambda ref, bad: [
        write_file(
            sources / "landing",
            SURVEY_SCORES,
            csv_text(
                SURVEY_COLUMNS,
                [
                    [
                        f"BAD-S-{n}",
                        f"s{n}@example.com",
                        "2024-05-02 10:00:00",
                        score,
                        "4",
                        "web",
                        "",
                    ]
                    for n, score in enumerate(["9", "11", "ten"], start=1)
                ],
            ).encode(),
        )
        for sources in (ref, bad)
    ],
)
def _(runs: Runs) -> None:
    assert [row[:2] for row in rejected(runs.bad, SURVEY_SCORES)] == [
        (2, "nps_score not in 0..10"),
        (3, "nps_score not in 0..10"),
    ]
    assert query(
        runs.bad,
        "select response_id, nps_score from intermediate.int_survey_responses_judged"
        f" where file_name = '{SURVEY_SCORES}' and rejection_reason is null",
    ) == [("BAD-S-1", 9)]


LONG_TEXT = ("a long description, ✓ 😀 " * 5_000)[:102_400]  # 100 KB of characters


@case(
    "a text value of 100 KB",
    "kept whole in silver",
    same_file("long_text", [[*row[:7], LONG_TEXT] for row in expense_rows("long_text", 1)]),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select description, length(description) from intermediate.int_expenses_judged"
        f" where file_name = '{expense_file('long_text')}' and rejection_reason is null",
    ) == [(LONG_TEXT, 102_400)]


FOUR_BYTE_ONLY = "😀𝄞𠜎"  # no letter case, so upper() leaves it as it is


@case(
    "4-byte Unicode in every text column of a file",
    "every text value intact in silver (the currency upper-cased as any other)",
    same_file(
        "four_byte_every",
        [
            [
                f"BAD-{FOUR_BYTE}",
                FOUR_BYTE,
                FOUR_BYTE,
                FOUR_BYTE,
                "12.50",
                FOUR_BYTE_ONLY,
                "2024-05-15",
                FOUR_BYTE,
            ]
        ],
    ),
)
def _(runs: Runs) -> None:
    assert query(
        runs.bad,
        "select expense_id, submitted_by, department, category, currency, description,"
        " amount from intermediate.int_expenses_judged"
        f" where file_name = '{expense_file('four_byte_every')}' and rejection_reason is null",
    ) == [
        (
            f"BAD-{FOUR_BYTE}",
            FOUR_BYTE,
            FOUR_BYTE,
            FOUR_BYTE,
            FOUR_BYTE_ONLY,
            FOUR_BYTE,
            Decimal("12.50"),
        )
    ]


# 21, 22, 23: sources and settings (``medallion run`` on the bad run's warehouse)


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


RUN_AUDIT = {"audit.pipeline_runs", "audit.pipeline_run_tables", "audit.pipeline_run_warnings"}


def warehouse_snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = query(
        warehouse,
        "select table_schema, table_name from information_schema.tables"
        " where table_type = 'BASE TABLE' order by 1, 2",
    )
    return {
        f"{schema}.{name}": sorted(query(warehouse, f'select * from "{schema}"."{name}"'), key=repr)
        for schema, name in tables
    }


def refused_run(runs: Runs, setting: str, value: str | None, exit_code: int) -> str:
    """``medallion run`` with one setting changed: it must fail and change nothing."""
    env = dict(runs.bad_env)
    if value is None:
        env.pop(setting)
    else:
        env[setting] = value
    before = warehouse_snapshot(runs.bad)
    result = run_cli(["run"], env, expect=exit_code)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    after = warehouse_snapshot(runs.bad)
    # the one thing a refused run writes: its own row in the run audit, as failed
    assert {k: v for k, v in after.items() if k not in RUN_AUDIT} == {
        k: v for k, v in before.items() if k not in RUN_AUDIT
    }
    new_runs = set(after["audit.pipeline_runs"]) - set(before.get("audit.pipeline_runs", []))
    assert len(new_runs) == 1
    (last,) = query(
        runs.bad,
        "select status, error_message from audit.pipeline_runs order by started_at desc limit 1",
    )
    assert last[0] == "failed" and last[1], last
    return output


def no_plant(ref: Path, bad_sources: Path) -> None:
    return None


@case(
    "unreachable source",
    "exit 1, `Cannot read the live database at mysql+pymysql://reader:***@...: Can't connect`;"
    " the warehouse unchanged",
    no_plant,
)
def _(runs: Runs) -> None:
    url = f"mysql+pymysql://reader:Sup3rS3cret@127.0.0.1:{_free_port()}/sales"
    output = refused_run(runs, "SOURCES__LIVE__CREDENTIALS", url, 1)
    assert "live database" in output and "Can't connect" in output, output
    assert "Sup3rS3cret" not in output


@case(
    "wrong credentials",
    "exit 1, `Cannot read the archive database ...: Access denied`; the warehouse unchanged",
    no_plant,
)
def _(runs: Runs) -> None:
    url = "mysql+pymysql://nobody:Wr0ngPassw0rd@127.0.0.1:3306/test"
    output = refused_run(runs, "SOURCES__ARCHIVE__CREDENTIALS", url, 1)
    assert "archive database" in output and "Access denied" in output, output
    assert "Wr0ngPassw0rd" not in output


@case(
    "missing configuration value",
    "exit 2, the message names SOURCES__FILES__BUCKET_URL; the warehouse unchanged",
    no_plant,
)
def _(runs: Runs) -> None:
    output = refused_run(runs, "SOURCES__FILES__BUCKET_URL", None, 2)
    assert "SOURCES__FILES__BUCKET_URL" in output, output


# --- the two runs and the tests -----------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Build the reference and the bad warehouse from one small demo."""
    root = tmp_path_factory.mktemp("bad_inputs")
    demo = root / "demo"
    generate_demo(demo, seed=7, scale=0.25)
    ref_sources, bad_sources = root / "ref_sources", root / "bad_sources"
    shutil.copytree(demo, ref_sources)
    shutil.copytree(demo, bad_sources)
    for each in CASES:
        each.plant(ref_sources, bad_sources)
    result = Runs(
        ref_sources,
        bad_sources,
        env_of(ref_sources, root / "ref"),
        env_of(bad_sources, root / "bad"),
    )
    for name, env in [("ref", result.ref_env), ("bad", result.bad_env)]:
        result.outputs[f"{name} ingest"] = run_cli(["ingest"], env).stdout
        result.outputs[f"{name} build"] = run_cli(["build"], env).stdout
    return result


def test_the_catalogue_has_every_kind_of_bad_input() -> None:
    assert len(CASES) >= 20
    assert len({each.name for each in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("bad_input", CASES, ids=[each.name for each in CASES])
def test_bad_input(runs: Runs, bad_input: Case) -> None:
    bad_input.check(runs)


BAD_FILES = "file_name like 'expenses/bad_%'"
COMPARED = {
    # every gold table whole: nothing a bad row did reached them
    **{
        f"marts.{table}": "true"
        for table in [
            "customer_segments",
            "dim_customer",
            "dim_date",
            "dim_product",
            "expense_monthly",
            "fct_refunds",
            "fct_transactions",
            "monthly_summary",
            "product_performance",
            "regional_summary",
            "survey_monthly",
            "top_customers",
        ]
    },
    "restricted.customer_pii": "true",
    "snapshots.snap_customers": "true",
    "snapshots.snap_products": "true",
    # silver: every row not from a bad input
    "intermediate.int_expenses_judged": f"not ({BAD_FILES})",
    "intermediate.int_survey_responses_judged": "true",
    "intermediate.int_fiscal_calendar_judged": "true",
    "intermediate.int_transactions_deduplicated": f"transaction_id < {NEW_ID}",
    "intermediate.int_customers_merged": "true",
    "quarantine.file_rows_rejected": f"not ({BAD_FILES})",
    "quarantine.transactions_rejected": f"transaction_id < {NEW_ID}",
}


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(COMPARED))
def test_nothing_else_changed(runs: Runs, table: str) -> None:
    """Every row a bad input did not touch equals the reference run's, table by table."""
    reference = silver_rows(runs.ref, table, COMPARED[table])
    assert reference, f"{table} is empty in the reference run"
    assert silver_rows(runs.bad, table, COMPARED[table]) == reference


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["customers", "transactions"]', ["customers", "transactions"]),
        ("['customers']", ["customers"]),
        ("customers, transactions", ["customers", "transactions"]),
        ("", []),
    ],
)
def test_table_lists_set_in_the_environment_are_read_as_lists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: list[str]
) -> None:
    """An environment variable holds text: a list of tables written there must select
    those tables (it was read letter by letter: "Tables ... not found: ['"', '[', ...]")."""
    import sqlalchemy as sa

    from ingestion.pipelines import configured_names
    from ingestion.sql_sources import select_tables

    monkeypatch.setenv("SOURCES__ARCHIVE__INCLUDE_TABLES", value)
    assert configured_names("sources.archive.include_tables", []) == expected
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'archive.sqlite'}")
    with engine.begin() as connection:
        for table in ("customers", "products", "transactions"):
            connection.execute(sa.text(f"create table {table} (id integer)"))
    wanted = expected or ["customers", "products", "transactions"]
    assert select_tables(engine, configured_names("sources.archive.include_tables", []), []) == (
        wanted
    )
    engine.dispose()


@pytest.mark.parametrize("value", ["[customers", '["orders", 2]', "[1, 2]"])
def test_a_table_list_that_is_no_list_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from ingestion.pipelines import configured_names
    from medallion.settings import ConfigError

    monkeypatch.setenv("SOURCES__ARCHIVE__EXCLUDE_TABLES", value)
    with pytest.raises(ConfigError, match="sources.archive.exclude_tables must be a list"):
        configured_names("sources.archive.exclude_tables", [])

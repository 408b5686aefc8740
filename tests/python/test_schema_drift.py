"""Schema drift at the MySQL sources (issue 26; ingestion/schema_drift.py), through the
run, on real MariaDB databases changed by ``ALTER TABLE`` between two runs.

The gold-rules scenario (test_gold_rules.py) is written into two MariaDB databases with
the contract's MySQL types; one DuckDB warehouse then sees, one after the other:

1. ``medallion ingest``: raw as the sources were;
2. the DBA adds a column to live transactions and widens types: ``order_number``
   varchar(20) -> varchar(50), ``amount`` decimal(12,2) -> decimal(14,2), ``quantity``
   int -> bigint, live ``customers.postal_code`` varchar(20) -> varchar(50), the
   archive's ``products.msrp`` decimal(10,2) -> decimal(12,2); one live line then
   holds values only the wider types fit. ``medallion run``: exit 0, raw widened, the
   fact as ``oracle.py`` computes it from the same rows (the line included), a
   warning per drift printed and in the audit, the silver reconciliation holding;
3. text where a number was (``quantity`` varchar) and a contract column dropped
   (``territory``): ``medallion run`` exits 1 before loading anything, the message
   naming the database, table, column and both types; the marts keep their values.

A MySQL warehouse, where raw's text columns have a length, is checked on the live
pipeline alone (``test_a_widened_type_widens_raw_on_a_mysql_warehouse``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention
from fixtures import write_landing, write_mysql_source
from oracle import Oracle
from pipeline_helpers import MYSQL, pipeline_env, query, run_cli
from test_gold_rules import ARCHIVE, LANDING_FILES, LIVE, SOURCES

from ingestion.schema_drift import CONTRACT_COLUMNS, _plan, type_text

SNAKE_CASE = NamingConvention().normalize_identifier  # dlt's default naming, as raw's

WIDE_LINE = 1093  # a live sale of customer 41, changed to values only wider types hold
WIDE_ORDER = "O-1041-A-NUMBER-LONGER-THAN-TWENTY"
WIDE_AMOUNT = Decimal("123456789000.00")  # 10000 x 12345678.90: beyond decimal(12,2)
WIDE_UPDATED_AT = "2025-06-01 00:00:00"  # after every other live change


def _execute(database: str, *statements: str) -> None:
    conn = pymysql.connect(**MYSQL, database=database, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute("set session sql_mode = ''")
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def _widen_live_types(database: str) -> None:
    _execute(
        database,
        "alter table transactions add column sales_channel varchar(20) null",
        "alter table transactions modify order_number varchar(50)",
        "alter table transactions modify amount decimal(14,2)",
        "alter table transactions modify quantity bigint",
        "alter table customers modify postal_code varchar(50)",
        f"update transactions set order_number = '{WIDE_ORDER}', quantity = 10000,"
        f" unit_price = 12345678.90, amount = {WIDE_AMOUNT}, sales_channel = 'web',"
        f" updated_at = '{WIDE_UPDATED_AT}' where transaction_id = {WIDE_LINE}",
    )


@dataclass
class Runs:
    warehouse: Path
    prefix: str
    results: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _facts(warehouse: Path) -> list[tuple[Any, ...]]:
    return sorted(
        query(
            warehouse,
            "select transaction_id, order_number, quantity, total_amount"
            " from marts.fct_transactions",
        )
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, module_prefix: str) -> Runs:
    root = tmp_path_factory.mktemp("drift")
    env = pipeline_env(
        root,
        write_mysql_source(f"{module_prefix}archive", ARCHIVE),
        write_mysql_source(f"{module_prefix}live", LIVE),
        write_landing(root / "landing", LANDING_FILES),
    )
    found = Runs(Path(env["MEDALLION_DUCKDB_PATH"]), module_prefix)
    run_cli(["ingest"], env)

    _widen_live_types(f"{module_prefix}live")
    _execute(
        f"{module_prefix}archive",
        "alter table products modify msrp decimal(12,2)",
        "update products set msrp = msrp + 1 order by product_code limit 1",
    )
    found.results["widened"] = run_cli(["run"], env)
    found.facts["widened"] = _facts(found.warehouse)

    _execute(
        f"{module_prefix}live",
        "alter table transactions modify quantity varchar(20)",
        "alter table transactions drop column territory",
    )
    found.results["incompatible"] = run_cli(["run"], env, expect=1)
    found.facts["incompatible"] = _facts(found.warehouse)
    return found


def _output(result: Any) -> str:
    return " ".join((result.stdout + result.stderr).split())


# --- the rules alone ---------------------------------------------------------------------


def test_the_contract_columns_are_those_of_the_source_contract_page() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs/contracts/sources.md").read_text()
    for table, columns in CONTRACT_COLUMNS.items():
        section = page.split(f"### `{table}`", 1)[1].split("###", 1)[0]
        named = re.findall(r"^\| ((?:`\w+`(?:, )?)+) \|", section, flags=re.M)
        on_page = [name for cell in named for name in re.findall(r"`(\w+)`", cell)]
        assert tuple(on_page) == columns, table


def test_type_text_reads_as_a_person_writes_a_type() -> None:
    assert type_text({"data_type": "decimal", "precision": 12, "scale": 2}) == "decimal(12,2)"
    assert type_text({"data_type": "text", "precision": 20, "nullable": False}) == (
        "text(20) not null"
    )
    assert type_text({"data_type": "bigint"}) == "bigint"


@dataclass
class Table:
    """What ``schema_drift`` reads of a dlt resource: its name and column hints."""

    name: str
    columns: dict[str, dict[str, Any]]


def _decide(old: dict[str, Any], new: dict[str, Any]) -> Any:
    """The plan for one column of a non-contract table whose type went old -> new."""
    key = {"name": "id", "data_type": "bigint", "nullable": False}
    stored = {"t": {"columns": {"id": key, "c": {"name": "c", **old}}}}
    return _plan("live (db)", "raw_live", [Table("t", {"id": key, "c": new})], stored, SNAKE_CASE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"data_type": "text", "precision": 20}, {"data_type": "text", "precision": 50}),
        ({"data_type": "text", "precision": 20}, {"data_type": "text"}),  # to text
        (
            {"data_type": "decimal", "precision": 12, "scale": 2},
            {"data_type": "decimal", "precision": 14, "scale": 4},
        ),
        ({"data_type": "bigint", "precision": 16}, {"data_type": "bigint", "precision": 32}),
        ({"data_type": "text", "nullable": False}, {"data_type": "text", "nullable": True}),
    ],
)
def test_a_widening_is_followed(old: dict[str, Any], new: dict[str, Any]) -> None:
    plan = _decide(old, new)
    assert not plan.errors
    assert [drift.check for drift in plan.drifts] == ["schema drift: type widened"]
    assert plan.widen["t"]["c"]["data_type"] == new["data_type"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"data_type": "bigint"}, {"data_type": "text", "precision": 20}),
        ({"data_type": "text", "precision": 50}, {"data_type": "text", "precision": 20}),
        (  # as many digits, two fewer before the point
            {"data_type": "decimal", "precision": 12, "scale": 2},
            {"data_type": "decimal", "precision": 12, "scale": 4},
        ),
        (
            {"data_type": "timestamp", "timezone": False},
            {"data_type": "timestamp", "timezone": True},
        ),
    ],
)
def test_any_other_type_change_is_structural(old: dict[str, Any], new: dict[str, Any]) -> None:
    plan = _decide(old, new)
    assert not plan.widen and not plan.drifts
    assert plan.errors == [
        f"the live (db) database: table `t`, column `c` changed type from {type_text(old)} "
        f"(as raw holds it, raw_live.t) to {type_text(new)} at the source: its values "
        "cannot be read as before"
    ]


def test_a_column_that_now_refuses_null_keeps_raw_nullable_silently() -> None:
    plan = _decide({"data_type": "text"}, {"data_type": "text", "nullable": False})
    assert not plan.errors and not plan.drifts and not plan.widen
    assert plan.keep_nullable == {"t": ["c"]}


def test_a_source_name_raw_holds_normalised_is_the_same_column() -> None:
    """``discountCode`` at the source is ``discount_code`` in raw: unchanged, it is no
    drift (it was reported as a column added on every run); widened, it is followed."""
    key = {"name": "id", "data_type": "bigint", "nullable": False}
    old = {"name": "discount_code", "data_type": "text", "precision": 20}
    stored = {"t": {"columns": {"id": key, "discount_code": old}}}
    same = {"name": "discountCode", "data_type": "text", "precision": 20}
    plan = _plan(
        "live (db)", "raw_live", [Table("t", {"id": key, "discountCode": same})], stored, SNAKE_CASE
    )
    assert not plan.errors and not plan.drifts and not plan.widen
    wider = {**same, "precision": 50}
    plan = _plan(
        "live (db)",
        "raw_live",
        [Table("t", {"id": key, "discountCode": wider})],
        stored,
        SNAKE_CASE,
    )
    assert not plan.errors
    assert plan.widen["t"]["discount_code"]["precision"] == 50
    assert plan.widen["t"]["discount_code"]["name"] == "discount_code"
    narrower = {**same, "precision": 10}
    plan = _plan(
        "live (db)",
        "raw_live",
        [Table("t", {"id": key, "discountCode": narrower})],
        stored,
        SNAKE_CASE,
    )
    assert plan.errors and "column `discountCode` changed type" in plan.errors[0]


def test_a_missing_contract_column_is_structural_even_on_a_first_load() -> None:
    columns = {c: {"name": c, "data_type": "text"} for c in CONTRACT_COLUMNS["products"]}
    del columns["msrp"]
    plan = _plan("archive (db)", "raw_archive", [Table("products", columns)], {}, SNAKE_CASE)
    assert plan.errors == [
        "the archive (db) database: table `products` has no column `msrp`, a column of "
        "the source contract (docs/contracts/sources.md)"
    ]


# --- 2. widened types: the run goes on -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_a_widened_type_evolves_raw_and_the_run_publishes(runs: Runs) -> None:
    columns = dict(
        query(
            runs.warehouse,
            "select table_schema || '.' || table_name || '.' || column_name, data_type"
            " from information_schema.columns where table_schema in ('raw_live', 'raw_archive')",
        )
    )
    assert columns["raw_live.transactions.amount"] == "DECIMAL(14,2)"
    assert columns["raw_archive.products.msrp"] == "DECIMAL(12,2)"
    assert columns["raw_live.transactions.sales_channel"] == "VARCHAR"  # the new column
    assert query(
        runs.warehouse,
        "select order_number, quantity, amount, sales_channel from raw_live.transactions"
        f" where transaction_id = {WIDE_LINE}",
    ) == [(WIDE_ORDER, 10000, WIDE_AMOUNT, "web")]
    # the line reaches the fact with its values, every line as the oracle says
    wide = [row for row in runs.facts["widened"] if row[0] == WIDE_LINE]
    assert wide == [(WIDE_LINE, WIDE_ORDER, 10000, WIDE_AMOUNT)]
    changed = {
        "order_number": WIDE_ORDER,
        "quantity": 10000,
        "unit_price": "12345678.90",
        "amount": str(WIDE_AMOUNT),
        "updated_at": WIDE_UPDATED_AT,
    }
    live = {
        **LIVE,
        "transactions": [
            {**row, **changed} if row["transaction_id"] == WIDE_LINE else row
            for row in LIVE["transactions"]
        ],
    }
    oracle = Oracle(replace(SOURCES, live=live))
    assert runs.facts["widened"] == sorted(
        (f["transaction_id"], f["order_number"], f["quantity"], f["total_amount"])
        for f in oracle.fct_transactions
    )
    # the models ignore the new column
    staged = query(runs.warehouse, "describe staging.stg_live__transactions")
    assert "sales_channel" not in {row[0] for row in staged}


@pytest.mark.slow
@pytest.mark.mysql
def test_each_drift_is_a_warning_printed_and_recorded(runs: Runs) -> None:
    output = _output(runs.results["widened"])
    assert "Published" in output
    expected = [
        ("raw_live.transactions", "schema drift: column added", "sales_channel text(20)"),
        (
            "raw_live.transactions",
            "schema drift: type widened",
            "amount: decimal(12,2) -> decimal(14,2)",
        ),
        (
            "raw_live.transactions",
            "schema drift: type widened",
            "order_number: text(20) -> text(50)",
        ),
        (
            "raw_live.customers",
            "schema drift: type widened",
            "postal_code: text(20) -> text(50)",
        ),
        (
            "raw_archive.products",
            "schema drift: type widened",
            "msrp: decimal(10,2) -> decimal(12,2)",
        ),
    ]
    recorded = query(
        runs.warehouse,
        "select table_name, check_name, examples from audit.pipeline_run_warnings"
        " where layer = 'ingest'",
    )
    assert len(recorded) == len(expected), recorded
    for table, check, detail in expected:
        assert any(
            row[0] == table and row[1] == check and row[2].startswith(detail) for row in recorded
        ), (table, check, detail, recorded)
        assert detail.split(" ->")[0] in output
    assert "Warnings (" in output and "schema drift: type widened" in output
    # int -> bigint is the same type to dlt: nothing to widen, no warning
    assert not any(row[2].startswith("quantity") for row in recorded)


@pytest.mark.slow
@pytest.mark.mysql
def test_the_silver_reconciliation_holds_after_the_drift(runs: Runs) -> None:
    counts = query(
        runs.warehouse,
        "select silver_table, rows_in, rows_out, duplicates_removed, rows_quarantined"
        " from audit.silver_row_counts",
    )
    assert counts
    for table, rows_in, rows_out, duplicates, quarantined in counts:
        assert rows_in == rows_out + duplicates + quarantined, table


# --- 3. changes raw cannot follow: structural, named ---------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_an_incompatible_type_and_a_missing_column_stop_the_run_named(runs: Runs) -> None:
    output = _output(runs.results["incompatible"])
    assert "Traceback" not in output
    assert "The live pipeline stopped before extracting" in output, output[-3000:]
    database = f"live ({runs.prefix}live)"
    assert (
        f"the {database} database: table `transactions`, column `quantity` changed type from"
        " bigint (as raw holds it, raw_live.transactions) to text(20) at the source"
    ) in output
    assert (
        f"the {database} database: table `transactions` has no column `territory`, a column "
        "of the source contract"
    ) in output
    assert "raw has it as text(20)" in output
    # nothing was published: the marts are those of the last good run
    assert runs.facts["incompatible"] == runs.facts["widened"]
    failed = query(
        runs.warehouse,
        "select status, error_message from audit.pipeline_runs order by started_at desc limit 1",
    )
    assert failed[0][0] == "failed" and "`quantity`" in failed[0][1]


# --- a MySQL warehouse: raw's varchar has a length there -----------------------------------


@pytest.mark.mysql
def test_a_widened_type_widens_raw_on_a_mysql_warehouse(tmp_path: Path, mysql_prefix: str) -> None:
    live = f"{mysql_prefix}live"
    env = pipeline_env(
        tmp_path,
        "sqlite:///unused.sqlite",
        write_mysql_source(live, LIVE),
        write_landing(tmp_path / "landing", LANDING_FILES),
    )
    env["MEDALLION_SCHEMA_PREFIX"] = mysql_prefix
    run_cli(["ingest", "--only", "live", "--target", "mysql"], env)
    _widen_live_types(live)
    result = run_cli(["ingest", "--only", "live", "--target", "mysql"], env)
    assert "type widened" in _output(result) or "widened" in _output(result)
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select table_schema, column_name, column_type from information_schema.columns"
                " where table_schema in (%s, %s) and table_name = 'transactions'"
                " and column_name in ('amount', 'order_number')",
                (f"{mysql_prefix}raw_live", f"{mysql_prefix}raw_live_staging"),
            )
            types = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
            cursor.execute(
                f"select order_number, amount from `{mysql_prefix}raw_live`.transactions"
                f" where transaction_id = {WIDE_LINE}"
            )
            line = cursor.fetchall()
    finally:
        conn.close()
    for dataset in ("raw_live", "raw_live_staging"):
        assert types[(f"{mysql_prefix}{dataset}", "amount")] == "decimal(14,2)", types
        assert types[(f"{mysql_prefix}{dataset}", "order_number")] == "varchar(50)", types
    assert line == ((WIDE_ORDER, WIDE_AMOUNT),)


@pytest.mark.mysql
def test_a_full_refresh_after_a_widening_widens_raw_first(
    tmp_path: Path, mysql_prefix: str
) -> None:
    """``--full-refresh`` starts the cursors over, but raw is widened first (it dropped
    the stored schema before the drift check, and the load failed on the narrow raw)."""
    live = f"{mysql_prefix}live"
    env = pipeline_env(
        tmp_path,
        "sqlite:///unused.sqlite",
        write_mysql_source(live, LIVE),
        write_landing(tmp_path / "landing", LANDING_FILES),
    )
    run_cli(["ingest", "--only", "live"], env)
    _widen_live_types(live)
    result = run_cli(["ingest", "--only", "live", "--full-refresh"], env)
    assert "type widened" in _output(result), _output(result)[-2000:]
    warehouse = Path(env["MEDALLION_DUCKDB_PATH"])
    assert query(
        warehouse,
        "select data_type from information_schema.columns where table_schema = 'raw_live'"
        " and table_name = 'transactions' and column_name = 'amount'",
    ) == [("DECIMAL(14,2)",)]
    assert query(
        warehouse,
        "select order_number, amount from raw_live.transactions"
        f" where transaction_id = {WIDE_LINE}",
    ) == [(WIDE_ORDER, WIDE_AMOUNT)]

"""Tests of the demo generator against real files, real SQLite and a real MariaDB.

The staging models are written against the edge cases this generator promises
(docs/contracts/sources.md, docs/contracts/gold.md); these tests query the generated
data for each of them, so a change to the generator that drops one fails here, not in a
mart.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pipeline_helpers import copy_first_live_transaction

from medallion.demo import DemoSources, generate_demo  # noqa: E402

MYSQL_SERVER = "mysql+pymysql://root:@127.0.0.1:3306"

# Written out here, not imported, so the test checks the generator against the spec.
SPEC_COLUMNS = {
    "customers": [
        ("customer_id", "INTEGER"),
        ("first_name", "VARCHAR(100)"),
        ("last_name", "VARCHAR(100)"),
        ("email", "VARCHAR(255)"),
        ("phone", "VARCHAR(50)"),
        ("company_name", "VARCHAR(255)"),
        ("address_line_1", "VARCHAR(255)"),
        ("address_line_2", "VARCHAR(255)"),
        ("city", "VARCHAR(100)"),
        ("state", "VARCHAR(100)"),
        ("postal_code", "VARCHAR(20)"),
        ("country", "VARCHAR(100)"),
        ("is_active", "TINYINT(1)"),
        ("created_at", "DATETIME"),
        ("updated_at", "DATETIME"),
    ],
    "products": [
        ("product_code", "VARCHAR(20)"),
        ("product_name", "VARCHAR(255)"),
        ("product_line", "VARCHAR(100)"),
        ("product_family", "VARCHAR(100)"),
        ("msrp", "DECIMAL(10,2)"),
        ("updated_at", "DATETIME"),
    ],
    "transactions": [
        ("transaction_id", "BIGINT"),
        ("order_number", "VARCHAR(20)"),
        ("order_line_number", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("product_code", "VARCHAR(20)"),
        ("quantity", "INTEGER"),
        ("unit_price", "DECIMAL(10,2)"),
        ("amount", "DECIMAL(12,2)"),
        ("status", "VARCHAR(20)"),
        ("territory", "VARCHAR(20)"),
        ("transaction_date", "DATETIME"),
        ("updated_at", "DATETIME"),
    ],
}
MYSQL_TYPES = {
    ("customers", "customer_id"): "int",
    ("customers", "is_active"): "tinyint(1)",
    ("customers", "updated_at"): "datetime",
    ("products", "msrp"): "decimal(10,2)",
    ("transactions", "transaction_id"): "bigint",
    ("transactions", "unit_price"): "decimal(10,2)",
    ("transactions", "amount"): "decimal(12,2)",
    ("transactions", "status"): (
        "enum('Shipped','Resolved','Cancelled','On Hold','Disputed','In Process')"
    ),
}
STATUSES = {"Shipped", "Resolved", "Cancelled", "On Hold", "Disputed", "In Process"}
PRODUCT_LINES = {
    "Classic Cars",
    "Motorcycles",
    "Planes",
    "Ships",
    "Trains",
    "Trucks and Buses",
    "Vintage Cars",
}
DECIMAL_COLUMNS = {"msrp", "unit_price", "amount"}
VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ZERO = "0000-00-00 00:00:00"


# --- fixtures --------------------------------------------------------------------------


def _generate(path: Path, **kwargs: Any) -> DemoSources:
    return generate_demo(path, **kwargs)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    return _generate(tmp_path_factory.mktemp("demo_a"), seed=42)


@pytest.fixture(scope="module")
def demo_again(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    return _generate(tmp_path_factory.mktemp("demo_b"), seed=42)


@pytest.fixture(scope="module")
def demo_double(tmp_path_factory: pytest.TempPathFactory) -> DemoSources:
    return _generate(tmp_path_factory.mktemp("demo_x2"), seed=42, scale=2.0)


@pytest.fixture(scope="module")
def db(demo: DemoSources) -> Iterator[sqlite3.Connection]:
    """The archive database with the live one attached as `l`: most edge cases are
    about how the two relate."""
    conn = sqlite3.connect(_path(demo.archive_url))
    conn.execute("attach database ? as l", (_path(demo.live_url),))
    conn.create_function("regexp", 2, _regexp)
    yield conn
    conn.close()


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and re.search(pattern, value) is not None


def _path(sqlite_url: str) -> str:
    assert sqlite_url.startswith("sqlite:///")
    return sqlite_url.removeprefix("sqlite:///")


def _one(conn: sqlite3.Connection, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


ALL_TX = "(select * from main.transactions union all select * from l.transactions)"
ALL_CUSTOMERS = "(select * from main.customers union all select * from l.customers)"


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _normalise(column: str, value: Any) -> Any:
    """One text form for SQLite and MySQL values, so the two backends compare."""
    if value is None:
        return None
    if column in DECIMAL_COLUMNS:
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _table_digest(rows: list[tuple[Any, ...]], columns: list[str]) -> str:
    normalised = sorted(
        repr(tuple(_normalise(c, v) for c, v in zip(columns, row, strict=True))) for row in rows
    )
    return hashlib.sha256("\n".join(normalised).encode()).hexdigest()


def _sqlite_digests(sources: DemoSources) -> dict[str, str]:
    digests = {}
    for name, url in (("archive", sources.archive_url), ("live", sources.live_url)):
        with sqlite3.connect(_path(url)) as conn:
            for table in [*SPEC_COLUMNS, "order_notes"]:
                cursor = conn.execute(f"select * from {table}")
                columns = [d[0] for d in cursor.description]
                digests[f"{name}.{table}"] = _table_digest(cursor.fetchall(), columns)
    return digests


# --- API and determinism ---------------------------------------------------------------


def test_returns_absolute_sqlite_urls_and_landing_folder(demo: DemoSources) -> None:
    for url in (demo.archive_url, demo.live_url):
        path = Path(_path(url))
        assert path.is_absolute() and path.is_file()
    assert Path(_path(demo.archive_url)).name == "archive.sqlite"
    assert Path(_path(demo.live_url)).name == "live.sqlite"
    assert demo.landing_dir.is_dir() and demo.landing_dir.name == "landing"
    # no temporary files left behind
    assert sorted(p.name for p in demo.landing_dir.parent.iterdir()) == [
        "archive.sqlite",
        "landing",
        "live.sqlite",
    ]


def test_same_seed_gives_identical_bytes_and_rows(
    demo: DemoSources, demo_again: DemoSources
) -> None:
    root_a, root_b = demo.landing_dir.parent, demo_again.landing_dir.parent
    files_a, files_b = _files(root_a), _files(root_b)
    assert files_a.keys() == files_b.keys()
    for name, content in files_a.items():
        assert content == files_b[name], name
    assert _sqlite_digests(demo) == _sqlite_digests(demo_again)


def test_other_seed_gives_other_data(demo: DemoSources, tmp_path: Path) -> None:
    other = _generate(tmp_path, seed=7)
    digests, other_digests = _sqlite_digests(demo), _sqlite_digests(other)
    assert digests["archive.transactions"] != other_digests["archive.transactions"]
    assert digests["live.customers"] != other_digests["live.customers"]
    assert Path(_path(demo.archive_url)).read_bytes() != Path(_path(other.archive_url)).read_bytes()
    surveys = "surveys/surveys_2023_q4.csv"
    assert (demo.landing_dir / surveys).read_bytes() != (other.landing_dir / surveys).read_bytes()


def test_rerun_replaces_databases_and_landing(tmp_path: Path) -> None:
    (tmp_path / "landing" / "old").mkdir(parents=True)
    (tmp_path / "landing" / "old" / "stale.csv").write_text("x\n")
    (tmp_path / "archive.sqlite").write_bytes(b"not a database")
    sources = _generate(tmp_path, seed=3, scale=0.25)
    assert not (tmp_path / "landing" / "old").exists()
    with sqlite3.connect(_path(sources.archive_url)) as conn:
        assert _one(conn, "select count(*) from customers") > 0


def test_progress_reports_every_step(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    _generate(tmp_path, seed=1, scale=0.25, progress=lambda *call: calls.append(call))
    steps = {step for step, _, _ in calls}
    assert {"products", "customers", "transactions", "order_notes", "landing"} <= steps
    for step in steps:
        last = [call for call in calls if call[0] == step][-1]
        assert last[1] == last[2], last
    assert all(0 <= done <= total for _, done, total in calls)


def test_scale_multiplies_row_counts(demo: DemoSources, demo_double: DemoSources) -> None:
    def counts(sources: DemoSources) -> dict[str, int]:
        out = {}
        for name, url in (("archive", sources.archive_url), ("live", sources.live_url)):
            with sqlite3.connect(_path(url)) as conn:
                for table in ("customers", "transactions"):
                    out[f"{name}.{table}"] = _one(conn, f"select count(*) from {table}")
        landing = sources.landing_dir
        for folder in ("surveys", "expenses"):
            out[folder] = sum(
                len(list(csv.reader(io.StringIO(p.read_text("utf-8-sig")), delimiter=",")))
                for p in (landing / folder).glob("*.csv")
            )
        return out

    single, double = counts(demo), counts(demo_double)
    for key, value in single.items():
        assert 1.6 <= double[key] / value <= 2.4, (key, value, double[key])
    customers = single["archive.customers"] + single["live.customers"]
    assert 400 <= customers <= 600  # about 400 ids, some in both databases
    with sqlite3.connect(_path(demo.archive_url)) as conn:
        conn.execute("attach database ? as l", (_path(demo.live_url),))
        lines = _one(
            conn, f"select count(distinct order_number || '/' || order_line_number) from {ALL_TX}"
        )
        products = _one(
            conn,
            "select count(*) from (select product_code from main.products "
            "union select product_code from l.products)",
        )
    assert 5_000 <= lines <= 7_000
    assert 100 <= products <= 120


# --- schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["archive", "live"])
def test_tables_have_the_spec_columns(demo: DemoSources, database: str) -> None:
    url = demo.archive_url if database == "archive" else demo.live_url
    with sqlite3.connect(_path(url)) as conn:
        tables = {
            row[0] for row in conn.execute("select name from sqlite_master where type='table'")
        }
        assert {"customers", "products", "transactions", "order_notes"} <= tables
        for table, expected in SPEC_COLUMNS.items():
            info = conn.execute(f"pragma table_info({table})").fetchall()
            assert [(row[1], row[2]) for row in info] == expected, table
            assert [row[1] for row in info if row[5]] == [expected[0][0]]  # primary key
        assert 12 <= _one(conn, "select count(*) from order_notes") <= 60
        indexes = {row[4] for row in conn.execute("select * from sqlite_master where type='index'")}
        if database == "live":
            assert any("updated_at" in (sql or "") for sql in indexes)


def test_sqlalchemy_reads_exact_cents_and_datetimes(demo: DemoSources) -> None:
    engine = sa.create_engine(demo.live_url)
    try:
        table = sa.Table("transactions", sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.quantity, table.c.unit_price, table.c.amount, table.c.updated_at)
                .where(table.c.amount.is_not(None))
                .limit(500)
            ).all()
    finally:
        engine.dispose()
    assert rows
    exact = 0
    for quantity, unit_price, amount, updated_at in rows:
        assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
        assert isinstance(updated_at, datetime)
        exact += amount == quantity * unit_price
    assert exact >= 0.95 * len(rows)


# --- archive and live overlap ----------------------------------------------------------


def test_customers_overlap_with_newer_older_and_tied_live_rows(db: sqlite3.Connection) -> None:
    changed = " or ".join(f"a.{c} is not l.{c}" for c, _ in SPEC_COLUMNS["customers"][1:-1])
    rows = db.execute(
        f"select a.updated_at, l.updated_at, ({changed}) "
        "from main.customers a join l.customers l using (customer_id) "
        "where a.updated_at <> '0000-00-00 00:00:00'"
    ).fetchall()
    newer = [r for r in rows if r[1] > r[0]]
    older = [r for r in rows if r[1] < r[0]]
    tied = [r for r in rows if r[1] == r[0]]
    assert len(newer) > len(older) >= 1 and len(tied) >= 1
    assert sum(changed for *_, changed in newer) >= 0.8 * len(newer)
    assert all(changed for *_, changed in tied)  # a tie still differs: live must win


def test_products_and_transactions_overlap(db: sqlite3.Connection) -> None:
    for table, key, changed in (
        ("products", "product_code", "a.msrp <> l.msrp or a.product_name <> l.product_name"),
        ("transactions", "transaction_id", "a.status <> l.status"),
    ):
        rows = db.execute(
            f"select sum(l.updated_at > a.updated_at), sum(l.updated_at < a.updated_at), "
            f"sum(l.updated_at = a.updated_at), sum({changed}) "
            f"from main.{table} a join l.{table} l using ({key}) "
            "where a.updated_at <> '0000-00-00 00:00:00'"
        ).fetchone()
        newer, older, tied, different = rows
        assert newer > older >= 1 and tied >= 1 and different >= 1, (table, rows)


def test_archive_has_zero_dates_and_live_none(db: sqlite3.Connection) -> None:
    customers = _one(db, f"select count(*) from main.customers where updated_at = '{ZERO}'")
    total = _one(db, "select count(*) from main.customers")
    assert 0.01 * total <= customers <= 0.1 * total
    assert _one(db, f"select count(*) from main.transactions where updated_at = '{ZERO}'") >= 2
    # an overlap pair whose archive side is a zero date
    assert (
        _one(
            db,
            "select count(*) from main.customers a join l.customers l using (customer_id) "
            f"where a.updated_at = '{ZERO}'",
        )
        >= 1
    )
    for table in ("customers", "products", "transactions"):
        assert _one(db, f"select count(*) from l.{table} where updated_at like '0000%'") == 0
    # otherwise datetimes are the text SQLAlchemy and dlt parse
    bad = _one(
        db,
        f"select count(*) from {ALL_TX} where not regexp("
        "'^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$', transaction_date)",
    )
    assert bad == 0


# --- transactions ----------------------------------------------------------------------


def test_reentered_transactions_within_and_across_databases(db: sqlite3.Connection) -> None:
    for schema in ("main", "l"):
        rows = db.execute(
            "select count(*), sum(n_upd < n) from ("
            "select order_number, order_line_number, count(*) n, "
            "count(distinct updated_at) n_upd "
            f"from {schema}.transactions group by 1, 2 having count(*) > 1)"
        ).fetchone()
        assert rows[0] >= 3, schema  # re-entered within one database
        assert rows[1] >= 1, schema  # ... some tied on updated_at
    across = db.execute(
        "select count(*), sum(a.updated_at = l.updated_at) "
        "from main.transactions a join l.transactions l "
        "using (order_number, order_line_number) where a.transaction_id <> l.transaction_id"
    ).fetchone()
    assert across[0] >= 3 and across[1] >= 1


def test_refunds_and_cancelled_orders(db: sqlite3.Connection) -> None:
    refunds = db.execute(
        f"select quantity, unit_price, amount, status, order_number from {ALL_TX} "
        "where quantity < 0"
    ).fetchall()
    assert len(refunds) >= 20
    for quantity, unit_price, amount, _, _ in refunds:
        assert amount < 0 and unit_price > 0
        assert abs(amount - quantity * unit_price) < 0.005
    cancelled_orders = {
        row[0]
        for row in db.execute(f"select order_number from {ALL_TX} where status = 'Cancelled'")
    }
    assert sum(order in cancelled_orders for *_, order in refunds) >= 2
    statuses = {row[0] for row in db.execute(f"select distinct status from {ALL_TX}")}
    assert statuses == STATUSES


def test_orphan_and_null_keys(db: sqlite3.Connection) -> None:
    orphans = _one(
        db,
        f"select count(*) from {ALL_TX} t where t.customer_id is not null "
        "and t.customer_id not in (select customer_id from main.customers "
        "union select customer_id from l.customers)",
    )
    orphan_products = _one(
        db,
        f"select count(*) from {ALL_TX} t where t.product_code is not null "
        "and t.product_code not in (select product_code from main.products "
        "union select product_code from l.products)",
    )
    null_customers = _one(db, f"select count(*) from {ALL_TX} where customer_id is null")
    null_products = _one(db, f"select count(*) from {ALL_TX} where product_code is null")
    assert min(orphans, orphan_products, null_customers, null_products) >= 2
    # every orphan uses the documented patterns
    assert (
        _one(
            db,
            f"select count(*) from {ALL_TX} where customer_id > 9000000 and customer_id <= 9000050",
        )
        == orphans
    )
    assert _one(
        db, f"select count(*) from {ALL_TX} where product_code like 'S99\\_%' escape '\\'"
    ) == (orphan_products)


def test_rows_for_quarantine(db: sqlite3.Connection) -> None:
    assert _one(db, f"select count(*) from {ALL_TX} where quantity = 0") >= 2
    assert _one(db, f"select count(*) from {ALL_TX} where amount is null") >= 2
    mismatched = _one(
        db, f"select count(*) from {ALL_TX} where abs(amount - quantity * unit_price) > 0.011"
    )
    one_cent = _one(
        db,
        f"select count(*) from {ALL_TX} "
        "where abs(amount - quantity * unit_price) between 0.009 and 0.011",
    )
    assert mismatched >= 2 and one_cent >= 1


def test_orders_deal_sizes_territories_and_months(db: sqlite3.Connection) -> None:
    multi_line = _one(
        db,
        "select count(*) from (select order_number from "
        f"{ALL_TX} group by 1 having count(distinct order_line_number) >= 3)",
    )
    large = _one(
        db,
        f"select count(*) from (select order_number, sum(amount) s from {ALL_TX} "
        "where amount > 0 group by 1 having s >= 5000)",
    )
    small_orders = _one(
        db,
        f"select count(*) from (select order_number, sum(amount) s from {ALL_TX} "
        "where amount > 0 group by 1 having s < 5000)",
    )
    assert multi_line >= 100 and large >= 50 and small_orders >= 50
    sizes = dict(
        db.execute(
            "select case when abs(amount) < 3000 then 'Small' when abs(amount) < 7000 "
            f"then 'Medium' else 'Large' end, count(*) from {ALL_TX} "
            "where amount is not null group by 1"
        ).fetchall()
    )
    assert min(sizes.get(size, 0) for size in ("Small", "Medium", "Large")) >= 50
    territories = {row[0] for row in db.execute(f"select distinct territory from {ALL_TX}")}
    assert territories == {"NA", "EMEA", "APAC", "Japan", None}
    months = _one(db, f"select count(distinct substr(transaction_date, 1, 7)) from {ALL_TX}")
    assert months >= 36
    first, last = db.execute(
        f"select min(transaction_date), max(transaction_date) from {ALL_TX}"
    ).fetchone()
    assert first >= "2022-01-01" and last <= "2024-12-31 23:59:59"
    # archive up to the cut-over, live from the window on
    assert _one(db, "select max(transaction_date) from main.transactions") < "2024-01-01"
    for table in ("customers", "products", "transactions", "order_notes"):
        assert _one(db, f"select max(updated_at) from main.{table}") < "2024-01-01", table
    assert _one(db, "select min(transaction_date) from l.transactions") >= "2023-11-01"


def test_the_tests_copy_of_the_first_live_transaction(demo: DemoSources, tmp_path: Path) -> None:
    """``copy_first_live_transaction`` (tests/python/pipeline_helpers.py), the live
    insert the Spark tests make: exactly one row more, the first transaction's but for
    its id, order number and ``updated_at``."""
    live = tmp_path / "live.sqlite"
    shutil.copyfile(_path(demo.live_url), live)
    with sqlite3.connect(live) as conn:
        before = conn.execute("select * from transactions order by transaction_id").fetchall()
        new_id = _one(conn, "select max(transaction_id) from transactions") + 1000
        copy_first_live_transaction(conn, new_id)
    with sqlite3.connect(live) as conn:
        columns = [column[1] for column in conn.execute("pragma table_info(transactions)")]
        after = conn.execute("select * from transactions order by transaction_id").fetchall()
    assert after[:-1] == before
    first, added = (dict(zip(columns, row, strict=True)) for row in (before[0], after[-1]))
    assert added == {
        **first,
        "transaction_id": new_id,
        "order_number": "999999",  # a text column (VARCHAR): SQLite stores the number as text
        "updated_at": "2025-07-03 08:00:00",
    }
    assert first["order_number"] != "999999" and first["updated_at"] < "2025-07-03"


# --- customers and products ------------------------------------------------------------


def test_one_customer_under_several_ids(db: sqlite3.Connection) -> None:
    groups = db.execute(
        "select lower(trim(email)), count(distinct customer_id), count(distinct email), "
        f"group_concat(distinct customer_id) from {ALL_CUSTOMERS} "
        f"where regexp('{VALID_EMAIL}', trim(email)) group by 1 "
        "having count(distinct customer_id) > 1"
    ).fetchall()
    assert len(groups) >= 4
    assert any(ids == 3 for _, ids, _, _ in groups)
    assert all(raw > 1 for _, _, raw, _ in groups)  # the emails differ in case or spaces
    merged_ids = [int(i) for *_, ids in groups for i in ids.split(",")]
    with_tx = _one(
        db,
        f"select count(distinct customer_id) from {ALL_TX} "
        f"where customer_id in ({','.join(map(str, merged_ids))})",
    )
    assert with_tx == len(merged_ids)
    # the same invalid email on two ids must not merge them
    assert (
        _one(db, f"select count(distinct customer_id) from {ALL_CUSTOMERS} where email = 'bob@'")
        >= 2
    )


def test_customer_attributes_are_messy(db: sqlite3.Connection) -> None:
    def count(where: str) -> int:
        return _one(db, f"select count(*) from {ALL_CUSTOMERS} where {where}")

    assert count("first_name <> trim(first_name) or last_name <> trim(last_name)") >= 10
    assert count("email <> lower(trim(email))") >= 10
    assert count("email is null") >= 5
    assert count("email in ('bob@', 'no-at-sign')") >= 3
    assert count("phone like '+1 (555) %'") >= 1
    assert count("regexp('^555\\.\\d{3}\\.\\d{4}$', phone)") >= 1
    assert count("phone like '0044 20 7946 %'") >= 1
    assert count("phone is null") >= 5
    countries = {row[0] for row in db.execute(f"select distinct country from {ALL_CUSTOMERS}")}
    assert {"USA", "United States", "us", "France", "FR", "UK", "Deutschland", None} <= countries
    assert {row[0] for row in db.execute(f"select distinct is_active from {ALL_CUSTOMERS}")} == {
        0,
        1,
    }
    assert count("created_at > updated_at and updated_at <> '0000-00-00 00:00:00'") == 0
    assert count("regexp('[àâäçéèêëïîôöùûüÿñÅåØøßÆæ]', first_name || last_name)") >= 10


def test_four_byte_unicode_only_in_live(db: sqlite3.Connection) -> None:
    def four_byte(text: str | None) -> bool:
        return text is not None and any(ord(ch) > 0xFFFF for ch in text)

    archive = db.execute("select * from main.customers").fetchall()
    for row in archive:
        for value in row:
            if isinstance(value, str):
                value.encode("latin-1")  # the MySQL archive table is latin1
    live = db.execute("select first_name, last_name from l.customers").fetchall()
    assert sum(four_byte(first) or four_byte(last) for first, last in live) >= 3


def test_products(db: sqlite3.Connection) -> None:
    lines = {row[0] for row in db.execute("select distinct product_line from main.products")}
    assert lines == PRODUCT_LINES
    assert _one(db, "select count(distinct product_family) from main.products") >= 5
    assert _one(db, "select min(msrp) from main.products") > 0
    new_in_live = _one(
        db,
        "select count(*) from l.products where product_code not in "
        "(select product_code from main.products)",
    )
    assert new_in_live >= 2


# --- landing files ---------------------------------------------------------------------


def test_landing_holds_only_csv_files(demo: DemoSources) -> None:
    files = [p for p in demo.landing_dir.rglob("*") if p.is_file()]
    assert files and all(p.suffix == ".csv" for p in files)
    assert {p.parent.name for p in files} == {"landing", "surveys", "expenses"}


def test_fiscal_calendar_covers_every_transaction_date(
    demo: DemoSources, db: sqlite3.Connection
) -> None:
    main = demo.landing_dir / "fiscal_calendar.csv"
    assert main.read_bytes() == (demo.landing_dir / "fiscal_calendar_copy.csv").read_bytes()
    rows = list(csv.DictReader(main.open(encoding="utf-8", newline="")))
    assert list(rows[0]) == ["date", "fiscal_year", "fiscal_quarter", "fiscal_month", "fiscal_week"]
    days = [date.fromisoformat(r["date"]) for r in rows]
    assert all((b - a).days == 1 for a, b in zip(days, days[1:], strict=False))
    first, last = db.execute(
        f"select min(transaction_date), max(transaction_date) from {ALL_TX}"
    ).fetchone()
    assert days[0] <= date.fromisoformat(first[:10]) and days[-1] >= date.fromisoformat(last[:10])
    by_day = {r["date"]: r for r in rows}
    assert by_day["2023-02-01"] == {
        "date": "2023-02-01",
        "fiscal_year": "2024",
        "fiscal_quarter": "1",
        "fiscal_month": "1",
        "fiscal_week": "1",
    }
    assert by_day["2024-01-31"]["fiscal_year"] == "2024"
    assert by_day["2024-01-31"]["fiscal_month"] == "12"


def _survey_records(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") > 1 else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_survey_file_quirks(demo: DemoSources, db: sqlite3.Connection) -> None:
    folder = demo.landing_dir / "surveys"
    names = sorted(p.name for p in folder.glob("*.csv"))
    assert len(names) >= 8
    header = [
        "response_id",
        "customer_email",
        "submitted_at",
        "nps_score",
        "satisfaction",
        "channel",
        "comment",
    ]

    raw = {name: (folder / name).read_bytes() for name in names}
    assert [n for n, b in raw.items() if b == b""] == ["surveys_2024_q4_retry.csv"]
    assert sum(b.startswith(b"\xef\xbb\xbf") for b in raw.values()) == 1
    assert raw["surveys_2022_q1.csv"].startswith(b"\xef\xbb\xbfresponse_id,")
    assert raw["surveys_2022_q2.csv"].startswith(b"response_id;customer_email;")
    assert raw["surveys_2022_q3.csv"].count(b"\r\n") >= 2
    assert b"\r\n" not in raw["surveys_2023_q4.csv"]

    records = {name: _survey_records(folder / name) for name in names if raw[name]}
    assert records["surveys_2025_q1.csv"] == [header]
    for name, rows in records.items():
        assert rows[0] == header, name
    widths = {name: {len(r) for r in rows} for name, rows in records.items()}
    assert 8 in widths["surveys_2023_q1.csv"]
    assert 4 in widths["surveys_2023_q2.csv"]
    comments = [r[6] for rows in records.values() for r in rows[1:] if len(r) == 7]
    assert any("\n" in c for c in comments) and any('"' in c for c in comments)
    assert any("\n" in r[6] for r in records["surveys_2022_q4.csv"][1:])

    seen: dict[str, str] = {}
    duplicated = []
    for name, rows in sorted(records.items()):
        for row in rows[1:]:
            if row[0] in seen:
                duplicated.append((row[0], seen[row[0]], name))
            seen[row[0]] = name
    assert duplicated and all(first < later for _, first, later in duplicated)

    good = [r for rows in records.values() for r in rows[1:] if len(r) == 7]
    assert {r[5] for r in good} == {"email", "web", "phone", "in-store"}
    assert all(0 <= int(r[3]) <= 10 and 1 <= int(r[4]) <= 5 for r in good)
    known = {
        row[0] for row in db.execute(f"select distinct lower(trim(email)) from {ALL_CUSTOMERS}")
    }
    emails = [r[1] for r in good if r[1]]
    matching = [e for e in emails if e.strip().lower() in known]
    assert len(matching) >= 0.5 * len(emails)
    assert any(e != e.strip().lower() for e in matching)


def test_expense_file_quirks(demo: DemoSources) -> None:
    folder = demo.landing_dir / "expenses"
    rows: list[tuple[str, list[str]]] = []
    semicolon_files = 0
    for path in sorted(folder.glob("*.csv")):
        text = path.read_text("utf-8")
        delimiter = ";" if text.startswith("expense_id;") else ","
        semicolon_files += delimiter == ";"
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        assert records[0] == [
            "expense_id", "submitted_by", "department", "category",
            "amount", "currency", "expense_date", "description",
        ]  # fmt: skip
        assert all(len(r) == 8 for r in records)
        rows += [(path.name, r) for r in records[1:]]
    assert semicolon_files == 1
    amounts = [r[4] for _, r in rows]
    european = [a for a in amounts if "," in a]
    assert any(a.count(".") == 1 and a.index(".") < a.index(",") for a in european)  # 1.234,50
    assert any(name != "expenses_2023_h1.csv" for name, r in rows if "," in r[4])  # quoted
    assert all(a.replace(".", "").replace(",", "").isdigit() for a in amounts)
    assert {r[5] for _, r in rows} == {"USD", "EUR", "GBP"}
    ids = [r[0] for _, r in rows]
    assert len(ids) > len(set(ids))
    assert 200 <= len(set(ids)) <= 400


# --- MySQL -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mysql_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoSources, str]]:
    engine = sa.create_engine(MYSQL_SERVER)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:  # pragma: no cover - depends on the host
        engine.dispose()
        pytest.fail(f"no MySQL server at {MYSQL_SERVER} (`make mariadb`): {error}")
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    try:
        sources = _generate(
            tmp_path_factory.mktemp("demo_mysql"),
            seed=42,
            scale=0.5,
            mysql_url=MYSQL_SERVER + "/ignored_database",
            database_prefix=prefix,
        )
        yield sources, prefix
    finally:
        with engine.begin() as conn:
            for name in ("archive", "live"):
                conn.exec_driver_sql(f"drop database if exists `{prefix}{name}`")
        engine.dispose()


@pytest.mark.mysql
def test_mysql_types_charsets_zero_dates_and_unicode(
    mysql_demo: tuple[DemoSources, str], tmp_path: Path
) -> None:
    sources, prefix = mysql_demo
    assert sources.archive_url.endswith(f"/{prefix}archive?charset=utf8mb4")
    assert sources.live_url.endswith(f"/{prefix}live?charset=utf8mb4")
    assert sources.landing_dir.is_dir()
    engine = sa.create_engine(sources.archive_url)
    try:
        with engine.connect() as conn:
            for schema in (f"{prefix}archive", f"{prefix}live"):
                columns = conn.execute(
                    sa.text(
                        "select table_name, column_name, column_type from "
                        "information_schema.columns where table_schema = :schema "
                        "order by table_name, ordinal_position"
                    ),
                    {"schema": schema},
                ).all()
                by_table: dict[str, list[str]] = {}
                for table, column, _ in columns:
                    by_table.setdefault(table, []).append(column)
                for table, expected in SPEC_COLUMNS.items():
                    assert by_table[table] == [c for c, _ in expected], (schema, table)
                types = {(t, c): ty for t, c, ty in columns}
                for key, expected_type in MYSQL_TYPES.items():
                    # MariaDB shows int display widths, MySQL 8 does not
                    column_type = re.sub(r"^(int|bigint)\(\d+\)$", r"\1", types[key])
                    assert column_type == expected_type, (schema, key)
                engines = conn.execute(
                    sa.text(
                        "select table_name, engine, table_collation from information_schema.tables "
                        "where table_schema = :schema"
                    ),
                    {"schema": schema},
                ).all()
                for table, engine_name, collation in engines:
                    assert engine_name == "InnoDB"
                    latin1 = schema.endswith("archive") and table == "customers"
                    assert collation.startswith("latin1" if latin1 else "utf8mb4"), (schema, table)
            zero = conn.execute(
                sa.text(
                    f"select count(*) from `{prefix}archive`.customers "
                    "where cast(updated_at as char) = '0000-00-00 00:00:00'"
                )
            ).scalar_one()
            assert zero >= 2
            live_names = conn.execute(
                sa.text(f"select first_name, last_name from `{prefix}live`.customers")
            ).all()
            assert any(ord(ch) > 0xFFFF for first, last in live_names for ch in first + last)
            indexed = conn.execute(
                sa.text(
                    "select count(distinct table_name) from information_schema.statistics "
                    "where table_schema = :schema and column_name = 'updated_at'"
                ),
                {"schema": f"{prefix}live"},
            ).scalar_one()
            assert indexed >= 3

            # the same rows as the SQLite demo of the same seed and scale
            sqlite_sources = _generate(tmp_path, seed=42, scale=0.5)
            expected = _sqlite_digests(sqlite_sources)
            for name in ("archive", "live"):
                for table in [*SPEC_COLUMNS, "order_notes"]:
                    result = conn.execute(sa.text(f"select * from `{prefix}{name}`.`{table}`"))
                    digest = _table_digest([tuple(r) for r in result], list(result.keys()))
                    assert digest == expected[f"{name}.{table}"], (name, table)
    finally:
        engine.dispose()

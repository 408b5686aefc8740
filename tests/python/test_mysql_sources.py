"""MySQL as a source: the real MariaDB, hand-written rows, the real ``medallion ingest``.

Each test creates its own archive and live databases (``t<uuid>_archive``,
``t<uuid>_live``; the ``mysql_prefix`` fixture drops them) with the contract's three
tables and every quirk the contract warns about, written row by row below so each quirk
is visible: zero dates, ``tinyint(1)`` (holding a 2 as well), an ``enum`` (holding the
empty string MySQL stores for an invalid label), a ``latin1`` table with the cp1252
characters MySQL's latin1 really is, 4-byte Unicode, ``decimal(12,2)`` and
``decimal(38,10)`` at their extremes, a bigint past 2**53, a JSON column and a table
without a primary key (with two identical rows).

"Arrived as it was" is decided by checksums computed independently on each side, in
each database's own SQL: per column the count of non-null values, the sum of the
lengths of their canonical text and the sum of (a 60-bit prefix of) its MD5; per table
the multiset of per-row MD5s. JSON is compared as parsed objects in Python.
"""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pymysql
import pytest
from pipeline_helpers import MYSQL, pipeline_env, query, run_cli, summary_counts, table_rows

pytestmark = pytest.mark.mysql

SERVER = "mysql+pymysql://root:@127.0.0.1:3306"
ZERO = "0000-00-00 00:00:00"
TABLES = ["audit_log", "customers", "ledger_entries", "products", "transactions"]
PRIMARY_KEYS = {
    "customers": "customer_id",
    "products": "product_code",
    "transactions": "transaction_id",
    "ledger_entries": "entry_id",
}
JSON_COLUMNS = {"ledger_entries": ["payload"]}

# --- the schema of sources.md, plus the extra tables -----------------------------------

CUSTOMERS = """
create table customers (
    customer_id int not null primary key,
    first_name varchar(100) not null,
    last_name varchar(100) not null,
    email varchar(255) null,
    phone varchar(50) null,
    company_name varchar(255) null,
    address_line_1 varchar(255) null,
    address_line_2 varchar(255) null,
    city varchar(100) null,
    state varchar(100) null,
    postal_code varchar(20) null,
    country varchar(100) null,
    is_active tinyint(1) not null,
    created_at datetime not null,
    updated_at datetime not null
) engine=InnoDB default charset={charset}
"""
PRODUCTS = """
create table products (
    product_code varchar(20) not null primary key,
    product_name varchar(255) not null,
    product_line varchar(100) not null,
    product_family varchar(100) not null,
    msrp decimal(10,2) not null,
    updated_at datetime not null
) engine=InnoDB default charset=utf8mb4
"""
TRANSACTIONS = """
create table transactions (
    transaction_id bigint not null primary key,
    order_number varchar(20) not null,
    order_line_number int not null,
    customer_id int null,
    product_code varchar(20) null,
    quantity int not null,
    unit_price decimal(10,2) not null,
    amount decimal(12,2) not null,
    status enum('Shipped','Resolved','Cancelled','On Hold','Disputed','In Process') not null,
    territory varchar(20) null,
    transaction_date datetime not null,
    updated_at datetime not null
) engine=InnoDB default charset=utf8mb4
"""
LEDGER_ENTRIES = """
create table ledger_entries (
    entry_id int not null primary key,
    amount decimal(38,10) null,
    payload json null,
    updated_at datetime not null
) engine=InnoDB default charset=utf8mb4
"""
AUDIT_LOG = """
create table audit_log (
    logged_at datetime null,
    actor varchar(50) null,
    action varchar(100) null,
    amount decimal(12,2) null,
    updated_at datetime null
) engine=InnoDB default charset=utf8mb4
"""

CUSTOMER_COLUMNS = (
    "customer_id, first_name, last_name, email, phone, company_name, address_line_1,"
    " address_line_2, city, state, postal_code, country, is_active, created_at, updated_at"
)
TRANSACTION_COLUMNS = (
    "transaction_id, order_number, order_line_number, customer_id, product_code, quantity,"
    " unit_price, amount, status, territory, transaction_date, updated_at"
)

# The rows, one per line so that each quirk is visible. fmt: off keeps them that way.
# fmt: off
# archive customers live in a latin1 table: MySQL's latin1 is cp1252 (€, Œ, Š, …)
ARCHIVE_CUSTOMERS = [
    (1, "Zoë", "Ñúñez", " Mixed.Case@Example.COM ", "+1 (555) 010-2000", "Café Ltd",
     "1 Rue de l'Église", None, "Besançon", None, "25000", "fr", 1,
     "2019-03-01 08:00:00", ZERO),  # zero date in updated_at
    (2, "François", "Œuvre€", "francois@example.com", "555.010.2000", None,
     "Königsallee 1", "Etage 3", "Düsseldorf", "NRW", "40212", "DE", 0,
     ZERO, "2019-04-01 09:30:00"),  # zero date in created_at
    (3, "  Šárka  ", "Žižka…", None, None, None, None, None, None, None, None, None, 2,
     "1000-01-01 00:00:00", "9999-12-31 23:59:59"),  # tinyint(1) holding 2; date extremes
    (4, "", "O'Brien", "not-an-email", "", "", "", "", "", "", "", "IRL", 1,
     "2019-05-05 05:05:05", "2019-05-05 05:05:05"),  # empty strings are not NULL
    (5, "Ünal", "Öztürk", "UNAL@EXAMPLE.COM", "+41 44 555 00 00", "Çelik ‰ AG",
     "Rue «Guillemets» 1", None, "Zürich", None, "8000", "ch", 0, ZERO, ZERO),
]
# live customers are utf8mb4: 4-byte Unicode (emoji, mathematical letters, CJK ext. B)
LIVE_CUSTOMERS = [
    (1, "Zoë", "Núñez", "zoe@example.com", "+1 (555) 010-2000", "Café Ltd",
     "1 Rue de l'Église", None, "Besançon", None, "25000", "France", 1,
     "2019-03-01 08:00:00", "2024-05-01 10:00:00"),
    (10, "😀 Emoji", "Smile 🎉", "emoji@example.com", None, None, None, None, "Tromsø",
     None, None, "NO", 1, "2024-01-02 03:04:05", "2024-05-02 11:00:00"),
    (11, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠜎𠝹", "MATH@EXAMPLE.COM", "555 0100", None, None, None, None,
     None, None, "jp", 0, "2024-01-03 00:00:00", "2024-05-03 12:00:00"),
    (12, "e\u0301 combining", "Straße", None, None, None, None, None, "München", None,
     None, "de", 1, "2024-02-01 00:00:00", "2024-06-30 23:59:59"),
    (13, "Ann", "Lee", "ann@example.com", None, None, None, None, None, None, None, None, 1,
     "2024-02-02 00:00:00", "2024-06-30 23:59:59"),  # ties 12 on the newest updated_at
    (14, "Zero", "Date", None, None, None, None, None, None, None, None, None, 1,
     "2024-02-03 00:00:00", ZERO),  # no cursor value: dlt reads it on every run
]
PRODUCTS_ROWS = [
    ("S10_1678", "1969 Harley Davidson Ultimate Chopper", "Motorcycles", "Bikes", "95.70",
     "2024-01-01 00:00:00"),
    ("S12_MAX", "Most expensive thing", "Classic Cars", "Cars", "99999999.99",
     "2024-01-02 00:00:00"),  # decimal(10,2) at its maximum
    ("S18_ZERO", "Free sample ✈", "Planes", "Air", "0.00", "2024-01-03 00:00:00"),
    ("S24_CENT", "Penny item", "Ships", "Sea", "0.01", "2024-01-04 00:00:00"),
]
TRANSACTIONS_ROWS = [
    (1, "10100", 1, 1, "S10_1678", 30, "95.70", "2871.00", "Shipped", "NA",
     "2024-01-05 10:00:00", "2024-01-05 10:00:00"),
    (2, "10100", 2, 1, "S12_MAX", 100, "99999999.99", "9999999999.99", "Resolved", "EMEA",
     "2024-01-06 10:00:00", "2024-01-06 10:00:00"),  # decimal(12,2) at its maximum
    (3, "10101", 1, 10, "S24_CENT", -1, "0.01", "-0.01", "Cancelled", "APAC",
     "2024-01-07 10:00:00", "2024-01-07 10:00:00"),  # the smallest refund
    (4, "10101", 2, None, None, -100, "99999999.99", "-9999999999.99", "On Hold", None,
     "2024-01-08 10:00:00", "2024-01-08 10:00:00"),  # decimal(12,2) at its minimum
    (5, "10102", 1, 999, "S18_ZERO", 1, "0.00", "0.00", "Disputed", "Japan",
     "2024-01-09 10:00:00", "2024-01-09 10:00:00"),  # an orphan customer
    (9007199254740993, "10103", 1, 11, "S10_1678", 2, "95.70", "191.40", "In Process",
     "NA", "2024-01-10 10:00:00", "2024-01-10 10:00:00"),  # 2**53 + 1: not a float
    (7, "10104", 1, 12, "S10_1678", 1, "95.70", "95.70", "Bogus", "NA",
     "2024-01-11 10:00:00", "2024-01-11 10:00:00"),  # invalid label: MySQL stores ''
]
ARCHIVE_TRANSACTIONS_EXTRA = [
    (8, "09999", 1, 2, "S10_1678", 1, "95.70", "95.70", "Shipped", "EMEA",
     ZERO, ZERO),  # zero dates in both datetimes
]
LEDGER_ROWS = [
    (1, "1234567890123456789012345678.0123456789",
     '{"a": 1, "b": [1, 2.5, "x"], "ü": "😀", "n": null}', "2024-03-01 00:00:00"),
    (2, "9999999999999999999999999999.9999999999", "[]", "2024-03-02 00:00:00"),
    (3, "-9999999999999999999999999999.9999999999", "null", "2024-03-03 00:00:00"),
    (4, "0.0000000001", '"just a string"', "2024-03-04 00:00:00"),
    (5, "-0.0000000001", '{"big": 123456789012345678901234567890, "f": 0.1}',
     "2024-03-05 00:00:00"),
    (6, None, None, "2024-03-06 00:00:00"),  # SQL NULL, unlike entry 3's JSON null
    (7, "0.0000000000", '{"nested": {"deep": [true, false, {"k": "v"}]}}',
     "2024-03-07 00:00:00"),
]
AUDIT_ROWS = [  # no primary key
    ("2024-01-01 00:00:00", "ann", "login", None, "2024-01-01 00:00:00"),
    ("2024-01-01 00:00:00", "ann", "login", None, "2024-01-01 00:00:00"),  # a duplicate
    (None, None, None, None, None),
    ("2024-01-02 00:00:00", "bob 🚀", "refund", "-0.01", "2024-01-02 00:00:00"),
    ("2024-01-03 00:00:00", "cy", "sale", "9999999999.99", "2024-01-03 00:00:00"),
]
ARCHIVE_AUDIT_EXTRA = [(ZERO, "old", "migrated", "1.00", ZERO)]
# fmt: on


def _mysql(database: str | None = None) -> pymysql.Connection:
    return pymysql.connect(**MYSQL, database=database, charset="utf8mb4", autocommit=True)


def _insert(cursor: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    marks = ", ".join(["%s"] * len(rows[0]))
    names = "" if columns == "*" else f" ({columns})"
    cursor.executemany(f"insert into {table}{names} values ({marks})", rows)


def _create_database(name: str, customers_charset: str) -> None:
    conn = _mysql()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"create database `{name}` character set utf8mb4")
            cursor.execute(f"use `{name}`")
            cursor.execute("set session sql_mode = ''")  # zero dates, '' for a bad enum
            for ddl in (
                CUSTOMERS.format(charset=customers_charset),
                PRODUCTS,
                TRANSACTIONS,
                LEDGER_ENTRIES,
                AUDIT_LOG,
            ):
                cursor.execute(ddl)
    finally:
        conn.close()


@dataclass
class Sources:
    """One test's pair of MySQL databases and the environment that ingests them."""

    archive: str
    live: str
    env: dict[str, str]

    @property
    def warehouse(self) -> Path:
        return Path(self.env["MEDALLION_DUCKDB_PATH"])


def _url(database: str, user: str = "root", password: str = "") -> str:
    return f"mysql+pymysql://{user}:{quote(password, safe='')}@127.0.0.1:3306/{database}"


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "fiscal_calendar_2024.csv").write_text(
        "date,fiscal_year,fiscal_quarter,fiscal_month,fiscal_week\n2024-01-01,2024,1,1,1\n"
    )
    return landing


@pytest.fixture
def sources(mysql_prefix: str, tmp_path: Path) -> Sources:
    """The archive (latin1 customers, zero dates) and live (utf8mb4) databases."""
    archive, live = f"{mysql_prefix}archive", f"{mysql_prefix}live"
    _create_database(archive, "latin1")
    _create_database(live, "utf8mb4")
    for database, customers, transactions, audit in [
        (
            archive,
            ARCHIVE_CUSTOMERS,
            TRANSACTIONS_ROWS + ARCHIVE_TRANSACTIONS_EXTRA,
            AUDIT_ROWS + ARCHIVE_AUDIT_EXTRA,
        ),
        (live, LIVE_CUSTOMERS, TRANSACTIONS_ROWS, AUDIT_ROWS),
    ]:
        conn = _mysql(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute("set session sql_mode = ''")
                _insert(cursor, "customers", CUSTOMER_COLUMNS, customers)
                _insert(
                    cursor,
                    "products",
                    "product_code, product_name, product_line, product_family, msrp, updated_at",
                    PRODUCTS_ROWS,
                )
                _insert(cursor, "transactions", TRANSACTION_COLUMNS, transactions)
                _insert(
                    cursor, "ledger_entries", "entry_id, amount, payload, updated_at", LEDGER_ROWS
                )
                _insert(
                    cursor,
                    "audit_log",
                    "logged_at, actor, action, amount, updated_at",
                    audit,
                )
        finally:
            conn.close()
    env = pipeline_env(tmp_path, _url(archive), _url(live), _landing(tmp_path))
    return Sources(archive=archive, live=live, env=env)


def _execute(database: str, *statements: str) -> None:
    conn = _mysql(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("set session sql_mode = ''")
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


# --- checksums, each side in its own SQL ------------------------------------------------


def _mysql_canonical(column: str, data_type: str) -> str:
    """A column's value as canonical text in MySQL; zero dates are NULL by contract."""
    quoted = f"`{column}`"
    if data_type in ("datetime", "timestamp", "date"):
        pattern = "%Y-%m-%d" if data_type == "date" else "%Y-%m-%d %H:%i:%s.%f"
        return (  # a zero date, or one with a zero month or day, is no date
            f"case when month({quoted}) = 0 or dayofmonth({quoted}) = 0 then null"
            f" else date_format({quoted}, '{pattern}') end"
        )
    if data_type in ("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "year"):
        return f"cast({quoted} as char)"
    if data_type == "bit":
        return f"cast(cast({quoted} as unsigned) as char)"
    if data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
        return f"hex({quoted})"
    return f"convert({quoted} using utf8mb4)"  # text, enum, set, time: MySQL's own text


def _duckdb_canonical(column: str, data_type: str) -> str:
    """A column's value as canonical text in DuckDB, read from the type it landed as."""
    quoted = f'"{column}"'
    if data_type == "TIMESTAMP WITH TIME ZONE":
        return f"strftime(timezone('UTC', {quoted}), '%Y-%m-%d %H:%M:%S.%f')"
    if data_type.startswith("TIMESTAMP"):
        return f"strftime({quoted}, '%Y-%m-%d %H:%M:%S.%f')"
    if data_type == "DATE":
        return f"strftime({quoted}, '%Y-%m-%d')"
    if data_type == "BLOB":
        return f"hex({quoted})"
    return f"cast({quoted} as varchar)"  # numbers, decimals; a boolean would read 'true'


@dataclass
class Checksum:
    rows: int
    columns: dict[str, tuple[int, int, int]]  # non-null, sum of lengths, sum of md5 prefixes
    row_hashes: list[str]


def _checksum_sql(
    canonical: dict[str, str], table: str, md5_number: str, length: str, where: str
) -> tuple[str, str]:
    parts = ["count(*)"]
    for expression in canonical.values():
        parts += [
            f"count({expression})",
            f"coalesce(sum({length}({expression})), 0)",
            f"coalesce(sum({md5_number.format(expression)}), 0)",
        ]
    row_text = ", ".join(f"coalesce({e}, '<null>')" for e in canonical.values())
    return (
        f"select {', '.join(parts)} from {table} {where}",
        f"select md5(concat_ws('|', {row_text})) from {table} {where}",
    )


def _to_checksum(columns: list[str], aggregate: tuple[Any, ...], hashes: list[Any]) -> Checksum:
    values = [int(v) for v in aggregate]
    return Checksum(
        rows=values[0],
        columns={c: tuple(values[1 + 3 * i : 4 + 3 * i]) for i, c in enumerate(columns)},
        row_hashes=sorted(h[0] for h in hashes),
    )


def mysql_checksum(database: str, table: str) -> Checksum:
    conn = _mysql(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (database, table),
            )
            types = {
                name: kind
                for name, kind in cursor.fetchall()
                if name not in JSON_COLUMNS.get(table, [])
            }
            canonical = {c: _mysql_canonical(c, t) for c, t in types.items()}
            aggregate_sql, hashes_sql = _checksum_sql(
                canonical,
                f"`{table}`",
                "cast(conv(substr(md5({}), 1, 15), 16, 10) as unsigned)",
                "char_length",
                "",
            )
            cursor.execute(aggregate_sql)
            aggregate = cursor.fetchone()
            cursor.execute(hashes_sql)
            return _to_checksum(list(canonical), aggregate, list(cursor.fetchall()))
    finally:
        conn.close()


def duckdb_checksum(warehouse: Path, schema: str, table: str, where: str = "") -> Checksum:
    types = {
        name: kind
        for name, kind in query(
            warehouse,
            "select column_name, data_type from information_schema.columns"
            f" where table_schema = '{schema}' and table_name = '{table}'"
            " order by ordinal_position",
        )
        if not name.startswith("_dlt") and name not in JSON_COLUMNS.get(table, [])
    }
    canonical = {c: _duckdb_canonical(c, t) for c, t in types.items()}
    aggregate_sql, hashes_sql = _checksum_sql(
        canonical,
        f"{schema}.{table}",
        "cast('0x' || substr(md5({}), 1, 15) as ubigint)",
        "length",
        where,
    )
    aggregate = query(warehouse, aggregate_sql)[0]
    return _to_checksum(list(canonical), aggregate, query(warehouse, hashes_sql))


def assert_same_content(database: str, warehouse: Path, schema: str, table: str) -> None:
    """Row count, per-column checksums and the multiset of row hashes are equal."""
    source = mysql_checksum(database, table)
    landed = duckdb_checksum(warehouse, schema, table)
    assert landed.rows == source.rows, f"{schema}.{table}: row counts differ"
    assert set(landed.columns) == set(source.columns), f"{schema}.{table}: columns differ"
    differing = {
        c: (source.columns[c], landed.columns[c])
        for c in source.columns
        if source.columns[c] != landed.columns[c]
    }
    assert not differing, f"{schema}.{table}: (mysql, duckdb) checksums differ: {differing}"
    assert landed.row_hashes == source.row_hashes, f"{schema}.{table}: rows differ"


def _json_values(rows: list[tuple[Any, ...]]) -> dict[Any, Any]:
    """JSON text (or DuckDB JSON) by key, parsed; SQL NULL stays None, JSON null is 'null'."""
    parsed = {}
    for key, value in rows:
        if value is None:
            parsed[key] = None
        else:
            parsed[key] = ("json", json.loads(value if isinstance(value, str) else str(value)))
    return parsed


def assert_same_json(database: str, warehouse: Path, schema: str) -> None:
    conn = _mysql(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("select entry_id, payload from ledger_entries")
            source = _json_values(list(cursor.fetchall()))
    finally:
        conn.close()
    landed = _json_values(
        query(warehouse, f"select entry_id, payload from {schema}.ledger_entries")
    )
    assert landed == source


# --- 1 and 2: every value arrives as it was ---------------------------------------------


def test_every_table_arrives_with_every_value_as_it_was(sources: Sources) -> None:
    result = run_cli(["ingest"], sources.env)

    counts = summary_counts(result.stdout)
    for database, schema in [(sources.archive, "raw_archive"), (sources.live, "raw_live")]:
        for table in TABLES:
            expected = mysql_checksum(database, table).rows
            assert counts[f"{schema}.{table}"] == (expected, expected), result.stdout
            assert_same_content(database, sources.warehouse, schema, table)
        assert_same_json(database, sources.warehouse, schema)


def test_quirks_arrive_as_documented(sources: Sources) -> None:
    run_cli(["ingest", "--only", "archive", "live"], sources.env)
    warehouse = sources.warehouse

    # zero dates arrive as NULL: exactly the rows MySQL itself answers `is null` for
    zero = _fetch(
        sources.archive,
        "select customer_id, created_at = 0, updated_at = 0 from customers"
        " where created_at is null or updated_at is null",
    )
    assert sorted(zero) == [(1, 0, 1), (2, 1, 0), (5, 1, 1)]
    assert query(
        warehouse,
        "select customer_id, created_at is null, updated_at is null from raw_archive.customers"
        " where created_at is null or updated_at is null order by 1",
    ) == [(1, False, True), (2, True, False), (5, True, True)]
    assert query(
        warehouse,
        "select transaction_date, updated_at from raw_archive.transactions"
        " where transaction_id = 8",
    ) == [(None, None)]
    # the date extremes survive
    assert query(
        warehouse,
        "select strftime(created_at, '%Y-%m-%d %H:%M:%S'),"
        " strftime(updated_at, '%Y-%m-%d %H:%M:%S')"
        " from raw_archive.customers where customer_id = 3",
    ) == [("1000-01-01 00:00:00", "9999-12-31 23:59:59")]
    # tinyint(1) is an integer, so the 2 is still a 2
    assert query(
        warehouse, "select customer_id, is_active from raw_archive.customers order by 1"
    ) == [(1, 1), (2, 0), (3, 2), (4, 1), (5, 0)]
    # the enum is text, including the '' MySQL stored for an invalid label
    assert query(
        warehouse, "select transaction_id, status from raw_live.transactions order by 1"
    ) == [
        (1, "Shipped"),
        (2, "Resolved"),
        (3, "Cancelled"),
        (4, "On Hold"),
        (5, "Disputed"),
        (7, ""),
        (9007199254740993, "In Process"),
    ]
    # latin1 (cp1252) and 4-byte Unicode, character for character; the archive table
    # really holds one cp1252 byte per character, and MySQL lost none of them to '?'
    assert _fetch(
        sources.archive, "select hex(last_name) from customers where customer_id = 2"
    ) == [("Œuvre€".encode("cp1252").hex().upper(),)]
    assert _fetch(
        sources.archive,
        "select count(*) from customers where concat_ws('', first_name, last_name,"
        " company_name, address_line_1, city) like '%?%'",
    ) == [(0,)]
    assert query(
        warehouse, "select first_name, last_name from raw_archive.customers where customer_id = 2"
    ) == [("François", "Œuvre€")]
    assert query(
        warehouse,
        "select first_name, last_name from raw_live.customers where customer_id in (10, 11)"
        " order by customer_id",
    ) == [("😀 Emoji", "Smile 🎉"), ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠜎𠝹")]
    # decimals keep their precision and scale, as decimals
    assert query(
        warehouse,
        "select amount, typeof(amount) from raw_live.transactions where transaction_id in (2, 3, 4)"
        " order by transaction_id",
    ) == [
        (Decimal("9999999999.99"), "DECIMAL(12,2)"),
        (Decimal("-0.01"), "DECIMAL(12,2)"),
        (Decimal("-9999999999.99"), "DECIMAL(12,2)"),
    ]
    assert query(
        warehouse,
        "select amount, typeof(amount) from raw_archive.ledger_entries order by entry_id",
    ) == [(None if v is None else Decimal(v), "DECIMAL(38,10)") for _, v, _, _ in LEDGER_ROWS]
    # JSON arrives usable: DuckDB parses it in SQL; JSON null is not SQL NULL
    assert query(
        warehouse,
        "select entry_id, json_extract_string(payload, '$.ü'), payload is null"
        " from raw_live.ledger_entries where entry_id in (1, 3, 6) order by 1",
    ) == [(1, "😀", False), (3, None, False), (6, None, True)]
    # the table without a primary key arrives whole, duplicates and all-null row included
    for schema, expected in [("raw_archive", len(AUDIT_ROWS) + 1), ("raw_live", len(AUDIT_ROWS))]:
        assert query(
            warehouse,
            f"select count(*), count(*) filter (where actor = 'ann') from {schema}.audit_log",
        ) == [(expected, 2)]


# fmt: off
LEGACY_TYPES = """
create table legacy_types (
    id int not null primary key,
    wide decimal(65,30) null,
    wide_money decimal(40,2) null,
    big_unsigned bigint unsigned null,
    int_unsigned int unsigned null,
    flag bit(1) null,
    bits bit(8) null,
    yr year null,
    duration time null,
    fine_duration time(6) null,
    tags set('a','b','c') null,
    raw_bytes blob null,
    fine_at datetime(6) null,
    day date null,
    code char(3) character set latin1 null
) engine=InnoDB default charset=utf8mb4
"""
LEGACY_ROWS = [
    (1, "12345678901234567890123456789012345.123456789012345678901234567890",
     "12345678901234567890123456789012345678.12", 18446744073709551615, 4294967295,
     b"\x01", b"\xaa", 2024, "-838:59:59", "838:59:59.999999", "a,c", b"\x00\xff\x10",
     "2024-01-01 10:00:00.123456", "0000-00-00", "€ä"),
    (2, "-0.000000000000000000000000000001", "-0.01", 9223372036854775808, 0,
     b"\x00", b"\x00", 1901, "00:00:00", "-00:00:00.000001", "", b"",
     "0000-00-00 00:00:00.000000", "2024-02-00", ""),  # a zero day is no date either
    (3, None, None, None, None, None, None, None, None, None, None, None, None,
     "2024-02-29", None),
]
# fmt: on


def test_mysql_types_beyond_the_contract_arrive_whole(sources: Sources) -> None:
    """Other tables of the archive may use any MySQL type; none may fail the load or
    arrive changed: a TIME is a duration up to 838 hours (text, not a time of day), a SET
    its text, a DECIMAL wider than 38 digits its exact text, a BIGINT UNSIGNED a
    DECIMAL(20,0)."""
    _execute(sources.archive, LEGACY_TYPES)
    conn = _mysql(sources.archive)
    try:
        with conn.cursor() as cursor:
            cursor.execute("set session sql_mode = ''")
            _insert(cursor, "legacy_types", "*", LEGACY_ROWS)
    finally:
        conn.close()

    run_cli(["ingest", "--only", "archive"], sources.env)

    assert_same_content(sources.archive, sources.warehouse, "raw_archive", "legacy_types")
    assert query(
        sources.warehouse,
        "select big_unsigned, typeof(big_unsigned), duration, tags, wide"
        " from raw_archive.legacy_types where id = 1",
    ) == [
        (
            Decimal("18446744073709551615"),
            "DECIMAL(20,0)",
            "-838:59:59",
            "a,c",
            "12345678901234567890123456789012345.123456789012345678901234567890",
        )
    ]


def _fetch(database: str, sql: str) -> list[tuple[Any, ...]]:
    conn = _mysql(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        conn.close()


# --- connectorx, the default reader of MySQL sources -------------------------------------

# fmt: off
CONNECTORX_PITFALLS = """
create table pitfalls (
    id int not null primary key,
    zero_at datetime null,
    impossible_at datetime null,
    zero_month date null,
    stamp timestamp null,
    fine_at datetime(6) null,
    money decimal(12,2) null,
    envelope decimal(28,10) null,
    too_long decimal(29,10) null,
    too_fine decimal(38,12) null,
    twenty decimal(20,0) null,
    eighteen decimal(18,0) null,
    single float null,
    twice double null,
    flag bit(1) null,
    bits bit(16) null,
    yr year null,
    fixed binary(4) null,
    var varbinary(8) null,
    payload blob null,
    big_unsigned bigint unsigned null,
    int_unsigned int unsigned null,
    duration time(6) null,
    tags set('a','b','c') null,
    state enum('on','off') null,
    doc json null
) engine=InnoDB default charset=utf8mb4
"""
PITFALL_ROWS = [
    (1, ZERO, "2024-02-30 10:00:00", "2024-00-10", "2024-01-01 00:00:00",
     "2024-01-01 10:00:00.123456", "9999999999.99", "999999999999999999.9999999999",
     "9999999999999999999.9999999999", "12345678901234567890123456.123456789012",
     "99999999999999999999", "999999999999999999", 1.1, 0.1, b"\x01", b"\xff\xff", 2155,
     b"ab", b"\x00\xff", b"\x00", 18446744073709551615, 4294967295, "-838:59:59.000000",
     "a,c", "off", '{"k": "ü😀", "n": 1.5}'),
    (2, "1000-01-01 00:00:00", "2023-02-29 00:00:00", "0001-01-01", "1970-01-02 00:00:00",
     "9999-12-31 23:59:59.999999", "-0.01", "-0.0000000001",
     "-9999999999999999999.9999999999", "-0.000000000001", "-99999999999999999999",
     "-999999999999999999", -2.5, 123456789.125, b"\x00", b"\x00\x00", 1901,
     b"\x00\x00\x00\x00", b"", b"", 0, 0, "838:59:59.999999", "", "on", "[]"),
    (3, *([None] * 25)),
]
# fmt: on


def _create_pitfalls(database: str) -> None:
    conn = _mysql(database)
    try:
        with conn.cursor() as cursor:
            # zero dates, a zero month and (ALLOW_INVALID_DATES) a 30th of February
            cursor.execute("set session sql_mode = 'ALLOW_INVALID_DATES'")
            cursor.execute(CONNECTORX_PITFALLS)
            _insert(cursor, "pitfalls", "*", PITFALL_ROWS)
    finally:
        conn.close()


def _landed(warehouse: Path, table: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A raw table's column types and rows (without dlt's own columns), by id."""
    types = query(
        warehouse,
        "select column_name, data_type from information_schema.columns"
        f" where table_schema = 'raw_archive' and table_name = '{table}'"
        " and column_name not like '\\_dlt%' escape '\\' order by ordinal_position",
    )
    names = ", ".join(f'"{name}"' for name, _ in types)
    return types, query(warehouse, f"select {names} from raw_archive.{table} order by id")


def test_connectorx_is_the_default_for_mysql_and_pyarrow_for_sqlite(
    sources: Sources, tmp_path: Path
) -> None:
    """``auto`` reads MySQL with connectorx (every table of the sources, in a real
    extraction) and anything else with pyarrow."""
    from ingestion import sql_sources

    engine = sql_sources.make_engine(_url(sources.archive))
    sqlite = sql_sources.make_engine(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    try:
        assert sql_sources.resolve_backend("auto", engine) == "connectorx"
        assert sql_sources.resolve_backend("auto", sqlite) == "pyarrow"
        assert sql_sources.resolve_backend("pyarrow", engine) == "pyarrow"
        sql_sources.READ_WITH.clear()
        source = sql_sources._sql_database(engine, TABLES, "auto", 1000)
        rows = {
            name: sum(item.num_rows for item in resource)
            for name, resource in source.resources.items()
        }
    finally:
        engine.dispose()
        sqlite.dispose()
    assert dict(sql_sources.READ_WITH) == dict.fromkeys(TABLES, "connectorx")
    assert rows == {t: mysql_checksum(sources.archive, t).rows for t in TABLES}


def test_connectorx_pitfalls_land_as_the_pyarrow_backend_lands_them(
    sources: Sources, tmp_path: Path
) -> None:
    """Zero and impossible dates, decimals inside and outside connectorx's envelope
    (18 integer digits, scale 10), FLOAT, DOUBLE, BIT, YEAR, binaries, unsigned
    integers, TIME, SET, ENUM and JSON: read with connectorx (the default), every column
    lands with the type and every value the pyarrow backend (PyMySQL) gives it."""
    _create_pitfalls(sources.archive)
    assert _fetch(  # MySQL really holds the impossible dates
        sources.archive,
        "select cast(impossible_at as char), cast(zero_month as char) from pitfalls where id = 1",
    ) == [("2024-02-30 10:00:00", "2024-00-10")]
    run_cli(["ingest", "--only", "archive"], sources.env)
    by_pyarrow = {
        **sources.env,
        "SOURCES__ARCHIVE__BACKEND": "pyarrow",
        "MEDALLION_DUCKDB_PATH": str(tmp_path / "pyarrow" / "medallion.duckdb"),
    }
    run_cli(["ingest", "--only", "archive"], by_pyarrow)

    types, rows = _landed(sources.warehouse, "pitfalls")
    assert (types, rows) == _landed(Path(by_pyarrow["MEDALLION_DUCKDB_PATH"]), "pitfalls")
    assert_same_content(sources.archive, sources.warehouse, "raw_archive", "transactions")
    column = {name: index for index, (name, _) in enumerate(types)}
    first, second, nulls = rows
    # a zero date, a 30th of February and a zero month are NULL; the extremes survive
    assert [first[column[c]] for c in ("zero_at", "impossible_at", "zero_month")] == [None] * 3
    assert second[column["impossible_at"]] is None  # 2023 has no 29th of February
    assert str(second[column["zero_month"]]) == "0001-01-01"
    assert str(second[column["fine_at"]]) == "9999-12-31 23:59:59.999999"
    # decimals at their own precision and scale, exact, in and out of the envelope
    assert {
        c: dict(types)[c]
        for c in ("money", "envelope", "too_long", "too_fine", "twenty", "eighteen", "big_unsigned")
    } == {
        "money": "DECIMAL(12,2)",
        "envelope": "DECIMAL(28,10)",
        "too_long": "DECIMAL(29,10)",
        "too_fine": "DECIMAL(38,12)",
        "twenty": "DECIMAL(20,0)",
        "eighteen": "DECIMAL(18,0)",
        "big_unsigned": "DECIMAL(20,0)",
    }
    for row, source in ((first, PITFALL_ROWS[0]), (second, PITFALL_ROWS[1])):
        for name in ("money", "envelope", "too_long", "too_fine", "twenty", "eighteen"):
            assert row[column[name]] == Decimal(source[column[name]]), name
    assert first[column["big_unsigned"]] == Decimal(18446744073709551615)
    # FLOAT as MySQL prints it (not its float32 widened), DOUBLE exact, both DOUBLE
    assert (dict(types)["single"], dict(types)["twice"]) == ("DOUBLE", "DOUBLE")
    assert [(r[column["single"]], r[column["twice"]]) for r in rows] == [
        (1.1, 0.1),
        (-2.5, 123456789.125),
        (None, None),
    ]
    # BIT and YEAR as numbers; binaries as bytes; TIME and SET as MySQL's text
    assert [(r[column["flag"]], r[column["bits"]], r[column["yr"]]) for r in rows] == [
        (1, 65535, 2155),
        (0, 0, 1901),
        (None, None, None),
    ]
    assert [bytes(first[column[c]]) for c in ("fixed", "var", "payload")] == [
        b"ab\x00\x00",
        b"\x00\xff",
        b"\x00",
    ]
    assert (first[column["duration"]], first[column["tags"]], first[column["state"]]) == (
        "-838:59:59.000000",
        "a,c",
        "off",
    )
    assert json.loads(first[column["doc"]]) == {"k": "ü😀", "n": 1.5}
    assert set(nulls[1:]) == {None}


def test_a_table_with_a_type_connectorx_cannot_read_falls_back_to_pyarrow(
    sources: Sources,
) -> None:
    """A spatial column (SQLAlchemy does not even reflect it) makes its table alone
    fall back to the pyarrow backend; its bytes arrive as MySQL holds them."""
    from ingestion import sql_sources

    _execute(
        sources.archive,
        "create table places (id int not null primary key, spot point null)",
        "insert into places values (1, point(1.5, -2)), (2, null)",
    )
    run_cli(["ingest", "--only", "archive"], sources.env)
    assert query(sources.warehouse, "select id, hex(spot) from raw_archive.places order by id") == [
        (1, _fetch(sources.archive, "select hex(spot) from places where id = 1")[0][0]),
        (2, None),
    ]

    engine = sql_sources.make_engine(_url(sources.archive))
    try:
        sql_sources.READ_WITH.clear()
        source = sql_sources._sql_database(engine, ["places", "products"], "auto", 1000)
        for resource in source.resources.values():
            list(resource)
    finally:
        engine.dispose()
    assert sql_sources.READ_WITH == {"places": "pyarrow", "products": "connectorx"}


@pytest.fixture
def url_password_user(sources: Sources) -> Iterator[tuple[str, str]]:
    """A real MariaDB user whose password holds every URL-special character."""
    user = f"t{uuid.uuid4().hex[:8]}_cx"
    password = "p@ss:w/rd%40?#&+ ;'"
    conn = _mysql()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"create user '{user}'@'%%' identified by %s", (password,))
            cursor.execute(f"grant select on `{sources.archive}`.* to '{user}'@'%'")
    finally:
        conn.close()
    try:
        yield user, password
    finally:
        _execute(sources.archive, f"drop user if exists '{user}'@'%'")


def test_connectorx_reads_with_a_password_full_of_url_characters(
    sources: Sources, url_password_user: tuple[str, str]
) -> None:
    from ingestion import sql_sources

    user, password = url_password_user
    sources.env["SOURCES__ARCHIVE__CREDENTIALS"] = _url(sources.archive, user, password)
    result = run_cli(["ingest", "--only", "archive"], sources.env)
    output = result.stdout + result.stderr
    for secret in (password, quote(password, safe=""), quote(password)):
        assert secret not in output
    assert_same_content(sources.archive, sources.warehouse, "raw_archive", "customers")

    engine = sql_sources.make_engine(_url(sources.archive, user, password))
    try:
        sql_sources.READ_WITH.clear()
        source = sql_sources._sql_database(engine, ["products"], "auto", 1000)
        rows = sum(item.num_rows for item in source.resources["products"])
    finally:
        engine.dispose()
    assert (rows, sql_sources.READ_WITH) == (len(PRODUCTS_ROWS), {"products": "connectorx"})


def test_a_connectorx_error_names_the_table_and_never_the_password(
    sources: Sources, url_password_user: tuple[str, str]
) -> None:
    """A read that fails inside connectorx (the table dropped after dlt reflected it)
    is one line naming the table; whatever connectorx says, the password is hidden."""
    from ingestion import sql_sources

    user, password = url_password_user
    engine = sql_sources.make_engine(_url(sources.archive, user, password))
    try:
        source = sql_sources._sql_database(engine, ["products"], "connectorx", 1000)
        _execute(sources.archive, "drop table products")
        with pytest.raises(Exception) as failure:
            list(source.resources["products"])
    finally:
        engine.dispose()
    cause = failure.value
    while not isinstance(cause, sql_sources.ConnectorXFailed) and cause.__cause__:
        cause = cause.__cause__
    assert isinstance(cause, sql_sources.ConnectorXFailed), repr(failure.value)
    assert "table 'products'" in str(cause) and "doesn't exist" in str(cause), str(cause)
    url = sql_sources.make_engine(_url(sources.archive, user, password)).url
    message = f"bad {sql_sources.connectorx_url(url)} or {password} or {quote(password)}"
    redacted = sql_sources._redact_secret(message, url)
    assert password not in redacted and quote(password, safe="") not in redacted
    assert f"mysql://{user}:***@127.0.0.1:3306/" in redacted


def test_an_unknown_backend_is_named(sources: Sources) -> None:
    sources.env["SOURCES__ARCHIVE__BACKEND"] = "fastest"
    result = run_cli(["ingest", "--only", "archive"], sources.env, expect=2)
    assert "SOURCES__ARCHIVE__BACKEND" in result.stdout and "'fastest'" in result.stdout


# --- 3: live incremental sync ------------------------------------------------------------


def _live_matches_raw_minus_deletions(sources: Sources) -> None:
    """Raw live, without the rows tombstoned as deleted, is exactly the live database."""
    has_deletions = query(
        sources.warehouse,
        "select count(*) from information_schema.tables"
        " where table_schema = 'raw_live' and table_name = '_medallion_deletions'",
    ) == [(1,)]
    for table in TABLES:
        where = ""
        if table in PRIMARY_KEYS and has_deletions:
            where = (
                f"where cast({PRIMARY_KEYS[table]} as varchar) not in (select primary_key"
                " from raw_live._medallion_deletions"
                f" where table_name = '{table}' and is_deleted)"
            )
        source = mysql_checksum(sources.live, table)
        landed = duckdb_checksum(sources.warehouse, "raw_live", table, where)
        assert (landed.rows, landed.columns) == (source.rows, source.columns), table
        assert landed.row_hashes == source.row_hashes, table


@pytest.mark.parametrize("backend", ["auto", "pyarrow", "sqlalchemy"])
def test_live_loads_exactly_what_changed_and_records_hard_deletes(
    sources: Sources, backend: str
) -> None:
    sources.env["SOURCES__LIVE__BACKEND"] = backend
    run_cli(["ingest", "--only", "live"], sources.env)
    _execute(
        sources.live,
        # two inserts, two updates, one hard delete in customers
        f"insert into customers ({CUSTOMER_COLUMNS}) values"
        " (20, 'New', 'One', null, null, null, null, null, null, null, null, null, 1,"
        " '2024-07-01 00:00:00', '2024-07-01 00:00:00'),"
        " (21, 'New 🆕', 'Two', null, null, null, null, null, null, null, null, null, 0,"
        " '2024-07-01 00:00:00', '2024-07-02 00:00:00')",
        "update customers set city = 'Reykjavík', updated_at = '2024-07-03 00:00:00'"
        " where customer_id = 10",
        "delete from customers where customer_id = 11",
        # a change to the row whose updated_at is a zero date (it stays one)
        "update customers set city = 'Nowhen' where customer_id = 14",
        # one insert, one update, one hard delete in transactions
        f"insert into transactions ({TRANSACTION_COLUMNS}) values (100, '10200', 1, 20,"
        " 'S10_1678', 3, '95.70', '287.10', 'Shipped', 'NA', '2024-07-01 00:00:00',"
        " '2024-07-01 00:00:00')",
        "update transactions set status = 'Cancelled', amount = -0.01,"
        " updated_at = '2024-07-04 00:00:00' where transaction_id = 9007199254740993",
        "delete from transactions where transaction_id = 5",
        # the table without a primary key changes: it is copied again, whole
        "delete from audit_log where actor = 'ann' limit 1",
        "insert into audit_log values ('2024-07-06 00:00:00', 'dee', 'void', 0.00, null)",
        # a new ledger entry with a new JSON document
        "insert into ledger_entries values (8, 0.5, '{\"added\": true}', '2024-07-05 00:00:00')",
    )

    second = run_cli(["ingest", "--only", "live"], sources.env)

    counts = summary_counts(second.stdout)
    loaded = {table: counts.get(f"raw_live.{table}", (0, 0))[1] for table in TABLES}
    assert loaded == {
        "customers": 4,
        "transactions": 2,
        "ledger_entries": 1,
        "products": 0,
        "audit_log": len(AUDIT_ROWS),
    }, second.stdout
    assert sorted(
        query(
            sources.warehouse,
            "select table_name, primary_key, is_deleted from raw_live._medallion_deletions",
        )
    ) == [("customers", "11", True), ("transactions", "5", True)]
    # the deleted rows stay in raw; everything else is the live database exactly
    assert query(
        sources.warehouse, "select count(*) from raw_live.customers where customer_id = 11"
    ) == [(1,)]
    _live_matches_raw_minus_deletions(sources)
    assert_same_json(sources.live, sources.warehouse, "raw_live")

    raw_before = {t: table_rows(sources.warehouse, f"raw_live.{t}") for t in TABLES}
    third = run_cli(["ingest", "--only", "live"], sources.env)

    assert all(loaded == 0 for _, loaded in summary_counts(third.stdout).values()), third.stdout
    assert "deleted at source" not in third.stdout
    assert {t: table_rows(sources.warehouse, f"raw_live.{t}") for t in TABLES} == raw_before


@pytest.mark.parametrize("backend", ["auto", "pyarrow", "sqlalchemy"])
def test_an_update_that_keeps_the_newest_updated_at_is_still_loaded(
    sources: Sources, backend: str
) -> None:
    """The incremental boundary: dlt re-reads `updated_at >= last value` and drops the rows
    it saw there; a row changed without moving past the boundary must not be dropped."""
    sources.env["SOURCES__LIVE__BACKEND"] = backend
    run_cli(["ingest", "--only", "live"], sources.env)
    boundary = "2024-06-30 23:59:59"  # customers 12 and 13 both hold the newest updated_at
    _execute(
        sources.live,
        "update customers set city = 'Tie City' where customer_id = 12",
        f"insert into customers ({CUSTOMER_COLUMNS}) values (30, 'Same', 'Second', null,"
        " null, null, null, null, null, null, null, null, 1, '2024-06-30 00:00:00',"
        f" '{boundary}')",
    )

    second = run_cli(["ingest", "--only", "live"], sources.env)

    assert summary_counts(second.stdout)["raw_live.customers"] == (2, 2), second.stdout
    assert query(
        sources.warehouse,
        "select customer_id, city from raw_live.customers where customer_id in (12, 13, 30)"
        " order by 1",
    ) == [(12, "Tie City"), (13, None), (30, None)]
    _live_matches_raw_minus_deletions(sources)

    third = run_cli(["ingest", "--only", "live"], sources.env)
    assert summary_counts(third.stdout)["raw_live.customers"] == (0, 0), third.stdout


# --- 3b: late rows (a cursor value behind the last one loaded) ---------------------------

NEWEST_TRANSACTION = "2024-01-11 10:00:00"  # transaction 7: the newest updated_at


def _late_transaction(transaction_id: int, updated_at: str, status: str = "Shipped") -> str:
    return (
        f"insert into transactions ({TRANSACTION_COLUMNS}) values ({transaction_id},"
        f" '20{transaction_id}', 1, 1, 'S10_1678', 1, '95.70', '95.70', '{status}', 'NA',"
        f" '{updated_at}', '{updated_at}')"
    )


def _note(output: str, table: str) -> str:
    """The note of one table in the ingestion summary."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│")]
        cells = [c for c in cells if c != ""]
        if cells and cells[0] == table:
            return cells[4] if len(cells) > 4 else ""
    raise AssertionError(f"{table} is not in the summary:\n{output}")


def _no_key_twice(warehouse: Path) -> None:
    for table, key in PRIMARY_KEYS.items():
        twice = query(
            warehouse,
            f"select {key}, count(*) from raw_live.{table} group by {key} having count(*) > 1",
        )
        assert twice == [], table


def _load_ids(warehouse: Path) -> dict[int, str]:
    found = query(warehouse, "select transaction_id, _dlt_load_id from raw_live.transactions")
    return dict(found)


@pytest.mark.parametrize("backend", ["auto", "sqlalchemy"])
def test_a_late_row_inside_the_look_back_window_is_loaded_once_by_the_next_run(
    sources: Sources, backend: str
) -> None:
    """A row inserted with an updated_at 30 minutes behind the newest one loaded (the
    window is one hour by default) is loaded by the next run, through the window (not
    the key comparison); the rows of the window already loaded are read again but not
    loaded again; a row of the window that changes without moving its updated_at is."""
    sources.env["SOURCES__LIVE__BACKEND"] = backend
    run_cli(["ingest", "--only", "live"], sources.env)
    first_ids = _load_ids(sources.warehouse)
    _execute(sources.live, _late_transaction(40, "2024-01-11 09:30:00"))

    second = run_cli(["ingest", "--only", "live"], sources.env)

    assert summary_counts(second.stdout)["raw_live.transactions"] == (1, 1), second.stdout
    note = _note(second.stdout, "raw_live.transactions")
    assert note == "1 late row(s) recovered: 1 in the look-back window, 0 by key", note
    ids = _load_ids(sources.warehouse)
    assert 40 in ids
    # transaction 7 (the newest, inside the window) was read again, not loaded again
    assert {k: v for k, v in ids.items() if k != 40} == first_ids
    _no_key_twice(sources.warehouse)
    _live_matches_raw_minus_deletions(sources)

    third = run_cli(["ingest", "--only", "live"], sources.env)
    assert all(loaded == 0 for _, loaded in summary_counts(third.stdout).values()), third.stdout
    assert "late row" not in third.stdout

    # a row of the window changed, its updated_at unchanged: loaded again
    _execute(sources.live, "update transactions set status = 'Resolved' where transaction_id = 40")
    fourth = run_cli(["ingest", "--only", "live"], sources.env)
    assert summary_counts(fourth.stdout)["raw_live.transactions"] == (1, 1), fourth.stdout
    assert query(
        sources.warehouse, "select status from raw_live.transactions where transaction_id = 40"
    ) == [("Resolved",)]
    _no_key_twice(sources.warehouse)
    _live_matches_raw_minus_deletions(sources)


def test_a_late_row_far_outside_the_window_is_loaded_by_key(sources: Sources) -> None:
    """A row two days behind the newest updated_at is outside the window; the live table
    now holds one row more than raw, so its keys are compared and the row is loaded by
    key, whatever its cursor, in the same run."""
    run_cli(["ingest", "--only", "live"], sources.env)
    _execute(sources.live, _late_transaction(41, "2024-01-09 10:00:00"))

    second = run_cli(["ingest", "--only", "live"], sources.env)

    assert summary_counts(second.stdout)["raw_live.transactions"] == (1, 1), second.stdout
    note = _note(second.stdout, "raw_live.transactions")
    assert note == "1 late row(s) recovered: 0 in the look-back window, 1 by key", note
    assert query(
        sources.warehouse,
        "select cast(updated_at as varchar) from raw_live.transactions where transaction_id = 41",
    ) == [("2024-01-09 10:00:00",)]
    _no_key_twice(sources.warehouse)
    _live_matches_raw_minus_deletions(sources)

    third = run_cli(["ingest", "--only", "live"], sources.env)
    assert all(loaded == 0 for _, loaded in summary_counts(third.stdout).values()), third.stdout


def test_a_delete_and_a_late_insert_in_one_interval_are_caught_by_the_key_check(
    sources: Sources,
) -> None:
    """A hard delete and a late insert between two runs leave the counts equal: the run
    after them sees nothing (the weekly check is not due), the periodic full key
    comparison (``key_check_every_days``; 0 here: every run) finds both."""
    run_cli(["ingest", "--only", "live"], sources.env)
    _execute(
        sources.live,
        "delete from transactions where transaction_id = 3",
        _late_transaction(42, "2024-01-02 10:00:00"),
    )

    second = run_cli(["ingest", "--only", "live"], sources.env)
    assert summary_counts(second.stdout)["raw_live.transactions"] == (0, 0), second.stdout
    assert query(
        sources.warehouse, "select count(*) from raw_live.transactions where transaction_id = 42"
    ) == [(0,)]

    sources.env["SOURCES__LIVE__KEY_CHECK_EVERY_DAYS"] = "0"
    third = run_cli(["ingest", "--only", "live"], sources.env)

    assert summary_counts(third.stdout)["raw_live.transactions"] == (1, 1), third.stdout
    note = _note(third.stdout, "raw_live.transactions")
    assert note == (
        "+1 deleted at source; 1 late row(s) recovered: 0 in the look-back window, 1 by key;"
        " keys compared"
    ), note
    assert query(
        sources.warehouse,
        "select primary_key, is_deleted from raw_live._medallion_deletions"
        " where table_name = 'transactions'",
    ) == [("3", True)]
    _no_key_twice(sources.warehouse)
    _live_matches_raw_minus_deletions(sources)

    fourth = run_cli(["ingest", "--only", "live"], sources.env)
    assert all(loaded == 0 for _, loaded in summary_counts(fourth.stdout).values()), fourth.stdout


# --- 4: a source that is down or refuses us -------------------------------------------------


@pytest.fixture
def reader(sources: Sources) -> Iterator[tuple[str, str]]:
    """A real MariaDB user with a password (with URL-special characters), dropped after."""
    user = f"t{uuid.uuid4().hex[:8]}_reader"
    password = "S3cr3t:p@ss/w0rd#%"
    _execute(
        sources.archive,
        f"create user '{user}'@'%' identified by '{password}'",
        f"grant select on `{sources.archive}`.* to '{user}'@'%'",
        f"grant select on `{sources.live}`.* to '{user}'@'%'",
    )
    try:
        yield user, password
    finally:
        _execute(sources.archive, f"drop user if exists '{user}'@'%'")


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raw_snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        f"{schema}.{name}"
        for schema, name in query(
            warehouse,
            "select table_schema, table_name from information_schema.tables"
            " where table_schema like 'raw_%' order by 1, 2",
        )
    ]
    return {table: table_rows(warehouse, table) for table in tables}


@pytest.mark.parametrize("failure", ["archive down", "live refuses the password"])
def test_a_failing_source_is_named_and_what_was_loaded_stays(
    sources: Sources, reader: tuple[str, str], failure: str
) -> None:
    user, password = reader
    sources.env["SOURCES__ARCHIVE__CREDENTIALS"] = _url(sources.archive, user, password)
    sources.env["SOURCES__LIVE__CREDENTIALS"] = _url(sources.live, user, password)
    first = run_cli(["ingest"], sources.env)
    assert password not in first.stdout + first.stderr
    assert quote(password, safe="") not in first.stdout + first.stderr
    before = _raw_snapshot(sources.warehouse)
    assert {"raw_archive.customers", "raw_live.customers"} <= set(before)

    if failure == "archive down":
        source, port = "archive", _free_port()
        sources.env["SOURCES__ARCHIVE__CREDENTIALS"] = _url(
            sources.archive, user, password
        ).replace(":3306/", f":{port}/")
        expected_reason = "Can't connect"
    else:
        source = "live"
        sources.env["SOURCES__LIVE__CREDENTIALS"] = _url(sources.live, user, "Wr0ng:" + password)
        expected_reason = "Access denied"
    result = run_cli(["ingest"], sources.env, expect=1)

    output = result.stdout + result.stderr
    assert f"{source} database" in output and expected_reason in output, output
    assert "Traceback" not in output
    for secret in (password, quote(password, safe=""), "Wr0ng"):
        assert secret not in output
    assert _raw_snapshot(sources.warehouse) == before


@pytest.mark.parametrize("only", [[], ["--only", "archive"]], ids=["all sources", "archive"])
def test_an_archive_table_the_server_will_not_fingerprint_is_named(
    sources: Sources, only: list[str]
) -> None:
    """An archive account without SELECT on one table sees the table (it has another
    privilege on it) but the server refuses its ``CHECKSUM TABLE``. With every source,
    the fingerprints are taken in a thread while live and files load, and the archive
    goes last: the run fails naming the archive and the table, without a trace; live's
    and the files' loads stand, and nothing of the archive lands."""
    user = f"t{uuid.uuid4().hex[:8]}_noselect"
    grants = [f"create user '{user}'@'%' identified by 'pw'"]
    grants += [
        f"grant select on `{sources.archive}`.`{table}` to '{user}'@'%'"
        for table in TABLES
        if table != "ledger_entries"
    ]
    grants += [
        f"grant insert on `{sources.archive}`.`ledger_entries` to '{user}'@'%'",
        f"grant select on `{sources.live}`.* to '{user}'@'%'",
    ]
    _execute(sources.archive, *grants)
    try:
        sources.env["SOURCES__ARCHIVE__CREDENTIALS"] = _url(sources.archive, user, "pw")
        result = run_cli(["ingest", *only], sources.env, expect=1)
    finally:
        _execute(sources.archive, f"drop user if exists '{user}'@'%'")

    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "Cannot fingerprint table 'ledger_entries' of the archive database" in output, output
    assert "SELECT command denied" in output, output
    landed = _raw_snapshot(sources.warehouse) if sources.warehouse.exists() else {}
    assert not [table for table in landed if table.startswith("raw_archive.")], sorted(landed)
    if not only:
        assert_same_content(sources.live, sources.warehouse, "raw_live", "customers")
        assert "raw_files.fiscal_calendar" in landed, sorted(landed)


# --- 5: malformed MySQL settings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("SOURCES__ARCHIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@/sales"),
        ("SOURCES__ARCHIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@:3306/sales"),
        ("SOURCES__LIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@db:3306"),
        ("SOURCES__LIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@db:3306/"),
        ("SOURCES__ARCHIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@db:99999/sales"),
        ("SOURCES__LIVE__CREDENTIALS", "mysql+pymysql://reader:Sup3rS3cret@db:abc/sales"),
        ("SOURCES__LIVE__CREDENTIALS", "mysql://reader:Sup3rS3cret@db:3306:3307/sales"),
        ("SOURCES__LIVE__CREDENTIALS", ""),
    ],
)
def test_a_malformed_mysql_setting_is_named(tmp_path: Path, setting: str, url: str) -> None:
    env = pipeline_env(tmp_path, _url("archive_db"), _url("live_db"), tmp_path)
    env[setting] = url
    result = run_cli(["ingest"], env, expect=2)
    output = result.stdout + result.stderr
    assert setting in result.stdout, output
    assert "Traceback" not in output
    assert "Sup3rS3cret" not in output


# --- into the Spark target's lake --------------------------------------------------------


def test_mysql_sources_into_the_lake_read_as_they_were_by_sparks_control_file(
    sources: Sources,
) -> None:
    """``medallion ingest --target spark``: the same tables as Parquet in the lake (dlt's
    filesystem destination), read through the views of Spark's control file
    (``medallion.spark_control``, the raw layer its checks and build signature read),
    hold every value as it was in MySQL. No JVM: the lake is read by DuckDB."""
    import subprocess
    import sys

    result = run_cli(["ingest", "--target", "spark"], sources.env)
    counts = summary_counts(result.stdout)
    opened = subprocess.run(
        [sys.executable, "-c", "from medallion.spark_control import connect; connect().close()"],
        env=sources.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr[-3000:]
    control = sources.warehouse.parent / "spark" / "medallion_control.duckdb"
    for database, schema in [(sources.archive, "raw_archive"), (sources.live, "raw_live")]:
        for table in TABLES:
            expected = mysql_checksum(database, table).rows
            assert counts[f"{schema}.{table}"] == (expected, expected), result.stdout
            assert_same_content(database, control, schema, table)
        assert_same_json(database, control, schema)

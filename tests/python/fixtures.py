"""Hand-made sources for the gold-rule tests: two SQLite databases and a landing folder.

The tests state every source row explicitly, as Python dicts, and hand the same dicts to
the pipeline (through the files written here) and to ``oracle.py``. Nothing here
computes an expected value: this module only writes rows the way the real sources hold
them (MySQL-like column types, zero dates as text, CSVs with their own delimiters), so
that the pipeline under test meets the shapes of ``docs/contracts/sources.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

Row = dict[str, Any]

# The three tables the models read, with the columns and (SQLite spellings of the) MySQL
# types of docs/contracts/sources.md. SQLite keeps the declared type names, which is
# what the ingestion reflects: DECIMAL(p,s) arrives as a decimal, DATETIME as a
# timestamp, and TINYINT(1) as an integer flag.
CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "INTEGER PRIMARY KEY",
    "first_name": "VARCHAR(100)",
    "last_name": "VARCHAR(100)",
    "email": "VARCHAR(255)",
    "phone": "VARCHAR(50)",
    "company_name": "VARCHAR(255)",
    "address_line_1": "VARCHAR(255)",
    "address_line_2": "VARCHAR(255)",
    "city": "VARCHAR(100)",
    "state": "VARCHAR(100)",
    "postal_code": "VARCHAR(20)",
    "country": "VARCHAR(100)",
    "is_active": "TINYINT(1)",
    "created_at": "DATETIME",
    "updated_at": "DATETIME",
}

PRODUCT_COLUMNS: dict[str, str] = {
    "product_code": "VARCHAR(20) PRIMARY KEY",
    "product_name": "VARCHAR(255)",
    "product_line": "VARCHAR(100)",
    "product_family": "VARCHAR(100)",
    "msrp": "DECIMAL(10,2)",
    "updated_at": "DATETIME",
}

TRANSACTION_COLUMNS: dict[str, str] = {
    "transaction_id": "INTEGER PRIMARY KEY",
    "order_number": "VARCHAR(20)",
    "order_line_number": "INTEGER",
    "customer_id": "INTEGER",
    "product_code": "VARCHAR(20)",
    "quantity": "INTEGER",
    "unit_price": "DECIMAL(10,2)",
    "amount": "DECIMAL(12,2)",
    "status": "VARCHAR(20)",
    "territory": "VARCHAR(20)",
    "transaction_date": "DATETIME",
    "updated_at": "DATETIME",
}

TABLES: dict[str, dict[str, str]] = {
    "customers": CUSTOMER_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
}

FISCAL_CALENDAR_COLUMNS = ["date", "fiscal_year", "fiscal_quarter", "fiscal_month", "fiscal_week"]
SURVEY_COLUMNS = [
    "response_id",
    "customer_email",
    "submitted_at",
    "nps_score",
    "satisfaction",
    "channel",
    "comment",
]
EXPENSE_COLUMNS = [
    "expense_id",
    "submitted_by",
    "department",
    "category",
    "amount",
    "currency",
    "expense_date",
    "description",
]

ZERO_DATE = "0000-00-00 00:00:00"


def _sql_value(value: Any) -> Any:
    """A Python value as the SQLite driver can bind it, the way MySQL would show it.

    Decimals go in as their text: SQLite's numeric affinity stores them as numbers
    without the binary rounding a float literal would add. Datetimes go in as
    ``YYYY-MM-DD HH:MM:SS`` text, which is how a MySQL dump (and the demo) stores them.
    """
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def write_sqlite_source(path: Path, tables: Mapping[str, Sequence[Row]]) -> str:
    """Write one operational database (archive or live) and return its SQLAlchemy URL.

    Every one of the three tables is created, even when it gets no rows, because the
    models expect both databases to hold all three. A row may leave out columns; they
    are NULL, as a nullable MySQL column would be.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"Unknown source tables: {sorted(unknown)}")
    with sqlite3.connect(path) as conn:
        for table, columns in TABLES.items():
            ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
            conn.execute(f"create table {table} ({ddl})")
            rows = tables.get(table, [])
            for row in rows:
                extra = set(row) - set(columns)
                if extra:
                    raise ValueError(f"{table}: columns not in sources.md: {sorted(extra)}")
            names = list(columns)
            placeholders = ", ".join("?" for _ in names)
            conn.executemany(
                f"insert into {table} ({', '.join(names)}) values ({placeholders})",  # noqa: S608
                [[_sql_value(row.get(name)) for name in names] for row in rows],
            )
        conn.commit()
    return f"sqlite:///{path.resolve()}"


@dataclass(frozen=True)
class LandingFile:
    """One CSV of the landing folder, as it lands: its relative path, rows and time.

    ``modified_at`` orders the files: the landing rule "the newest file wins" is about
    which file arrived last, so every test file carries an explicit, distinct time.
    """

    path: str
    columns: list[str]
    rows: list[Row]
    modified_at: dt.datetime
    delimiter: str = ","

    def render(self) -> str:
        """The file's text: a header line, then one record per row, CRLF-free."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in self.columns])
        return buffer.getvalue()


def write_landing(root: Path, files: Iterable[LandingFile]) -> Path:
    """Write the landing folder and stamp each file with its ``modified_at``."""
    root.mkdir(parents=True, exist_ok=True)
    for landing_file in files:
        target = root / landing_file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(landing_file.render(), encoding="utf-8")
        stamp = landing_file.modified_at.replace(tzinfo=dt.UTC).timestamp()
        os.utime(target, (stamp, stamp))
    return root


def fiscal_calendar_rows(
    start: dt.date, end: dt.date, first_month: int = 2
) -> list[dict[str, str]]:
    """A fiscal calendar from ``start`` to ``end`` inclusive, as the CSV's text values.

    The fiscal year starts on the first day of ``first_month`` and is named after the
    calendar year in which it ends (a retail-style year: February 2024 to January 2025 is
    FY2025). A start month other than January makes fiscal quarters differ from calendar
    quarters, so a mart that groups by the calendar by mistake shows up.
    """
    rows = []
    day = start
    while day <= end:
        fiscal_month = (day.month - first_month) % 12 + 1
        start_year = day.year if day.month >= first_month else day.year - 1
        year_start = dt.date(start_year, first_month, 1)
        fiscal_year = start_year + 1 if first_month > 1 else start_year
        rows.append(
            {
                "date": day.isoformat(),
                "fiscal_year": str(fiscal_year),
                "fiscal_quarter": str((fiscal_month - 1) // 3 + 1),
                "fiscal_month": str(fiscal_month),
                "fiscal_week": str((day - year_start).days // 7 + 1),
            }
        )
        day += dt.timedelta(days=1)
    return rows


def write_mysql_source(database: str, tables: Mapping[str, Sequence[Row]]) -> str:
    """``write_sqlite_source`` on the MariaDB test server: the same three tables, with
    the MySQL types of docs/contracts/sources.md (the spellings above are MySQL's too),
    in a new database ``database``; returns its SQLAlchemy URL. Zero dates go in as
    they are (the session's ``sql_mode`` is empty, as on an old server)."""
    import pymysql

    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"Unknown source tables: {sorted(unknown)}")
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute("set session sql_mode = ''")
            cursor.execute(f"drop database if exists `{database}`")
            cursor.execute(f"create database `{database}` character set utf8mb4")
            for table, columns in TABLES.items():
                ddl = ", ".join(f"`{name}` {sql_type}" for name, sql_type in columns.items())
                cursor.execute(f"create table `{database}`.`{table}` ({ddl})")
                names = list(columns)
                rows = [
                    [_sql_value(row.get(name)) for name in names] for row in tables.get(table, [])
                ]
                if rows:
                    cursor.executemany(
                        f"insert into `{database}`.`{table}` ({', '.join(names)})"  # noqa: S608
                        f" values ({', '.join(['%s'] * len(names))})",
                        rows,
                    )
    finally:
        conn.close()
    return f"mysql+pymysql://root:@127.0.0.1:3306/{database}"

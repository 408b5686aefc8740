"""The archive fingerprint: a table is copied again only when its fingerprint changes,
so every change of content must change it, on SQLite (rows hashed here) and on MariaDB
(``CHECKSUM TABLE``), including the edits that keep every count, sum and text length:
a same-length text edit, two values swapped between rows, an amount moved between two
rows. Content that did not change keeps its fingerprint, whatever the rows' order.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from pipeline_helpers import MYSQL

from ingestion.sql_sources import fingerprint_tables, make_engine, table_fingerprint

ROWS = [
    (1, "SO1", 20, "APAC", "119.63", "2022-01-01 03:08:56"),
    (2, "SO1", 21, "EMEA", "116.93", "2022-01-01 03:08:56"),
    (3, "SO2", 22, "NA", "132.59", "2022-01-02 10:00:00"),
    (4, "SO3", None, "Japan", "10.00", "2022-01-03 11:30:00"),
]
CREATE = (
    "create table transactions (transaction_id integer primary key, order_number"
    " varchar(20) not null, customer_id integer null, territory varchar(20) null,"
    " amount decimal(12, 2) not null, transaction_date datetime not null)"
)

# Each change keeps the row count, every column's sum and every text's length.
CHANGES = {
    "same-length text edit": [
        "update transactions set territory = 'EMEA' where transaction_id = 1"
    ],
    "customer ids swapped between two rows": [
        "update transactions set customer_id = 21 where transaction_id = 1",
        "update transactions set customer_id = 20 where transaction_id = 2",
    ],
    "amount moved between two rows": [
        "update transactions set amount = amount + 1 where transaction_id = 1",
        "update transactions set amount = amount - 1 where transaction_id = 3",
    ],
    "same-length date edit": [
        "update transactions set transaction_date = '2022-01-01 03:08:57' where transaction_id = 1"
    ],
    "null becomes a value and a value null": [
        "update transactions set customer_id = null where transaction_id = 3",
        "update transactions set customer_id = 22 where transaction_id = 4",
    ],
}


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of each kind the archive may be, dropped afterwards."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'archive.sqlite'}")
        yield engine
        engine.dispose()
        return
    with _mariadb_database() as engine:
        yield engine


@contextlib.contextmanager
def _mariadb_database() -> Iterator[sa.Engine]:
    name = f"t{uuid.uuid4().hex[:10]}_fingerprint"
    server = pymysql.connect(**MYSQL)
    try:
        with server.cursor() as cursor:
            cursor.execute(f"create database `{name}`")
        engine = make_engine(f"mysql+pymysql://root:@127.0.0.1:3306/{name}")
        yield engine
        engine.dispose()
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"drop database if exists `{name}`")
        server.close()


def _load(engine: sa.Engine, rows: list[tuple], keyed: bool = True) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("drop table if exists transactions"))
        conn.execute(sa.text(CREATE if keyed else CREATE.replace(" primary key", "")))
        for row in rows:
            conn.execute(
                sa.text("insert into transactions values (:a, :b, :c, :d, :e, :f)"),
                dict(zip("abcdef", row, strict=True)),
            )


def _summaries(engine: sa.Engine) -> tuple:
    """What the old fingerprint saw: the count, each column's sum or text lengths."""
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select count(*), sum(transaction_id), sum(length(order_number)),"
                " sum(customer_id), count(customer_id), sum(length(territory)), sum(amount),"
                " sum(length(cast(transaction_date as char(19)))) from transactions"
            )
        ).one()


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_of_content_changes_the_fingerprint(database: sa.Engine, change: str):
    _load(database, ROWS)
    before, summaries = table_fingerprint(database, "transactions"), _summaries(database)
    with database.begin() as conn:
        for statement in CHANGES[change]:
            conn.execute(sa.text(statement))
    assert _summaries(database) == summaries  # the change keeps every count and sum
    assert table_fingerprint(database, "transactions") != before


def test_the_same_content_keeps_its_fingerprint_in_any_row_order(database: sa.Engine):
    """A table without a key is read in the order its rows were written."""
    _load(database, ROWS, keyed=False)
    before = table_fingerprint(database, "transactions")
    _load(database, list(reversed(ROWS)), keyed=False)
    assert table_fingerprint(database, "transactions") == before


def test_a_value_and_its_text_are_told_apart_on_sqlite(tmp_path: Path):
    """SQLite keeps each value's own type: the integer 1 and the text '1', NULL and the
    text 'None' are different content."""
    path = tmp_path / "typed.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    prints: list[str] = []
    swaps: list[Callable[[sqlite3.Connection], object]] = [
        lambda conn: conn.execute("insert into t values (1, 'None')"),
        lambda conn: conn.execute("update t set a = '1'"),
        lambda conn: conn.execute("update t set b = null"),
    ]
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (a, b)")
    for swap in swaps:
        with sqlite3.connect(path) as conn:
            swap(conn)
        prints.append(table_fingerprint(engine, "t"))
    engine.dispose()
    assert len(set(prints)) == len(prints), prints


class _CommitWhenOpened(threading.Event):
    """``opened`` of ``fingerprint_tables``: the moment it is set (a copy may start
    reading), another connection commits ``statement``."""

    def __init__(self, engine: sa.Engine, statement: str) -> None:
        super().__init__()
        self.engine, self.statement, self.committed = engine, statement, False

    def set(self) -> None:
        if not self.committed:
            self.committed = True
            with self.engine.begin() as conn:
                conn.execute(sa.text(self.statement))
        super().set()


def _no_change_after_opened(engine: sa.Engine) -> None:
    before = table_fingerprint(engine, "transactions")
    opened = _CommitWhenOpened(engine, CHANGES["same-length text edit"][0])
    taken = fingerprint_tables("archive", engine, ["transactions"], opened)
    assert opened.is_set() and opened.committed
    assert taken == {"transactions": before}
    assert table_fingerprint(engine, "transactions") != before  # the change is there


def test_the_fingerprints_never_see_a_row_committed_after_a_copy_may_start(
    database: sa.Engine,
):
    """A copy starts reading once ``opened`` is set; a fingerprint that saw a change the
    copy may have missed would let the next run skip the table for good. On MariaDB
    (InnoDB) the fingerprints are taken in a snapshot opened before ``opened`` is set;
    on SQLite ``opened`` is set only when they are taken."""
    _load(database, ROWS)
    _no_change_after_opened(database)


@pytest.mark.mysql
def test_the_snapshot_holds_for_a_session_in_read_committed():
    """A server (or session) in READ COMMITTED gives each statement a snapshot of its
    own: the fingerprints' transaction is REPEATABLE READ whatever the session's."""
    with _mariadb_database() as engine:
        _load(engine, ROWS)
        _no_change_after_opened(engine.execution_options(isolation_level="READ COMMITTED"))


@pytest.mark.mysql
def test_a_table_without_snapshots_is_fingerprinted_before_a_copy_may_start():
    """MyISAM keeps no snapshot: ``opened`` is set only when the fingerprints are taken."""
    with _mariadb_database() as engine:
        _load(engine, ROWS)
        with engine.begin() as conn:
            conn.execute(sa.text("alter table transactions engine=MyISAM"))
        _no_change_after_opened(engine)


@pytest.mark.mysql
def test_a_table_altered_while_fingerprinted_in_a_snapshot_gets_no_fingerprint():
    """A snapshot covers rows, not definitions: a column added once a copy may start
    could be missing from the copy but counted in the checksum, so that table is left
    without a fingerprint and the next run copies it again."""
    with _mariadb_database() as engine:
        _load(engine, ROWS)
        opened = _CommitWhenOpened(engine, "alter table transactions add column extra int")
        taken = fingerprint_tables("archive", engine, ["transactions"], opened)
        assert opened.committed
        assert taken == {}

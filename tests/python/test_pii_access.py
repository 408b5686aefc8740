"""Personal data on the real MariaDB: the BI account reads it masked, never unmasked.

The gold-rule scenario (plus a customer with a 4-byte Unicode name) is built into MySQL
once with the real CLI (``medallion run --target mysql`` under a unique schema prefix),
then ``medallion bi grant`` creates a real BI login. That login reads the marts, where
every personal value is the SHA-256 that Python's ``hashlib`` gives for the unmasked
value, and is refused on the ``restricted`` schema; an administrator reads the unmasked
values there, and they are the source's (as ``oracle.py`` standardises them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
from fixtures import write_landing, write_sqlite_source
from oracle import UNKNOWN_KEY, Oracle, Sources, mask_pii
from pipeline_helpers import MYSQL, drop_databases, pipeline_env, run_cli
from test_gold_rules import ARCHIVE, LANDING_FILES, LIVE, PERSONAL_COLUMNS, customer

pytestmark = [pytest.mark.mysql, pytest.mark.slow]  # builds the whole project

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# One customer more than the gold-rule scenario: untrimmed, accented and 4-byte
# Unicode, so the hash is proved over UTF-8 bytes on MySQL as in Python.
UNICODE_CUSTOMER = customer(
    77, "  Zoë 🚀 ", "Ångström", " Zoe.Angstrom@Example.ORG ", "2023-08-01 12:00:00"
)
LIVE_WITH_UNICODE = {**LIVE, "customers": [*LIVE["customers"], UNICODE_CUSTOMER]}


@dataclass
class Built:
    prefix: str
    bi_user: str
    bi_password: str
    oracle: Oracle


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, mysql_server: dict[str, Any]
) -> Iterator[Built]:
    """The scenario in MySQL under a unique prefix, and a BI account granted on it;
    every database with the prefix and the account are dropped afterwards."""
    tmp = tmp_path_factory.mktemp("pii_access")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    user, password = f"bi_{uuid.uuid4().hex[:10]}", f"Pw_{uuid.uuid4().hex}"
    env = pipeline_env(
        tmp,
        write_sqlite_source(tmp / "archive.sqlite", ARCHIVE),
        write_sqlite_source(tmp / "live.sqlite", LIVE_WITH_UNICODE),
        write_landing(tmp / "landing", LANDING_FILES),
    )
    env.update(
        {
            "MEDALLION_SCHEMA_PREFIX": prefix,
            "MEDALLION_BI_USER": user,
            "MEDALLION_BI_PASSWORD": password,
        }
    )
    try:
        run_cli(["run", "--target", "mysql"], env)
        run_cli(["bi", "grant", "--pbids", str(tmp / "marts.pbids")], env)
        yield Built(prefix, user, password, Oracle(Sources(ARCHIVE, LIVE_WITH_UNICODE)))
    finally:
        drop_databases(prefix, users=(user,))


def fetch(conn: pymysql.Connection, sql: str) -> list[dict[str, Any]]:
    with conn.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def as_bi(built: Built) -> pymysql.Connection:
    return pymysql.connect(
        host=MYSQL["host"],
        port=MYSQL["port"],
        user=built.bi_user,
        password=built.bi_password,
        charset="utf8mb4",
    )


def as_admin() -> pymysql.Connection:
    return pymysql.connect(**MYSQL, charset="utf8mb4")


def test_the_bi_account_reads_personal_values_masked_in_the_marts(built: Built) -> None:
    marts = f"`{built.prefix}marts`"
    conn = as_bi(built)
    try:
        dimension = fetch(conn, f"select * from {marts}.dim_customer")
        segments = fetch(conn, f"select customer_id, full_name from {marts}.customer_segments")
        top = fetch(conn, f"select customer_id, full_name, email from {marts}.top_customers")
    finally:
        conn.close()
    admin = as_admin()
    try:
        personal = {
            row["customer_key"]: row
            for row in fetch(admin, f"select * from `{built.prefix}restricted`.customer_pii")
        }
    finally:
        admin.close()

    customers = [row for row in dimension if row["customer_key"] != UNKNOWN_KEY]
    # one version per surviving customer (the scenario changes none between runs)
    assert len(customers) == len(personal) == len(set(built.oracle.key_map.values()))
    for row in customers:
        unmasked = personal[row["customer_key"]]
        for column in PERSONAL_COLUMNS:
            value = row[column]
            assert value is None or SHA256_HEX.match(value), (row["customer_key"], column, value)
            # hashlib, in Python, on the value the administrator reads
            assert value == mask_pii(unmasked[column]), (row["customer_key"], column)
    zoe = next(row for row in customers if row["customer_id"] == 77)
    assert zoe["full_name"] == mask_pii("Zoë 🚀 Ångström")
    assert zoe["email"] == mask_pii("zoe.angstrom@example.org")

    # the name a BI report shows per customer is the masked current name, never the name
    current = {row["customer_id"]: row for row in personal.values() if row["is_current"]}
    for row in segments + top:
        if row["customer_id"] in current:
            assert row["full_name"] == mask_pii(current[row["customer_id"]]["full_name"])
    for row in top:
        assert row["email"] == mask_pii(current[row["customer_id"]]["email"])
    cleartext = {row[c] for row in personal.values() for c in PERSONAL_COLUMNS} - {None}
    shown = {row[c] for row in customers for c in PERSONAL_COLUMNS}
    shown |= {row["full_name"] for row in segments + top} | {row["email"] for row in top}
    assert not shown & cleartext


def test_the_bi_account_is_refused_on_the_restricted_schema(built: Built) -> None:
    conn = as_bi(built)
    try:
        with conn.cursor() as cursor:
            with pytest.raises(pymysql.err.OperationalError) as refused:
                cursor.execute(f"select * from `{built.prefix}restricted`.customer_pii")
            assert refused.value.args[0] == 1142, refused.value  # SELECT command denied
            # nor can it see that the schema exists
            cursor.execute(
                "select schema_name from information_schema.schemata where schema_name like %s",
                (built.prefix.replace("_", r"\_") + "%",),
            )
            assert [name for (name,) in cursor.fetchall()] == [f"{built.prefix}marts"]
    finally:
        conn.close()
    admin = as_admin()
    try:
        with admin.cursor() as cursor:
            cursor.execute("show grants for %s@'%%'", (built.bi_user,))
            grants = " ".join(row[0] for row in cursor.fetchall())
    finally:
        admin.close()
    assert "restricted" not in grants
    assert f"`{built.prefix}marts`" in grants


def test_an_administrator_reads_the_unmasked_values_as_the_source_holds_them(
    built: Built,
) -> None:
    """Current rows of restricted.customer_pii = the oracle's standardised source values
    of every surviving customer (names trimmed, email lower-cased, or null if invalid)."""
    admin = as_admin()
    try:
        current = fetch(
            admin, f"select * from `{built.prefix}restricted`.customer_pii where is_current = 1"
        )
    finally:
        admin.close()
    oracle = built.oracle
    expected = {
        cid: (
            oracle.customers[cid]["first_name"].strip(),
            oracle.customers[cid]["last_name"].strip(),
            oracle.customers[cid]["full_name"],
            oracle.customers[cid]["email_normalised"],
            oracle.customers[cid]["city"],
        )
        for cid in set(oracle.key_map.values())
    }
    found = {
        row["customer_id"]: (
            row["first_name"],
            row["last_name"],
            row["full_name"],
            row["email"],
            row["city"],
        )
        for row in current
    }
    assert found == expected
    assert found[77] == (
        "Zoë 🚀",
        "Ångström",
        "Zoë 🚀 Ångström",
        "zoe.angstrom@example.org",
        "Springfield",
    )


def test_the_export_for_power_bi_holds_no_unmasked_value(built: Built, tmp_path: Path) -> None:
    """The Parquet export reads the marts only: the same masked values."""
    import pyarrow.parquet as pq

    env = pipeline_env(tmp_path, "", "", "")
    env["MEDALLION_SCHEMA_PREFIX"] = built.prefix
    run_cli(["export", "--target", "mysql", "--out", str(tmp_path / "export")], env)
    admin = as_admin()
    try:
        personal = fetch(admin, f"select * from `{built.prefix}restricted`.customer_pii")
    finally:
        admin.close()
    cleartext = {row[c] for row in personal for c in PERSONAL_COLUMNS} - {None}
    exported = {
        value
        for path in (tmp_path / "export").glob("*.parquet")
        for column in pq.read_table(path).to_pylist()
        for value in column.values()
        if isinstance(value, str)
    }
    assert "customer_pii.parquet" not in {p.name for p in (tmp_path / "export").iterdir()}
    assert exported and not exported & cleartext

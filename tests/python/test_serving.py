"""Serving Power BI: the read-only BI account, the Parquet export and the .pbids file.

Against the real MariaDB (a real user that logs in and is refused) and real files.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pymysql
import pytest
from pipeline_helpers import MYSQL, pipeline_env, query, run_cli

pytestmark = pytest.mark.mysql

SCHEMAS = ["marts", "raw_live", "staging", "quarantine", "audit", "snapshots"]


@pytest.fixture
def mysql_layers(mysql_prefix: str) -> str:
    """One small table in each layer's database, under a unique prefix."""
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            for schema in SCHEMAS:
                cursor.execute(f"create database `{mysql_prefix}{schema}`")
                cursor.execute(
                    f"create table `{mysql_prefix}{schema}`.sample ("
                    " customer_id bigint, full_name varchar(100), total_spent decimal(18,2),"
                    " is_current tinyint(1), order_date date)"
                )
                cursor.execute(
                    f"insert into `{mysql_prefix}{schema}`.sample values"
                    " (1, 'Zoë 🚀', 10000.00, 1, '2024-02-29'),"
                    " (2, null, -0.01, 0, null)"
                )
    finally:
        conn.close()
    return mysql_prefix


@pytest.fixture
def bi_user() -> tuple[str, str]:
    user = f"bi_{uuid.uuid4().hex[:10]}"
    password = f"Pw_{uuid.uuid4().hex}"
    yield user, password
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute("drop user if exists %s@'%%'", (user,))
    finally:
        conn.close()


def serving_env(tmp_path: Path, prefix: str, user: str = "", password: str = "") -> dict[str, str]:
    env = pipeline_env(tmp_path, "", "", "")
    env.update({"MEDALLION_SCHEMA_PREFIX": prefix})
    if user:
        env.update({"MEDALLION_BI_USER": user, "MEDALLION_BI_PASSWORD": password})
    return env


def test_the_bi_account_reads_the_marts_and_is_refused_everywhere_else(
    tmp_path, mysql_layers, bi_user
):
    user, password = bi_user
    env = serving_env(tmp_path, mysql_layers, user, password)
    result = run_cli(["bi", "grant", "--pbids", str(tmp_path / "marts.pbids")], env)
    assert password not in result.stdout + result.stderr

    conn = pymysql.connect(host="127.0.0.1", port=3306, user=user, password=password)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"select count(*) from `{mysql_layers}marts`.sample")
            assert cursor.fetchone() == (2,)
            for schema in SCHEMAS[1:]:
                with pytest.raises(pymysql.err.OperationalError) as refused:
                    cursor.execute(f"select count(*) from `{mysql_layers}{schema}`.sample")
                assert refused.value.args[0] == 1142, refused.value  # SELECT command denied
            with pytest.raises(pymysql.err.OperationalError) as refused:
                cursor.execute(f"delete from `{mysql_layers}marts`.sample")
            assert refused.value.args[0] == 1142
    finally:
        conn.close()


def test_granting_again_revokes_what_the_account_held_before(tmp_path, mysql_layers, bi_user):
    user, password = bi_user
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute("create user %s@'%%' identified by %s", (user, password))
            cursor.execute(f"grant select on `{mysql_layers}raw_live`.* to %s@'%%'", (user,))
    finally:
        conn.close()

    run_cli(["bi", "grant"], serving_env(tmp_path, mysql_layers, user, password))

    conn = pymysql.connect(host="127.0.0.1", port=3306, user=user, password=password)
    try:
        with conn.cursor() as cursor, pytest.raises(pymysql.err.OperationalError):
            cursor.execute(f"select count(*) from `{mysql_layers}raw_live`.sample")
    finally:
        conn.close()


def test_a_missing_bi_password_names_the_setting(tmp_path, mysql_layers):
    env = serving_env(tmp_path, mysql_layers)
    env["MEDALLION_BI_USER"] = "bi_never_created"
    result = run_cli(["bi", "grant"], env, expect=2)
    assert "MEDALLION_BI_PASSWORD" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_the_pbids_file_points_power_bi_at_the_marts(tmp_path, mysql_layers):
    path = tmp_path / "out" / "marts.pbids"
    run_cli(["bi", "pbids", "--pbids", str(path)], serving_env(tmp_path, mysql_layers))
    content = json.loads(path.read_text())
    (connection,) = content["connections"]
    assert connection["details"]["protocol"] == "mysql"
    assert connection["details"]["address"] == {
        "server": "127.0.0.1:3306",
        "database": f"{mysql_layers}marts",
    }
    assert "password" not in path.read_text().lower()


def test_export_from_mysql_writes_one_parquet_file_per_mart_with_exact_types(
    tmp_path, mysql_layers
):
    out = tmp_path / "export"
    run_cli(["export", "--target", "mysql", "--out", str(out)], serving_env(tmp_path, mysql_layers))
    assert sorted(p.name for p in out.iterdir()) == ["sample.parquet"]
    table = pq.read_table(out / "sample.parquet")
    assert str(table.schema.field("total_spent").type) == "decimal128(18, 2)"
    assert str(table.schema.field("is_current").type) == "bool"
    rows = sorted(table.to_pylist(), key=lambda r: r["customer_id"])
    assert rows == [
        {
            "customer_id": 1,
            "full_name": "Zoë 🚀",
            "total_spent": Decimal("10000.00"),
            "is_current": True,
            "order_date": date(2024, 2, 29),
        },
        {
            "customer_id": 2,
            "full_name": None,
            "total_spent": Decimal("-0.01"),
            "is_current": False,
            "order_date": None,
        },
    ]


def test_export_from_duckdb_matches_the_published_marts_row_for_row(tmp_path):
    import duckdb

    env = pipeline_env(tmp_path, "", "", "")
    # export reads the published marts (medallion/publish.py), a file beside the
    # warehouse named after it; the warehouse itself is not read
    built = Path(env["MEDALLION_DUCKDB_PATH"])
    warehouse = built.with_name(f"{built.stem}_marts.duckdb")
    warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.monthly_summary as select * from (values"
            " (2024, 1, cast(100.10 as decimal(18,2)), true),"
            " (2024, 2, cast(-0.01 as decimal(18,2)), false)) as t(y, m, net_revenue, flag)"
        )
        conn.execute("create view marts.not_a_mart as select 1 as x")
    out = tmp_path / "export"
    run_cli(["export", "--out", str(out)], env)
    assert sorted(p.name for p in out.iterdir()) == ["monthly_summary.parquet"]
    table = pq.read_table(out / "monthly_summary.parquet")
    assert str(table.schema.field("net_revenue").type) == "decimal128(18, 2)"
    assert sorted(tuple(r.values()) for r in table.to_pylist()) == sorted(
        query(warehouse, "select * from marts.monthly_summary")
    )


def test_export_without_a_warehouse_says_to_build_first(tmp_path):
    env = pipeline_env(tmp_path, "", "", "")
    result = run_cli(["export", "--out", str(tmp_path / "x")], env, expect=2)
    assert "run `medallion run` first" in result.stdout

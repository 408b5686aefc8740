"""Serving the marts to Power BI: a read-only MySQL account, Parquet files, a .pbids file.

Power BI reads the gold layer three ways, in order of preference:

* the MySQL connector, logged in as a BI account that may ``select`` on the marts
  schema and nothing else (``medallion bi grant``);
* the Parquet connector (or a lake), from one Parquet file per mart
  (``medallion export``), written from either warehouse;
* DuckDB's ODBC driver on the published marts file (``publish.published_path``),
  opened read-only: a run never writes that file in place, so a reader holding it open
  never blocks the pipeline (see docs/powerbi.md).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .settings import ConfigError, MySQLWarehouse, schema_prefix

BATCH_ROWS = 50_000


# --- the BI account -------------------------------------------------------------------

_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")


@dataclass(frozen=True)
class BIAccount:
    """The read-only login Power BI uses (MEDALLION_BI_USER, MEDALLION_BI_PASSWORD)."""

    user: str
    password: str
    host: str = "%"

    @classmethod
    def from_environment(cls) -> BIAccount:
        user = os.environ.get("MEDALLION_BI_USER", "powerbi_reader")
        password = os.environ.get("MEDALLION_BI_PASSWORD")
        host = os.environ.get("MEDALLION_BI_HOST", "%")
        if not _ACCOUNT_NAME.match(user):
            raise ConfigError(
                f"MEDALLION_BI_USER must be 1-32 letters, digits or underscores, got {user!r}"
            )
        if not password:
            raise ConfigError(
                "MEDALLION_BI_PASSWORD is not set: choose the BI account's password "
                "(it is never stored by medallion, nor printed)."
            )
        if not re.match(r"^[A-Za-z0-9_.%:-]{1,255}$", host):
            raise ConfigError(f"MEDALLION_BI_HOST is not a host pattern: {host!r}")
        return cls(user=user, password=password, host=host)


def grant_bi_account(server: MySQLWarehouse, account: BIAccount) -> str:
    """Create (or reset) the BI account: ``select`` on the marts schema, nothing else.

    Every privilege it held before is revoked first, so re-running this after the
    marts schema moved leaves no stale grant behind. Returns the marts schema.
    """
    import pymysql

    marts = schema_prefix() + "marts"
    try:
        conn = server.connect(autocommit=True)
    except pymysql.MySQLError as exc:
        raise ConfigError(
            f"Cannot log in to MySQL at {server.host}:{server.port} as {server.user!r} "
            f"(MEDALLION_MYSQL_USER, MEDALLION_MYSQL_PASSWORD): {exc.args[-1]}"
        ) from None
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select count(*) from information_schema.schemata where schema_name=%s", (marts,)
            )
            if cursor.fetchone()[0] == 0:
                raise ConfigError(
                    f"The marts schema {marts!r} does not exist on {server.host}:{server.port}: "
                    "run `medallion run --target mysql` first."
                )
            cursor.execute(
                "create user if not exists %s@%s identified by %s",
                (account.user, account.host, account.password),
            )
            cursor.execute(
                "alter user %s@%s identified by %s", (account.user, account.host, account.password)
            )
            cursor.execute(
                "revoke all privileges, grant option from %s@%s", (account.user, account.host)
            )
            cursor.execute(f"grant select on `{marts}`.* to %s@%s", (account.user, account.host))
    except pymysql.MySQLError as exc:
        raise ConfigError(
            f"MySQL refused to set up the BI account {account.user!r}: {exc.args[-1]} "
            f"({server.user!r} needs CREATE USER and select on `{marts}` with grant option)"
        ) from None
    finally:
        conn.close()
    return marts


def write_pbids(path: Path, server: MySQLWarehouse) -> Path:
    """A Power BI data-source file: opening it connects Power BI Desktop to the marts.

    It holds the server and database only; Power BI asks for the BI account's user and
    password itself.
    """
    content = {
        "version": "0.1",
        "connections": [
            {
                "details": {
                    "protocol": "mysql",
                    "address": {
                        "server": f"{server.host}:{server.port}",
                        "database": schema_prefix() + "marts",
                    },
                },
                "options": {},
                "mode": "Import",
            }
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")
    return path


# --- Parquet export -------------------------------------------------------------------


def export_marts(target: str, out_dir: Path) -> dict[str, int]:
    """Write every published mart (``publish``) as ``<out_dir>/<table>.parquet``.

    Returns rows written per mart. Money keeps its decimal(18, 2) type in Parquet.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if target == "duckdb":
        return _export_duckdb(out_dir)
    if target == "mysql":
        return _export_mysql(MySQLWarehouse.from_environment(), out_dir)
    if target == "spark":
        return _export_spark(out_dir)
    raise ConfigError(f"Unknown target {target!r} (duckdb, mysql or spark)")


def _export_spark(out_dir: Path) -> dict[str, int]:
    """The marts of the newest publication on Spark (``publish``: one folder of Parquet
    files per mart, which the tables of ``marts`` point at), read with DuckDB, so no
    JVM starts. A local warehouse only."""
    import duckdb

    from .publish import last_publication
    from .spark_control import check, naive_utc_select

    check("medallion export --target spark")
    published = last_publication("spark")
    root = Path(published["location"]) if published else None
    folders = (
        sorted(p for p in root.glob("*") if p.is_dir() and any(p.glob("*.parquet"))) if root else []
    )
    if not folders:
        raise ConfigError(
            "No published marts on Spark"
            + (f" in {root}" if root else "")
            + ": run `medallion run --target spark` first."
        )
    written: dict[str, int] = {}
    with duckdb.connect() as conn:
        conn.execute("set timezone = 'UTC'")
        for folder in folders:
            source = f"read_parquet('{folder}/*.parquet')"
            conn.execute(
                f"copy ({naive_utc_select(conn, source)})"
                f" to '{out_dir / (folder.name + '.parquet')}' (format parquet, compression zstd)"
            )
            written[folder.name] = conn.execute(f"select count(*) from {source}").fetchone()[0]
    return written


def _export_duckdb(out_dir: Path) -> dict[str, int]:
    import duckdb

    from .publish import published_path, published_schema

    database = published_path()
    if not database.exists():
        raise ConfigError(f"No published marts at {database}: run `medallion run` first.")
    marts = published_schema()
    written: dict[str, int] = {}
    with duckdb.connect(str(database), read_only=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "select table_name from information_schema.tables"
                " where table_schema = ? and table_type = 'BASE TABLE' order by 1",
                [marts],
            ).fetchall()
        ]
        if not tables:
            raise ConfigError(f"{database} has no marts in schema {marts!r}: run first.")
        for table in tables:
            target = out_dir / f"{table}.parquet"
            conn.execute(
                f'copy (select * from "{marts}"."{table}") to \'{target}\''
                " (format parquet, compression zstd)"
            )
            written[table] = conn.execute(f'select count(*) from "{marts}"."{table}"').fetchone()[0]
    return written


_MYSQL_TYPES = {
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "timestamp": pa.timestamp("us"),
}


def _arrow_type(data_type: str, column_type: str, precision: Any, scale: Any) -> pa.DataType:
    if column_type.startswith("tinyint(1)"):
        return pa.bool_()
    if data_type in ("decimal", "numeric"):
        return pa.decimal128(int(precision), int(scale))
    if data_type in ("tinyint", "smallint", "mediumint", "int", "bigint"):
        return pa.int64()
    if data_type in ("float", "double"):
        return pa.float64()
    if data_type in _MYSQL_TYPES:
        return _MYSQL_TYPES[data_type]
    return pa.string()


def _export_mysql(server: MySQLWarehouse, out_dir: Path) -> dict[str, int]:
    import pymysql.cursors

    marts = schema_prefix() + "marts"
    written: dict[str, int] = {}
    conn = server.connect(cursorclass=pymysql.cursors.SSCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select table_name, column_name, data_type, column_type, numeric_precision,"
                " numeric_scale from information_schema.columns where table_schema = %s"
                " order by table_name, ordinal_position",
                (marts,),
            )
            columns: dict[str, list[tuple[str, pa.DataType]]] = {}
            for table, column, data_type, column_type, precision, scale in cursor.fetchall():
                columns.setdefault(table, []).append(
                    (column, _arrow_type(data_type, column_type, precision, scale))
                )
        if not columns:
            raise ConfigError(f"MySQL has no marts in schema {marts!r}: build first.")
        for table, fields in columns.items():
            schema = pa.schema(fields)
            count = 0
            with pq.ParquetWriter(out_dir / f"{table}.parquet", schema, compression="zstd") as out:
                with conn.cursor() as cursor:
                    names = ", ".join(f"`{name}`" for name, _ in fields)
                    cursor.execute(f"select {names} from `{marts}`.`{table}`")
                    while rows := cursor.fetchmany(BATCH_ROWS):
                        out.write_table(_rows_to_arrow(rows, schema))
                        count += len(rows)
                if count == 0:
                    out.write_table(schema.empty_table())
            written[table] = count
    finally:
        conn.close()
    return written


def _rows_to_arrow(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    arrays = []
    for index, field in enumerate(schema):
        values = [row[index] for row in rows]
        if pa.types.is_boolean(field.type):
            values = [None if v is None else bool(v) for v in values]
        elif pa.types.is_decimal(field.type):
            values = [None if v is None else Decimal(v) for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)

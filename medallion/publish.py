"""Publishing the marts: what readers see changes only when a whole build has passed its
checks, all together, in one atomic step (write, audit, publish).

dbt builds and tests the gold layer where readers do not look; ``publish`` then puts a
copy of every mart where they do:

- **DuckDB.** The published marts are a file of their own (``MEDALLION_MARTS_PATH``,
  default ``<warehouse>_<schema prefix>marts.duckdb`` beside the warehouse file, e.g.
  ``warehouse/medallion_marts.duckdb``), schema ``marts``. It is written whole under a
  temporary name in the same folder, then moved into place with ``os.replace``, which
  is atomic. The pipeline never opens the published file, so a reader holding it open
  (read-only) neither blocks a run nor sees a half-written file: it keeps reading the
  file it opened until it reconnects, and a new connection sees the new marts.
- **MySQL.** dbt builds the marts in ``<prefix>marts_build``; publishing copies each
  into ``<prefix>marts`` under a temporary name (``CREATE TABLE … LIKE``, which keeps the
  indexes, then ``INSERT … SELECT``) and swaps all of them in with one ``RENAME TABLE``
  statement, which MySQL and MariaDB carry out atomically; the old tables are dropped
  after. The BI account's grant is on the schema, so it holds across the swap.
- **Spark.** dbt builds the marts in ``<prefix>marts_build`` (Parquet tables in Spark's
  warehouse folder); publishing copies each one's Parquet files into a new publication
  folder, ``<warehouse>/<prefix>published_marts/<time>-<id>/<table>/``, then, in one
  pass through dbt (``spark_publish_marts``, Spark's metastore), points each table of
  ``<prefix>marts`` at its new folder (``alter table … set location``; dropped and
  created again when its columns changed). Each table changes at once, but not all of
  them together: a reader that reads two marts during that pass (well under a second
  per table) may see one new and one old. Once the new publication is recorded, the
  folders older than the previously recorded one are deleted; that one (its last
  readers may still be reading it) and any newer folder a failed pass left are kept
  until the next publication.

A run that stops before publishing (a structural failure, a failing test, a broken gold
rule) leaves the published marts exactly as they were. Each publication is recorded in
``audit.publications`` (``medallion status`` shows the newest).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .run_audit import opened
from .settings import (
    MYSQL_COLLATION,
    ConfigError,
    MySQLWarehouse,
    built_schema,
    check_target,
    schema_prefix,
    warehouse_path,
)

# Suffixes of the tables a publication on MySQL creates for a moment; a publication
# that was killed leaves them behind, and the next one drops them first.
NEXT, PREVIOUS = "__next", "__prev"
PUBLICATIONS_TABLE = "publications"


class PublishFailed(Exception):
    """The marts could not be published; the published marts are as they were."""


@dataclass
class Publication:
    """What one publication put where readers look."""

    target: str
    location: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    publication_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def published_path() -> Path:
    """The DuckDB file of the published marts (``MEDALLION_MARTS_PATH``); by default
    beside the warehouse file, named after it and the schema prefix, so two warehouses
    (or two environments of one) never share one."""
    raw = os.environ.get("MEDALLION_MARTS_PATH")
    if raw:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (Path.cwd() / path).resolve()
    warehouse = warehouse_path()
    return warehouse.with_name(f"{warehouse.stem}_{schema_prefix()}marts.duckdb")


def published_schema() -> str:
    """The schema readers query: ``marts`` (with the environment's prefix on MySQL; the
    published DuckDB file is the environment's own, so its schema is plain ``marts``)."""
    return "marts"


def publish(target: str) -> Publication:
    """Copy every mart of the last build to where readers look, atomically."""
    started = time.perf_counter()
    if check_target(target) == "mysql":
        publication = _publish_mysql(MySQLWarehouse.from_environment())
    elif target == "spark":
        recorded = last_publication("spark")  # before this one is recorded
        publication = _publish_spark()
    else:
        publication = _publish_duckdb()
    publication.seconds = time.perf_counter() - started
    _record(publication)
    if target == "spark":
        _delete_old_spark_publications(recorded["location"] if recorded else None)
    return publication


# --- DuckDB -------------------------------------------------------------------------------


def _publish_duckdb() -> Publication:
    import duckdb

    source = warehouse_path()
    out = published_path()
    if out.resolve() == source.resolve():
        raise ConfigError(
            f"MEDALLION_MARTS_PATH is the warehouse file itself ({out}): the published "
            "marts need a file of their own"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    built = schema_prefix() + built_schema("marts", "duckdb")
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    rows: dict[str, int] = {}
    try:
        with opened("duckdb") as warehouse:
            tables = _duckdb_marts(warehouse, built)
            warehouse.execute(f"attach '{_sql_text(temporary)}' as medallion_publish")
            try:
                warehouse.execute('create schema medallion_publish."marts"')
                for table in tables:
                    warehouse.execute(
                        f'create table medallion_publish."marts"."{table}" as '
                        f'select * from "{built}"."{table}"'
                    )
                    rows[table] = warehouse.rows(
                        f'select count(*) from medallion_publish."marts"."{table}"'
                    )[0][0]
            finally:
                warehouse.execute("detach medallion_publish")
        _fsync(temporary)
        os.replace(temporary, out)  # atomic: readers see the old file or the new one
        _fsync(out.parent)
    except duckdb.Error as exc:
        raise PublishFailed(
            f"Publishing the marts to {out} failed ({exc}); the published marts are as they were"
        ) from None
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return Publication(target="duckdb", location=str(out), rows=rows)


def _duckdb_marts(warehouse, schema: str) -> list[str]:
    tables = [
        name
        for (name,) in warehouse.rows(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_type = 'BASE TABLE' and table_catalog = current_database() "
            "order by table_name",
            (schema,),
        )
    ]
    if not tables:
        raise PublishFailed(f"The warehouse has no marts in schema {schema!r}: nothing to publish")
    return tables


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to the disk, so a power cut after the rename
    finds the new file whole."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- MySQL --------------------------------------------------------------------------------


def _publish_mysql(server: MySQLWarehouse) -> Publication:
    import pymysql

    built = schema_prefix() + built_schema("marts", "mysql")
    published = schema_prefix() + published_schema()
    try:
        conn = server.connect(autocommit=True, collation=MYSQL_COLLATION)
    except pymysql.MySQLError as exc:
        raise PublishFailed(
            f"Cannot reach the MySQL warehouse at {server.host}:{server.port}: {exc.args[-1]}"
        ) from None
    rows: dict[str, int] = {}
    try:
        with conn.cursor() as cursor:
            tables = _mysql_tables(cursor, built)
            if not tables:
                raise PublishFailed(
                    f"MySQL has no marts in {built!r}: nothing to publish (build first)"
                )
            cursor.execute(
                f"create database if not exists `{published}` "
                f"character set utf8mb4 collate {MYSQL_COLLATION}"
            )
            present = _mysql_tables(cursor, published)
            for leftover in sorted(t for t in present if t.endswith((NEXT, PREVIOUS))):
                cursor.execute(f"drop table `{published}`.`{leftover}`")
            present = sorted(t for t in present if not t.endswith((NEXT, PREVIOUS)))
            for table in tables:
                cursor.execute(
                    f"create table `{published}`.`{table}{NEXT}` like `{built}`.`{table}`"
                )
                cursor.execute(
                    f"insert into `{published}`.`{table}{NEXT}` select * from `{built}`.`{table}`"
                )
                rows[table] = cursor.rowcount
            # One statement: every old mart aside, every new one in (atomic for readers);
            # a mart the project no longer builds leaves the published schema too.
            moves = [
                f"`{published}`.`{t}` to `{published}`.`{t}{PREVIOUS}`" for t in sorted(present)
            ]
            moves += [f"`{published}`.`{t}{NEXT}` to `{published}`.`{t}`" for t in tables]
            cursor.execute("rename table " + ", ".join(moves))
            for table in present:
                cursor.execute(f"drop table `{published}`.`{table}{PREVIOUS}`")
    except pymysql.MySQLError as exc:
        raise PublishFailed(
            f"Publishing the marts into `{published}` failed: {exc.args[-1]}; "
            "the published marts are as they were"
        ) from None
    finally:
        conn.close()
    return Publication(
        target="mysql", location=f"`{published}` on {server.host}:{server.port}", rows=rows
    )


def _mysql_tables(cursor, schema: str) -> list[str]:
    cursor.execute(
        "select table_name from information_schema.tables where table_schema = %s "
        "and table_type = 'BASE TABLE' order by table_name",
        (schema,),
    )
    return [row[0] for row in cursor.fetchall()]


# --- Spark --------------------------------------------------------------------------------

SPARK_PUBLICATIONS = "published_marts"


def spark_publications_root() -> Path:
    """The folder of the Spark target's publication folders (a local warehouse: checked
    by ``spark_control.check``)."""
    from .settings import spark_warehouse
    from .spark_control import check

    check("Publishing the marts on Spark")
    return Path(spark_warehouse()) / f"{schema_prefix()}{SPARK_PUBLICATIONS}"


def _publish_spark() -> Publication:
    import datetime as dt
    import json
    import shutil

    from .spark_control import built_folders
    from .transform import BuildFailed, run_dbt

    root = spark_publications_root()
    built = schema_prefix() + built_schema("marts", "spark")
    tables = {
        table: folder for (schema, table), folder in built_folders().items() if schema == built
    }
    if not tables:
        raise PublishFailed(f"Spark has no marts in {built!r}: nothing to publish (build first)")
    publication = Publication(target="spark", location="")
    # to the microsecond: the folders' names sort as they were made (``_delete_old...``)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = root / f"{stamp}-{publication.publication_id[:8]}"
    publication.location = str(folder)
    try:
        for table, source in sorted(tables.items()):
            target = folder / table
            target.mkdir(parents=True)
            for part in sorted(source.glob("*.parquet")):
                shutil.copyfile(part, target / part.name)
            publication.rows[table] = _parquet_rows(target)
        _fsync_tree(folder)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise PublishFailed(
            f"Publishing the marts on Spark failed: copying them into {folder}: {exc}; "
            "the published marts are as they were"
        ) from None
    locations = {table: str(folder / table) for table in sorted(tables)}
    arguments = {
        "schema": schema_prefix() + published_schema(),
        "built": built,
        "publications": str(root),
    }
    try:
        run_dbt(
            [
                "run-operation",
                "spark_publish_marts",
                "--args",
                json.dumps({**arguments, "tables": locations}),
            ],
            target="spark",
        )
    except BuildFailed as exc:
        # Some tables may point at the new folder already: it stays (and is not recorded).
        reason = str(exc).strip().splitlines()  # dbt's: its command, then the failure
        raise PublishFailed(
            f"Publishing the marts on Spark failed ({reason[-1].strip() if reason else exc!r}): "
            f"some tables of marts may read the new publication, {folder}, others the "
            "previous one, and a mart whose columns changed may be missing; publishing "
            "again (`medallion build --target spark`, which publishes when the marts are "
            "behind) points them all at one"
        ) from None
    return publication


def _delete_old_spark_publications(recorded: str | None) -> None:
    """Delete the publication folders older than ``recorded``, the publication recorded
    before the one just recorded: that one stays for its last readers, and so does any
    newer folder a failed metastore pass left (tables pointed at it until this
    publication). Without a previous record under this root nothing is deleted: what a
    folder held cannot be told."""
    import shutil

    root = spark_publications_root()
    if recorded is None or Path(recorded).parent != root or not root.is_dir():
        return
    keep_from = Path(recorded).name  # the folders' names sort by when they were made
    for old in sorted(p for p in root.iterdir() if p.is_dir() and p.name < keep_from):
        shutil.rmtree(old, ignore_errors=True)


def _parquet_rows(folder: Path) -> int:
    import duckdb

    with duckdb.connect() as conn:
        files = str(folder / "*.parquet").replace("'", "''")
        return conn.execute(f"select count(*) from read_parquet('{files}')").fetchone()[0]


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        _fsync(path)
    _fsync(folder)


# --- the record ---------------------------------------------------------------------------


def _record(publication: Publication) -> None:
    """One row in ``audit.publications``: when, where, how many marts and rows."""
    from .run_audit import AUDIT_SCHEMA, ensure_schema, utc_now

    with opened(publication.target) as warehouse:
        ensure_schema(warehouse)
        relation = warehouse.relation(AUDIT_SCHEMA, PUBLICATIONS_TABLE)
        text = "varchar(255)" if warehouse.is_mysql else "varchar"
        warehouse.execute(
            f"create table if not exists {relation} (publication_id {text}, "
            f"published_at timestamp, location {text}, marts integer, mart_rows bigint, "
            "seconds double)"
        )
        warehouse.execute(
            f"insert into {relation} values (?, ?, ?, ?, ?, ?)",
            (
                publication.publication_id,
                utc_now(),
                publication.location,
                len(publication.rows),
                sum(publication.rows.values()),
                round(publication.seconds, 3),
            ),
        )
        warehouse.commit()


def is_behind(target: str, last_built_at) -> bool:
    """Whether the published marts are missing or older than the last successful build."""
    if check_target(target) == "duckdb" and not published_path().exists():
        return True
    last = last_publication(target)
    if last is None:
        return True
    if target == "spark" and not Path(last["location"]).is_dir():
        return True
    return last_built_at is not None and last["published_at"] < last_built_at


def last_publication(target: str) -> dict | None:
    """The newest publication recorded in this warehouse, or None."""
    from .run_audit import AUDIT_SCHEMA

    with opened(target, read_only=True) as warehouse:
        if PUBLICATIONS_TABLE not in warehouse.tables(AUDIT_SCHEMA):
            return None
        found = warehouse.rows(
            "select publication_id, published_at, location, marts, mart_rows, seconds from "
            f"{warehouse.relation(AUDIT_SCHEMA, PUBLICATIONS_TABLE)} "
            "order by published_at desc limit 1"
        )
    if not found:
        return None
    keys = ("publication_id", "published_at", "location", "marts", "mart_rows", "seconds")
    return dict(zip(keys, found[0], strict=True))

"""Whether ``dbt build`` has anything to do: a build that would read the same raw data
with the same project gives the same warehouse, so it is skipped.

The *signature* of a build is what its result depends on:

* the raw layer: for each raw table (dlt's own ``_dlt_*`` tables left out), its row
  count and the newest and oldest ``_dlt_load_id`` of its rows. dlt stamps every row it writes
  with the id of its load, so a load that inserts, updates, tombstones or replaces rows
  moves the newest id, and one that removes rows moves the count; a run whose sources
  did not change writes no row (the archive's fingerprint is unchanged, the live cursor
  finds nothing new, every file was loaded before), so the signature stays. A load
  that only saves the pipelines' state (``_dlt_pipeline_state``) changes nothing dbt
  reads, and is not counted. It costs one ``count(*), max(_dlt_load_id)`` per raw
  table: a scan that grows with the table (milliseconds on DuckDB; on MariaDB here
  0.4 s for a 636,000-row table read cold).
* the project: the content of every file dbt reads (models, macros, seeds, snapshots,
  singular tests, ``dbt_project.yml``, ``profiles.yml``) and the versions of dbt-core
  and its adapters.

After every successful full build (no ``--select``), the signature is recorded in
``audit.dbt_builds`` of the same warehouse, so it follows the warehouse like the
pipelines' state does. A build whose signature equals the last recorded one is
skipped; ``--force`` builds anyway. A failed or killed build records nothing, so the
next build runs.

A build may also be *incremental* (``changed_since``): when the last recorded build
had the same project and, since then, only the live database's raw tables took new
rows by merges (``raw_live``, none of them smaller nor replaced; the landing files
too, whose models are always rebuilt whole), the
build passes the newest load id that build had read to dbt as
``MEDALLION_CHANGED_SINCE``, and the incremental models along the transactions rewrite
only what a later load touched. Anything else (no record, another project, an archive
reload, a raw table that lost rows or went away, ``--full-refresh``) builds them whole.
An incremental build also selects only what the changed sources feed
(``source:live+``, and ``source:files+`` when a landing file arrived): every other
node reads the same archive, files and seeds as the last build, which built and tested
it.

An incremental build's tests check the rows it wrote, not the ones it left alone, so a
build that could be incremental is made whole when the last whole build started
``whole_build_every_days()`` ago or more (7 days by default): whatever the incremental
builds in between missed, a whole build rebuilds and tests every row. Each recorded
build says whether it was whole (``"whole"`` in its ``detail``; not part of the
signature). A whole build writes a mark before it runs (``mark_whole_build_started``):
if it fails or is killed, having rewritten rows that no test has passed, the mark is
the newest row and the next build is whole too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .run_audit import AUDIT_SCHEMA, AuditWarehouse, ensure_schema, opened, utc_now
from .settings import PROJECT_DIR, RAW_SCHEMAS, configured_days

BUILDS_TABLE = "dbt_builds"

DEFAULT_WHOLE_BUILD_EVERY_DAYS = 7.0
# how a whole build's ``detail`` says so (``json.dumps(..., sort_keys=True)``)
WHOLE_MARK = '"whole": true'
# the signature of the row that marks a whole build as started (``mark_whole_build_started``)
STARTED_SIGNATURE = ""

# What dbt reads: everything else in the repository cannot change a build.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "snapshots", "tests")
PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".md")
PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-mysql", "dbt-spark")

# Column name -> (DuckDB type, MySQL type).
BUILD_COLUMNS = {
    "built_at": ("timestamp", "datetime(6) not null"),
    "signature": ("varchar", "varchar(64) not null"),
    "seconds": ("double", "double"),
    "detail": ("varchar", "text"),
}


def project_digest() -> str:
    """A hash of every file dbt reads and of the dbt versions installed."""
    digest = hashlib.sha256()
    paths = [PROJECT_DIR / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        paths += [
            path
            for path in (PROJECT_DIR / folder).rglob("*")
            if path.is_file() and path.suffix in PROJECT_SUFFIXES
        ]
    for path in sorted(paths):
        if path.exists():
            digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    for package in PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{package}=={version}\0".encode())
    return digest.hexdigest()


def whole_build_every_days() -> tuple[float, str]:
    """How many days the last whole build may be old before a build that could be
    incremental is made whole, and where that came from: ``MEDALLION_WHOLE_BUILD_EVERY_DAYS``,
    else ``[build] whole_build_every_days`` in ``.dlt/config.toml``, else 7; 0 never
    makes one whole for its age."""
    return configured_days(
        "MEDALLION_WHOLE_BUILD_EVERY_DAYS",
        "build.whole_build_every_days",
        DEFAULT_WHOLE_BUILD_EVERY_DAYS,
        "never",
    )


def raw_tables(warehouse: AuditWarehouse) -> dict[str, list[Any]]:
    """Per raw table (``schema.table``): [rows, newest ``_dlt_load_id``, oldest
    ``_dlt_load_id``]. dlt's own tables are left out: a load that only saved the
    pipelines' state changes no row dbt reads. The oldest id moves when a load replaced
    the table (every row gets the new id), which an incremental build cannot follow."""
    found: dict[str, list[Any]] = {}
    for schema in RAW_SCHEMAS.values():
        with_load_id = {
            table
            for (table,) in warehouse.rows(
                "select table_name from information_schema.columns"
                " where table_schema = ? and column_name = '_dlt_load_id'",
                (warehouse.schema(schema),),
            )
        }
        for table in sorted(warehouse.tables(schema)):
            if table.startswith("_dlt_"):
                continue
            relation = warehouse.relation(schema, table)
            ids = "max(_dlt_load_id), min(_dlt_load_id)" if table in with_load_id else "null, null"
            count, newest, oldest = warehouse.rows(f"select count(*), {ids} from {relation}")[0]
            found[f"{schema}.{table}"] = [
                int(count),
                None if newest is None else str(newest),
                None if oldest is None else str(oldest),
            ]
    return found


def _load_id_order(load_id: str) -> tuple[int, str]:
    """dlt load ids are the load's start time (``1733224523.123456``): by value."""
    whole, _, fraction = load_id.partition(".")
    return int(whole), fraction.ljust(9, "0")


@dataclass
class BuildState:
    """The signature of the build about to run, and the last one recorded."""

    target: str
    signature: str
    detail: str
    last_signature: str | None
    last_built_at: Any
    last_detail: str | None = None
    # the newest recorded whole build (None: none recorded), and how old it may be
    # before a build is made whole (None or 0: never for its age)
    last_whole_at: dt.datetime | None = None
    whole_every_days: float | None = None

    @classmethod
    def read(cls, target: str) -> BuildState:
        every, _ = whole_build_every_days()  # a bad setting fails before reading anything
        warehouse = AuditWarehouse(target)
        if not warehouse.exists():
            return cls(target, "", "{}", None, None, whole_every_days=every)
        with opened(target) as warehouse:
            tables = raw_tables(warehouse)
            detail = json.dumps({"raw_tables": tables, "project": project_digest()}, sort_keys=True)
            signature = hashlib.sha256(detail.encode()).hexdigest()
            last = None
            last_whole = None
            if BUILDS_TABLE in warehouse.tables(AUDIT_SCHEMA):
                relation = warehouse.relation(AUDIT_SCHEMA, BUILDS_TABLE)
                found = warehouse.rows(
                    f"select signature, built_at, detail from {relation}"
                    " order by built_at desc limit 1"
                )
                last = found[0] if found else None
                whole = warehouse.rows(
                    f"select built_at, seconds from {relation} where detail like ?"
                    " order by built_at desc limit 1",
                    (f"%{WHOLE_MARK}%",),
                )
                if whole:  # when it started: its row is written when it has finished
                    built_at, seconds = whole[0]
                    last_whole = built_at - dt.timedelta(seconds=float(seconds or 0))
        return cls(
            target,
            signature,
            detail,
            last[0] if last else None,
            last[1] if last else None,
            last[2] if last else None,
            last_whole_at=last_whole,
            whole_every_days=every,
        )

    def whole_build_due(self, now: dt.datetime | None = None) -> bool:
        """True when the last whole build started ``whole_every_days`` ago or more (or
        none was recorded): a build that could be incremental is then made whole. Its
        start, not its end, so that with daily runs at a fixed hour the seventh is
        whole, not the eighth."""
        if not self.whole_every_days:
            return False
        if self.last_whole_at is None:
            return True
        now = now or utc_now()
        return now - self.last_whole_at >= dt.timedelta(days=self.whole_every_days)

    @property
    def unfinished_whole_build(self) -> bool:
        """The newest row is the mark of a whole build that never finished (failed or
        killed): it may have rewritten rows that no test has passed since."""
        return self.last_signature == STARTED_SIGNATURE

    @property
    def unchanged(self) -> bool:
        """The raw layer and the project are as at the last successful build."""
        return bool(self.signature) and self.signature == self.last_signature

    @property
    def changed_since(self) -> str | None:
        """The newest load id of the last recorded build when this build may be
        incremental (only live raw tables grew since, same project); else None."""
        if not self.signature or not self.last_detail:
            return None
        try:
            last = json.loads(self.last_detail)
            last_tables = last["raw_tables"]
        except (ValueError, KeyError, TypeError):
            return None
        now = json.loads(self.detail)
        if last.get("project") != now["project"]:
            return None
        tables = now["raw_tables"]
        for name, figures in last_tables.items():
            if name not in tables:
                return None
            schema = name.split(".", 1)[0]
            if schema == RAW_SCHEMAS["files"]:
                continue
            if tables[name] == figures:
                continue
            if schema != RAW_SCHEMAS["live"] or len(figures) != 3:
                return None
            # a live table may only have grown by merges: no row lost, none replaced
            # (a replace, say ``ingest --full-refresh`` or a table without a key, gives
            # every row the new load id, so the oldest one moves)
            if tables[name][0] < figures[0] or tables[name][2] != figures[2]:
                return None
        for name in tables.keys() - last_tables.keys():
            if name.split(".", 1)[0] not in (RAW_SCHEMAS["live"], RAW_SCHEMAS["files"]):
                return None
        newest = [figures[1] for figures in last_tables.values() if figures[1]]
        return max(newest, key=_load_id_order) if newest else None

    @property
    def changed_sources(self) -> list[str]:
        """The dbt sources (``archive``, ``live``, ``files``) with a raw table whose
        figures differ from the last recorded build's (every one when there is none)."""
        try:
            last_tables = json.loads(self.last_detail or "")["raw_tables"]
        except (ValueError, KeyError, TypeError):
            return sorted(RAW_SCHEMAS)
        tables = json.loads(self.detail).get("raw_tables", {})
        changed = {
            name.split(".", 1)[0]
            for name in tables.keys() | last_tables.keys()
            if tables.get(name) != last_tables.get(name)
        }
        return sorted(source for source, schema in RAW_SCHEMAS.items() if schema in changed)

    def record(self, seconds: float, whole: bool) -> None:
        """Write this signature as the last successful full build, and whether the build
        was whole (in ``detail``, outside the signature, which says what was read)."""
        detail = {**json.loads(self.detail), "whole": whole}
        self._insert(self.signature, seconds, detail)

    def mark_whole_build_started(self) -> None:
        """Write the mark of a whole build about to run. Until the build's own row
        follows it, it is the newest row: its empty signature matches no build (nothing
        is skipped) and its ``detail`` names no raw table (nothing is incremental), so
        a whole build that failed or was killed, whose rewritten rows no test has
        passed, is followed by a whole build."""
        self._insert(STARTED_SIGNATURE, 0.0, {"whole": "started"})

    def _insert(self, signature: str, seconds: float, detail: dict[str, Any]) -> None:
        with opened(self.target) as warehouse:
            ensure_schema(warehouse)
            kind = 1 if warehouse.is_mysql else 0
            relation = warehouse.relation(AUDIT_SCHEMA, BUILDS_TABLE)
            body = ", ".join(f"{name} {types[kind]}" for name, types in BUILD_COLUMNS.items())
            warehouse.execute(f"create table if not exists {relation} ({body})")
            warehouse.execute(
                f"insert into {relation} ({', '.join(BUILD_COLUMNS)}) values (?, ?, ?, ?)",
                (utc_now(), signature, round(seconds, 3), json.dumps(detail, sort_keys=True)),
            )
            warehouse.commit()

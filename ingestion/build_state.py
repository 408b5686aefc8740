"""Whether ``dbt build`` has anything to do: a build that would read the same raw data
with the same project gives the same warehouse, so it is skipped.

The *signature* of a build is what its result depends on:

* the raw layer: for each raw schema, the number and the newest id of the loads dlt
  completed into it (``_dlt_loads``). Every load that writes, updates, tombstones or
  replaces a raw row is one of them, and a run whose sources did not change loads
  nothing (the archive's fingerprint is unchanged, the live cursor finds no row, every
  file was loaded before), so an unchanged raw layer keeps its signature. A load that
  was interrupted is completed by the next ingestion, which records it then.
* the project: the content of every file dbt reads (models, macros, seeds, snapshots,
  singular tests, ``dbt_project.yml``, ``profiles.yml``) and the versions of dbt-core
  and its adapters.

After every successful full build (no ``--select``), the signature is recorded in
``audit.dbt_builds`` of the same warehouse, so it follows the warehouse like the
pipelines' state does. A build whose signature equals the last recorded one is
skipped; ``--force`` builds anyway. A failed or killed build records nothing, so the
next build runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .run_audit import AUDIT_SCHEMA, AuditWarehouse, ensure_schema, opened, utc_now
from .settings import PROJECT_DIR, RAW_SCHEMAS

BUILDS_TABLE = "dbt_builds"

# What dbt reads: everything else in the repository cannot change a build.
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "snapshots", "tests")
PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".csv", ".md")
PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-mysql")

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


def raw_loads(warehouse: AuditWarehouse) -> dict[str, list[Any]]:
    """Per raw schema: [completed loads, newest load id] (``[0, None]`` when empty)."""
    loads: dict[str, list[Any]] = {}
    for schema in RAW_SCHEMAS.values():
        if "_dlt_loads" not in warehouse.tables(schema):
            loads[schema] = [0, None]
            continue
        count, newest = warehouse.rows(
            f"select count(*), max(load_id) from {warehouse.relation(schema, '_dlt_loads')}"
            " where status = 0"
        )[0]
        loads[schema] = [int(count), None if newest is None else str(newest)]
    return loads


@dataclass
class BuildState:
    """The signature of the build about to run, and the last one recorded."""

    target: str
    signature: str
    detail: str
    last_signature: str | None
    last_built_at: Any

    @classmethod
    def read(cls, target: str) -> BuildState:
        warehouse = AuditWarehouse(target)
        if not warehouse.exists():
            return cls(target, "", "{}", None, None)
        with opened(target) as warehouse:
            loads = raw_loads(warehouse)
            detail = json.dumps({"raw_loads": loads, "project": project_digest()}, sort_keys=True)
            signature = hashlib.sha256(detail.encode()).hexdigest()
            last = None
            if BUILDS_TABLE in warehouse.tables(AUDIT_SCHEMA):
                relation = warehouse.relation(AUDIT_SCHEMA, BUILDS_TABLE)
                found = warehouse.rows(
                    f"select signature, built_at from {relation} order by built_at desc limit 1"
                )
                last = found[0] if found else None
        return cls(
            target,
            signature,
            detail,
            last[0] if last else None,
            last[1] if last else None,
        )

    @property
    def unchanged(self) -> bool:
        """The raw layer and the project are as at the last successful build."""
        return bool(self.signature) and self.signature == self.last_signature

    def record(self, seconds: float) -> None:
        """Write this signature as the last successful full build."""
        with opened(self.target) as warehouse:
            ensure_schema(warehouse)
            kind = 1 if warehouse.is_mysql else 0
            relation = warehouse.relation(AUDIT_SCHEMA, BUILDS_TABLE)
            body = ", ".join(f"{name} {types[kind]}" for name, types in BUILD_COLUMNS.items())
            warehouse.execute(f"create table if not exists {relation} ({body})")
            warehouse.execute(
                f"insert into {relation} ({', '.join(BUILD_COLUMNS)}) values (?, ?, ?, ?)",
                (utc_now(), self.signature, round(seconds, 3), self.detail),
            )
            warehouse.commit()

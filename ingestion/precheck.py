"""Before any dlt pipeline: whether a source has anything to load (issue 22).

A run with nothing new used to set up all three dlt pipelines, each restoring its
state from the warehouse, extracting, normalising and loading nothing: about 3 s on an
idle machine, most of it dlt's own machinery. The checks here decide, from the source
and the pipeline's state as the warehouse holds it (read once, without a dlt
pipeline), what that pipeline would decide, and the pipeline runs only when it would
do something:

- **files**: a landing file whose name is not among the loaded files of the state, or
  whose size differs: the same test ``files.landing_resource`` makes, on the same
  listing (dlt's ``glob_files``). Local folders only; a bucket URL always runs.
- **archive**: a table whose fingerprint (taken meanwhile, ``ArchiveFingerprints``)
  differs from the stored one, or a table added or gone: ``plan_archive``'s test.
- **live**: the live pipeline's outcome depends on the look-back window's rows, the
  counts, the keys and the schema, so its check is a *signature* of the source
  (``live_signature``: per table its columns, row count, newest cursor value and a
  hash of every row the window re-reads; a full fingerprint of a table without key
  or cursor), recorded after a live run that found nothing to load, no row, no
  deletion, no drift, and whose source had the same signature before and after it
  (``LiveRecord``). A later run whose source has that same signature, against the
  same state of the warehouse (its version hash), would find nothing again: it is
  skipped, unless the periodic key check is due, or a keyed table's raw count less
  its tombstones is not the source's count (``compare_keys``' test: rows missing
  from raw), or the pipeline's stored cursor is not the source's newest value, or
  the record was made by other code (``code_version``). Any change the live run would
  see changes the signature, and the record is deleted when a live run starts, so a
  run that fails or is killed leaves none.

Only the DuckDB warehouse is checked this way; on MySQL and Spark, and on a full
refresh, every pipeline runs as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medallion.settings import raw_schema, warehouse_path

# The newest state a pipeline committed, as dlt's ``get_stored_state`` picks it: the
# state row of the newest load that completed (status 0).
_STATE_QUERY = (
    "select s.state from {schema}._dlt_pipeline_state as s "
    "join {schema}._dlt_loads as l on l.load_id = s._dlt_load_id "
    "where s.pipeline_name = ? and l.status = 0 order by l.load_id desc limit 1"
)


@dataclass
class WarehouseView:
    """What the checks read from the warehouse: the pipelines' states (source name ->
    dlt's state; absent: no state) and, for live, each raw table's row count less its
    tombstones (table -> rows; absent: no raw table), the numbers ``compare_keys``
    compares with the live counts."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    live_raw_rows: dict[str, int] = field(default_factory=dict)


def warehouse_states(sources: list[str], target: str) -> WarehouseView:
    """The pipelines' states as the DuckDB warehouse holds them, and the live raw counts,
    read in one connection (nothing for a warehouse that is not DuckDB). Read-only;
    anything unreadable counts as no state, which runs that pipeline as before."""
    view = WarehouseView()
    path = warehouse_path()
    if target != "duckdb" or not path.exists():
        return view
    import duckdb

    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return view
    try:
        for source in sources:
            try:
                state = _stored_state(conn, source)
            except Exception:  # noqa: BLE001 - a state that cannot be read: no state
                continue
            if state is not None:
                view.states[source] = state
        if "live" in view.states:
            try:
                view.live_raw_rows = _raw_rows_less_tombstones(conn, raw_schema("live"))
            except duckdb.Error:
                view.states.pop("live")  # counts unread: the live pipeline compares them
    finally:
        conn.close()
    return view


def _stored_state(conn: Any, source: str) -> dict[str, Any] | None:
    import duckdb
    from dlt.common.versioned_state import decompress_state

    schema = raw_schema(source)
    try:
        row = conn.execute(
            _STATE_QUERY.format(schema=f'"{schema}"'), [f"medallion_{source}"]
        ).fetchone()
    except duckdb.Error:  # no raw schema or no state table yet
        return None
    if not row:
        return None
    state = decompress_state(row[0])
    return state if state.get("dataset_name") == schema else None


def _raw_rows_less_tombstones(conn: Any, schema: str) -> dict[str, int]:
    """Per raw table of ``schema``: ``count(*)`` less the keys tombstoned as deleted at
    source (``_medallion_deletions`` rows with ``is_deleted``), as ``compare_keys``
    counts them."""
    from .sql_sources import DELETIONS_TABLE

    tables = [
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = ?",
            [schema],
        ).fetchall()
        if not name.startswith(("_dlt_", "_medallion_"))
    ]
    tombstones: dict[str, int] = {}
    has_deletions = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, DELETIONS_TABLE],
    ).fetchone()[0]
    if has_deletions:
        tombstones = dict(
            conn.execute(
                f'select table_name, count(*) from "{schema}"."{DELETIONS_TABLE}"'
                " where is_deleted group by table_name"
            ).fetchall()
        )
    return {
        table: conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        - tombstones.get(table, 0)
        for table in tables
    }


def resource_state(state: dict[str, Any], resource: str) -> dict[str, Any]:
    """One resource's state, whatever source section dlt kept it under."""
    for source_state in state.get("sources", {}).values():
        found = source_state.get("resources", {}).get(resource)
        if found is not None:
            return found
    return {}


# --- files ------------------------------------------------------------------------------


def new_landing_files(
    bucket_url: str, patterns: list[str], state: dict[str, Any]
) -> list[str] | None:
    """The landing files the files pipeline would load: listed as its resource lists them
    (dlt's ``glob_files``), not among the state's loaded files at their size. None for a
    bucket URL, which is not checked here, and for a folder that is not there, which the
    pipeline reports (either way the pipeline runs)."""
    if "://" in bucket_url or not Path(bucket_url).is_dir():
        return None
    from dlt.common.storages.fsspec_filesystem import glob_files
    from fsspec.implementations.local import LocalFileSystem

    from .files import table_name_for

    new = []
    for pattern in patterns:
        loaded = resource_state(state, table_name_for(pattern)).get("files", {})
        for item in glob_files(LocalFileSystem(), bucket_url, pattern):
            name = item["relative_path"]
            if loaded.get(name, {}).get("size") != item.get("size_in_bytes"):
                new.append(name)
    return sorted(new)


# --- live -------------------------------------------------------------------------------


def _window_bound(top: Any, lag: float) -> Any:
    """The lowest cursor value the live run re-reads, or lower (never higher): the newest
    value less the lag. A datetime as it is; text (SQLite keeps datetimes as text) by its
    date alone, which sorts at or before every text of that day, whatever its format;
    anything else (a number, a date: dlt applies no lag to them) the newest value itself.
    None when the newest value cannot be read as a datetime: the whole table is hashed."""
    if isinstance(top, dt.datetime):
        return top - dt.timedelta(seconds=lag)
    if isinstance(top, str):
        try:
            parsed = dt.datetime.fromisoformat(top)
        except ValueError:
            return None
        return (parsed - dt.timedelta(seconds=lag)).date().isoformat()
    return top


def live_signature(engine: Any, tables: list[str], cursor: str, lag: float) -> dict[str, Any]:
    """What the live run's outcome depends on, per table: its columns (name, type,
    nullability: schema drift), its primary key, and either the row count, the newest
    cursor value and a hash of every row whose cursor lies in the look-back window or is
    NULL (the rows the run re-reads), or, for a table without key or cursor (re-read
    or replaced whole), the fingerprint of its whole content. The settings that change
    what the run reads (cursor, lag, the tables) are part of it."""
    import sqlalchemy as sa

    from .sql_sources import _rows_digest, table_fingerprint

    inspector = sa.inspect(engine)
    quote = engine.dialect.identifier_preparer.quote
    signature: dict[str, Any] = {"cursor": cursor, "lag": lag, "tables": {}}
    for table in tables:
        columns = inspector.get_columns(table)
        names = [c["name"] for c in columns]
        key = inspector.get_pk_constraint(table).get("constrained_columns") or []
        entry: dict[str, Any] = {
            "columns": [[c["name"], str(c["type"]), bool(c.get("nullable"))] for c in columns],
            "key": key,
        }
        signature["tables"][table] = entry
        if not key or cursor not in names:
            entry["fingerprint"] = table_fingerprint(engine, table)
            continue
        quoted, column = quote(table), quote(cursor)
        selected = ", ".join(quote(n) for n in names)
        with engine.connect() as conn:
            count, top = conn.execute(
                sa.text(f"select count(*), max({column}) from {quoted}")
            ).one()
            bound = _window_bound(top, lag) if top is not None else None
            if top is not None and bound is None:
                entry["fingerprint"] = table_fingerprint(engine, table)
                continue
            where = f"{column} is null" + (f" or {column} >= :bound" if bound is not None else "")
            rows = conn.execution_options(yield_per=10_000).execute(
                sa.text(f"select {selected} from {quoted} where {where}"),
                {"bound": bound} if bound is not None else {},
            )
            window_rows, digest = _rows_digest(rows.partitions())
        entry.update(count=count, top=str(top), window_rows=window_rows, window=str(digest))
    return signature


def raw_counts_agree(signature: dict[str, Any], raw_rows: dict[str, int]) -> bool:
    """Whether every keyed live table has as many rows as raw less its tombstones: the
    test ``compare_keys`` makes after each live run (a table that fails it has its keys
    compared, and the rows missing from raw are loaded). A keyed table the signature
    has no count for (no cursor) or raw has no table for does not agree."""
    for table, entry in signature["tables"].items():
        if not entry["key"]:
            continue
        if "count" not in entry or raw_rows.get(table) != entry["count"]:
            return False
    return True


def _comparable(value: Any) -> Any:
    """A cursor value as the source's ``max()`` and dlt's state give it, made comparable:
    text that reads as a datetime (SQLite) as that datetime, an aware datetime as naive
    UTC; anything else as its text."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    return str(value)


def cursors_agree(state: dict[str, Any], signature: dict[str, Any]) -> bool:
    """Whether, for every table read by cursor, the newest cursor value the live pipeline
    stored (dlt's incremental ``last_value``) is the source's newest: the value the run
    starts its window from. Otherwise the run would read from its own, other bound."""
    cursor = signature["cursor"]
    for table, entry in signature["tables"].items():
        if "top" not in entry:
            continue
        incremental = resource_state(state, table).get("incremental", {}).get(cursor, {})
        stored = incremental.get("last_value")
        if entry["top"] == "None" or stored is None:
            if not (entry["top"] == "None" and stored is None):
                return False
            continue
        if _comparable(stored) != _comparable(entry["top"]):
            return False
    return True


def code_version() -> str:
    """The code a record was made by: medallion's and dlt's versions and a hash of the
    ingestion modules. A record made by other code is not trusted (what a run finds may
    change with it)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return f"medallion {version('medallion')}, dlt {version('dlt')}, {digest.hexdigest()[:16]}"


@dataclass
class LiveRecord:
    """The signature of the live source after a live run that found nothing to do, the
    version hash of the state that run left in the warehouse and the code that ran
    (``code_version``). Kept in a file beside
    the pipelines' working folders of the warehouse (``pipelines.pipelines_dir``); it
    holds no data, and a record whose state version is not the warehouse's is ignored
    (a new warehouse file, another machine's run)."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "live-precheck.json"

    def matches(self, state: dict[str, Any], signature: dict[str, Any]) -> bool:
        """Whether the last live run found nothing in a source with this signature,
        against the state the warehouse holds now."""
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        same_state = saved.get("state_version_hash") == state.get("_version_hash")
        same_code = saved.get("code") == code_version()
        same_source = saved.get("signature") == json.loads(json.dumps(signature))
        return same_state and same_code and same_source

    def forget(self) -> None:
        """Deleted as a live run starts: only a run that completes records one."""
        self.path.unlink(missing_ok=True)

    def write(self, state_version_hash: str, signature: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(
            json.dumps(
                {
                    "state_version_hash": state_version_hash,
                    "code": code_version(),
                    "signature": signature,
                }
            )
        )
        os.replace(partial, self.path)

"""The bronze layer: three dlt pipelines, one per source, into the raw schemas.

The pipelines' state (incremental cursors, loaded files, archive fingerprints) is kept
by dlt in the warehouse itself. Before every run the local working copy of that state
is dropped and restored from the warehouse, so the warehouse is the only truth: point
``MEDALLION_DUCKDB_PATH`` at a new file, or delete the warehouse (or drop the raw
databases on MySQL), and the next run loads everything again instead of reporting
"nothing new" into an empty warehouse. The local working folders are per target, server
and schema prefix, so two warehouses never share one.
Every write disposition used (replace, merge) is idempotent, so re-extracting what a
crashed run had extracted but not loaded is always safe.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt

from medallion import faults
from medallion.settings import (
    MYSQL_COLLATION,
    ConfigError,
    MySQLWarehouse,
    SourceSettings,
    check_target,
    configured_days,
    configured_number,
    describe_warehouse,
    lake_url,
    parse_duration,
    raw_schema,
    redact,
    schema_prefix,
    warehouse_path,
)

from . import files, precheck, schema_drift, sql_sources
from .staging_parquet import staging_parquet

# dlt's merge on SQLAlchemy (MySQL) builds a subquery SQLAlchemy warns about; harmless.
warnings.filterwarnings("ignore", message="implicitly coercing SELECT object to scalar subquery")


class IngestFailed(Exception):
    """A pipeline step failed; the message names the source and the step."""


@dataclass
class TableReport:
    """One line of the run summary."""

    schema: str
    table: str
    extracted: int = 0
    loaded: int = 0
    seconds: float = 0.0
    note: str = ""
    recovered: int = 0  # live rows that arrived late, loaded by the window or by key
    # what the run followed and reports as warnings (schema drift, files without records)
    warnings: list[schema_drift.IngestWarning] = field(default_factory=list)


Progress = Callable[[str], None]

# Seconds this process spent in each dlt step, summed over every pipeline run; the
# benchmark (medallion/bench.py) reads them to split ingestion time by step.
STEP_SECONDS: dict[str, float] = {"extract": 0.0, "normalize": 0.0, "load": 0.0}


def _config(path: str, default: Any) -> Any:
    value = dlt.config.get(path)
    return default if value is None else value


def configured_names(path: str, default: list[str]) -> list[str]:
    """A list of names (tables, file patterns) from ``.dlt/config.toml`` or its
    environment variable. An environment variable holds text: a TOML/JSON list
    (``'["customers", "transactions"]'``) or names separated by commas
    (``customers,transactions``) both work; anything else is named in a ConfigError."""
    value = _config(path, default)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text.replace("'", '"'))
            except ValueError:
                raise ConfigError(f"{path} must be a list of names, got {value!r}") from None
        else:
            value = [name.strip() for name in text.split(",")]
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise ConfigError(f"{path} must be a list of names, got {value!r}")
    return [name for name in value if name]


def pipelines_dir(target: str = "duckdb") -> Path:
    """dlt's local working folders of one warehouse: beside the DuckDB file, or, for a
    MySQL server, in ``.dlt/mysql-<host>-<port>-<prefix>`` beside where the DuckDB file
    would be. One folder per warehouse and schema prefix, never shared by two."""
    warehouse = warehouse_path()
    prefix = schema_prefix()
    if check_target(target) == "mysql":
        server = MySQLWarehouse.from_environment()
        name = f"mysql-{server.host}-{server.port}-{prefix}"
    elif target == "spark":
        name = "lake-" + lake_url() + (f"-{prefix}" if prefix else "")
    else:
        name = warehouse.stem + (f"-{prefix}" if prefix else "")
    return warehouse.parent / ".dlt" / re.sub(r"[^A-Za-z0-9_.-]", "_", name)


# Every database dlt creates on MySQL (raw datasets and their `_staging` twins) is
# utf8mb4 with the binary collation, like the ones dbt creates
# (macros/adapters/mysql__create_schema.sql): strings compare as on DuckDB, and raw,
# staging and dbt tables never meet with two collations ("illegal mix of collations").
MYSQL_SESSION = {
    "collation": MYSQL_COLLATION,
    "init_command": (
        f"set character_set_server = 'utf8mb4', collation_server = '{MYSQL_COLLATION}'"
    ),
}


def destination(target: str = "duckdb", pipeline_name: str | None = None) -> Any:
    """The dlt destination of a warehouse target: the DuckDB file, the MySQL server
    through dlt's SQLAlchemy destination (each dataset is one MySQL database), or for
    Spark the lake: dlt's filesystem destination, Parquet files at ``lake_url()``,
    timestamps in microseconds (Spark 3.5 cannot read Parquet's nanoseconds). On plain
    Parquet dlt's ``merge`` falls back to ``append``: a changed row is a new file's row,
    and the tables Spark reads keep each key's newest (``medallion/lake.py``)."""
    if check_target(target) == "spark":
        os.environ.setdefault("NORMALIZE__DATA_WRITER__COERCE_TIMESTAMPS", "us")
        os.environ.setdefault("NORMALIZE__DATA_WRITER__ALLOW_TRUNCATED_TIMESTAMPS", "true")
        return dlt.destinations.filesystem(
            bucket_url=lake_url(), preferred_loader_file_format="parquet"
        )
    if check_target(target) == "mysql":
        return dlt.destinations.sqlalchemy(
            credentials=MySQLWarehouse.from_environment().url(),
            engine_kwargs={"connect_args": MYSQL_SESSION},
        )
    warehouse = warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return resolved_once(dlt.destinations.duckdb(str(warehouse)), pipeline_name)


def resolved_once(factory: Any, pipeline_name: str | None = None) -> Any:
    """``factory`` with its configuration resolved now and passed explicitly.

    dlt resolves a destination's configuration from every provider (the environment,
    ``.dlt``'s TOML files, each under several sections) whenever a step asks for the
    configuration or the capabilities: 27 times in the copy of one archive table, about
    10 ms each on DuckDB. An explicit value is taken as it is (about 2 ms), so one
    resolution here saves about 0.25 s per pipeline. What a pipeline binds later (its
    dataset, its schema) is unset here and still bound by dlt. The credentials object
    is then one per pipeline, as dlt's load step already makes it: its steps share one
    DuckDB connection pool instead of opening one each. Resolved within
    ``pipeline_name``'s section, as dlt resolves it for that pipeline (a setting under
    ``<pipeline_name>.destination...`` comes first)."""
    from dlt.common.configuration import inject_section
    from dlt.common.configuration.specs import ConfigSectionContext

    with inject_section(ConfigSectionContext(pipeline_name=pipeline_name)):
        config = factory.configuration(factory.spec(), accept_partial=True)
    credentials = config.get("credentials")
    if credentials is None or not credentials.is_resolved():  # dlt tells what is missing
        return factory
    explicit = {
        key: value
        for key, value in config.items()
        if value is not None and key != "destination_type"
    }
    return type(factory)(**explicit)


def make_pipeline(source: str, target: str = "duckdb") -> dlt.Pipeline:
    """The pipeline of one source, writing to its raw schema in the target's warehouse."""
    folder = pipelines_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"medallion_{source}"
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination(target, name),
        dataset_name=raw_schema(source),
        pipelines_dir=str(folder),
        progress=faults.dlt_progress(),  # None unless the test-only MEDALLION_FAULT_AT is set
    )


def _fresh_from_warehouse(pipeline: dlt.Pipeline) -> None:
    """Forget local state and take the warehouse's (none, if the warehouse is new)."""
    pipeline.drop()
    pipeline.sync_destination()


def _extracted_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    info = pipeline.last_trace.last_extract_info
    counts: dict[str, int] = {}
    for metrics_list in info.metrics.values():
        for metrics in metrics_list:
            for table, table_metrics in metrics.get("table_metrics", {}).items():
                if table.startswith("_dlt"):
                    continue
                counts[table] = counts.get(table, 0) + table_metrics.items_count
    return counts


# Resources without rows whose only effect is on the pipeline's state.
STATE_ONLY = frozenset({sql_sources.FINGERPRINT_RESOURCE, sql_sources.KEY_CHECK_RESOURCE})


def _extract_batches(resources: list[Any], state_with_table: bool = True) -> list[list[Any]]:
    """The resources in the groups extracted together: each table's own (to time it),
    with a state-only resource (``STATE_ONLY``: the archive's fingerprints, the live key
    check's time) in the same extract as the table before it. One extract less is one
    load package less to normalise and load (0.1-0.2 s), and the state is committed in
    the same package as the rows it describes. ``state_with_table=False``: every
    resource on its own."""
    batches: list[list[Any]] = []
    for resource in resources:
        joins = state_with_table and batches and batches[-1][0].name not in STATE_ONLY
        if resource.name in STATE_ONLY and joins:
            batches[-1].append(resource)
        else:
            batches.append([resource])
    return batches


def _run_pipeline(
    pipeline: dlt.Pipeline,
    resources: list[Any],
    reports: dict[str, TableReport],
    progress: Progress,
    state_with_table: bool = True,
) -> None:
    """Extract each table on its own (to time it; ``_extract_batches``), then normalise
    and load once."""
    schema = pipeline.dataset_name
    for batch in _extract_batches(resources, state_with_table):
        name = batch[0].name
        if not name.startswith("_"):
            progress(f"extracting {schema}.{name}")
        started = time.perf_counter()
        pipeline.extract(batch)
        elapsed = time.perf_counter() - started
        STEP_SECONDS["extract"] += elapsed
        for table, count in _extracted_rows(pipeline).items():
            report = reports.setdefault(table, TableReport(schema, table))
            report.extracted += count
        if name in reports:
            reports[name].seconds += elapsed
        elif not name.startswith("_"):
            reports[name] = TableReport(schema, name, seconds=elapsed)
    progress(f"normalising {schema}")
    started = time.perf_counter()
    pipeline.normalize()
    normalized = time.perf_counter()
    STEP_SECONDS["normalize"] += normalized - started
    row_counts = pipeline.last_trace.last_normalize_info.row_counts
    progress(f"loading {schema}")
    load_info = pipeline.load()
    load_info.raise_on_failed_jobs()
    STEP_SECONDS["load"] += time.perf_counter() - normalized
    spread = (time.perf_counter() - started) / max(len(reports), 1)
    for table, count in row_counts.items():
        if table.startswith("_dlt"):
            continue
        report = reports.setdefault(table, TableReport(schema, table))
        report.loaded += count
    for report in reports.values():
        report.seconds += spread


@contextmanager
def _database(name: str, url: str, target: str) -> Iterator[tuple[Any, list[str], dlt.Pipeline]]:
    """Open one source database: its engine (checked), its tables and its pipeline."""
    engine = sql_sources.make_engine(url)
    try:
        sql_sources.check_reachable(name, engine)
        tables = sql_sources.select_tables(
            engine,
            configured_names(f"sources.{name}.include_tables", []),
            configured_names(f"sources.{name}.exclude_tables", []),
        )
        pipeline = make_pipeline(name, target)
        with warehouse_held(pipeline, name, target):
            yield engine, tables, pipeline
    finally:
        engine.dispose()


@contextmanager
def warehouse_held(pipeline: dlt.Pipeline, name: str, target: str) -> Iterator[None]:
    """The pipeline's DuckDB warehouse kept open while it runs.

    dlt borrows a connection from the destination's pool for each step (the state
    restored, the load's start, each job, its end) and closes the database when the last
    one is returned: 5 openings, each with its settings applied and a checkpoint at its
    close, 0.15-0.25 s in a copy of one table. Held here through dlt's own SQL client
    (so with dlt's session settings), each later borrow is a cursor of this connection.
    The pool is the pipeline's own (``resolved_once``); nothing is held on another
    target, or when the credentials were not resolved.

    A warehouse that cannot be opened (held by another program, damaged, unwritable) is
    told as dlt's first step would have told it (``IngestFailed``, the ``sync`` step);
    so is one that cannot be closed (its checkpoint), unless the pipeline already failed:
    that failure is the one told."""
    credentials = pipeline.destination.config_params.get("credentials")
    if getattr(credentials, "conn_pool", None) is None:
        yield
        return
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    client = DuckDbSqlClient(
        pipeline.dataset_name, None, credentials, pipeline.destination.capabilities()
    )
    try:
        client.open_connection()
    except Exception as exc:  # noqa: BLE001 - told in one line, as dlt's sync step would
        raise _step_failed(name, "sync", target, exc) from None
    failed = True
    try:
        yield
        failed = False
    finally:
        try:
            client.close_connection()
        except Exception as exc:  # noqa: BLE001 - the pipeline's own failure comes first
            if not failed:
                raise _step_failed(name, "sync", target, exc) from None


def _step_failed(name: str, step: str, target: str, cause: BaseException) -> IngestFailed:
    """A failed step of a pipeline told in one line: the pipeline, the step, the
    warehouse where the step is the one that reaches it (``sync``), and why."""
    where = f" (the warehouse: {describe_warehouse(target)})" if step == "sync" else ""
    return IngestFailed(
        f"The {name} pipeline failed at its {step} step{where}: {_reason(cause)}. "
        "What was loaded before this run is unchanged; fix the cause and run again."
    )


def _backend(name: str) -> tuple[str, int]:
    """The ``backend`` and ``chunk_size`` settings of a source. ``auto`` (the default)
    reads MySQL with connectorx and anything else with pyarrow
    (``sql_sources.resolve_backend``)."""
    backend = str(_config(f"sources.{name}.backend", "auto"))
    if backend not in sql_sources.BACKENDS:
        raise ConfigError(
            f"SOURCES__{name.upper()}__BACKEND (sources.{name}.backend) must be one of "
            f"{', '.join(sql_sources.BACKENDS)}, got {backend!r}"
        )
    return backend, int(_config(f"sources.{name}.chunk_size", 100_000))


DEFAULT_LIVE_LAG = "1h"
MAX_LIVE_LAG_DAYS = 366
DEFAULT_KEY_CHECK_EVERY_DAYS = 7.0


def live_lag() -> tuple[float, str]:
    """The look-back window of the live tables in seconds, and where it came from:
    ``SOURCES__LIVE__LAG``, else ``[sources.live] lag`` in ``.dlt/config.toml``, else one
    hour. A duration: ``1h``, ``30m``, ``2d``, ``1h30m`` or a number of seconds; 0 turns
    the window off."""
    seconds, origin = configured_number(
        "SOURCES__LIVE__LAG",
        "sources.live.lag",
        parse_duration,
        parse_duration(DEFAULT_LIVE_LAG),
        "a duration such as 1h, 30m, 2d or a number of seconds",
    )
    if seconds > MAX_LIVE_LAG_DAYS * 86_400:
        raise ConfigError(f"{origin} must be at most {MAX_LIVE_LAG_DAYS} days, got {seconds:g} s")
    return seconds, origin


def key_check_every_days() -> tuple[float, str]:
    """How many days may pass between two comparisons of every live table's keys with
    raw's, and where that came from: ``SOURCES__LIVE__KEY_CHECK_EVERY_DAYS``, else
    ``[sources.live] key_check_every_days`` in ``.dlt/config.toml``, else 7; 0 compares
    them on every run."""
    return configured_days(
        "SOURCES__LIVE__KEY_CHECK_EVERY_DAYS",
        "sources.live.key_check_every_days",
        DEFAULT_KEY_CHECK_EVERY_DAYS,
        "every run",
    )


def key_check_due(last: dt.datetime | None, every_days: float, now: dt.datetime) -> bool:
    """Whether this run compares every live table's keys: none recorded, or the last
    comparison began ``every_days`` ago or more (0: every run)."""
    return last is None or now - last >= dt.timedelta(days=every_days)


class ArchiveFingerprints:
    """The archive tables' fingerprints, taken in a thread while the rest of the ingest
    goes on: the other pipelines, then the archive pipeline's own state restored from
    the warehouse and the copy's modules imported (``sql_sources.import_reader``).

    On MySQL a fingerprint is the server's work (``CHECKSUM TABLE`` and a count:
    seconds per million rows, most of an unchanged archive's run); elsewhere every row
    is read and hashed here. Either way, when live and files run in the same ingest
    they run meanwhile and the archive goes last. The archive is
    reached (and a refused connection reported) before anything else runs. A failed
    fingerprint (``SourceUnavailable``, naming the table) is raised by ``result()``,
    where the archive pipeline reads it: the other sources' loads of the run stand.
    """

    def __init__(self, url: str) -> None:
        self._engine = sql_sources.make_engine(url)
        try:
            sql_sources.check_reachable("archive", self._engine)
            tables = sql_sources.select_tables(
                self._engine,
                configured_names("sources.archive.include_tables", []),
                configured_names("sources.archive.exclude_tables", []),
            )
        except BaseException:
            self._engine.dispose()
            raise
        self.tables = tables
        self._opened, self._snapshot = threading.Event(), threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprints")
        self._future = self._pool.submit(
            sql_sources.fingerprint_tables,
            "archive",
            self._engine,
            tables,
            self._opened,
            self._snapshot,
        )

    def result(self) -> dict[str, str]:
        return self._future.result()

    def copy_beside(self) -> bool:
        """Wait until a copy may start reading, and say whether it reads beside the
        fingerprints: True once the snapshot they are taken in is open while they are
        still being taken (MySQL, InnoDB: ``sql_sources.fingerprint_tables``), False
        when they were taken without one, or are done (or failed: ``result()`` says
        why)."""
        self._opened.wait()
        return self._snapshot.is_set() and not self._future.done()

    def running(self) -> bool:
        """Whether the fingerprints are still being taken."""
        return not self._future.done()

    def close(self, wait: bool = True) -> None:
        """Wait for the fingerprints (a query cannot be called back) and let go; when
        the ingest failed (``wait=False``) the failure is told at once: a query under
        way ends on its own, and Python's exit waits for it."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        self._engine.dispose()


def ingest_archive(
    settings: SourceSettings,
    full_refresh: bool,
    progress: Progress,
    target: str = "duckdb",
    ahead: ArchiveFingerprints | None = None,
) -> list[TableReport]:
    """Copy the archive whole, table by table, skipping tables whose content is unchanged
    (by fingerprints taken now, or ``ahead`` of this call)."""
    with _database("archive", settings.archive_url, target) as (engine, tables, pipeline):
        backend, chunk_size = _backend("archive")
        _fresh_from_warehouse(pipeline)
        previous = sql_sources.stored_fingerprints(pipeline.state)
        if ahead is None:
            progress("fingerprinting the archive tables")
        beside = False
        if ahead is not None:  # the copy's imports while the server takes the
            # fingerprints: all of them when a copy is certain (the first, a full refresh)
            certain = full_refresh or not previous
            reader = sql_sources.resolve_backend(backend, engine)
            sql_sources.import_reader(reader, lambda: certain or ahead.running())
            # a copy of every table reads beside the fingerprints once their snapshot
            # is open: they describe a state no newer than the one it reads
            beside = certain and set(tables) <= set(ahead.tables) and ahead.copy_beside()
        if beside:
            progress("copying every archive table beside their fingerprints (snapshot open)")
            plan = sql_sources.ArchivePlan(
                to_copy=tables,
                unchanged=[],
                # a table whose columns changed meanwhile has none: copied next run
                fingerprints=lambda: {t: f for t, f in ahead.result().items() if t in set(tables)},
            )
        else:
            known = ahead.result() if ahead else None
            plan = sql_sources.plan_archive(engine, tables, previous, full_refresh, known)
        reports = {
            t: TableReport(pipeline.dataset_name, t, note="unchanged") for t in plan.unchanged
        }
        resources = sql_sources.archive_resources(engine, plan, backend, chunk_size)
        drifts = schema_drift.settle(_named("archive", engine), pipeline, resources, target)
        # beside the fingerprints, their state follows the tables in a package of its
        # own: extracted with the last table, it would wait for them before its rows
        try:
            _run_pipeline(pipeline, resources, reports, progress, state_with_table=not beside)
        except BaseException:
            if beside:  # a fingerprint's failure (naming the table) is the cause to tell
                ahead.result()
            raise
        return _with_warnings(reports, drifts)


def ingest_live(
    settings: SourceSettings,
    full_refresh: bool,
    progress: Progress,
    target: str = "duckdb",
    signature: dict[str, Any] | None = None,
) -> list[TableReport]:
    """Copy what changed in the live database since the last run (by ``updated_at``, with
    the look-back window ``live_lag``), then compare keys with raw: record the rows
    deleted at source and load the rows the cursor missed (``sql_sources.compare_keys``;
    every table's keys every ``key_check_every_days``). ``signature``: the source's
    ``precheck.live_signature`` taken before this run; when the run finds nothing and the
    source still has it afterwards, it is recorded for the next run's check."""
    lag, _ = live_lag()  # bad settings fail before anything is read
    every_days, _ = key_check_every_days()
    record = precheck.LiveRecord(pipelines_dir(target))
    record.forget()
    with _database("live", settings.live_url, target) as (engine, tables, pipeline):
        # always: the drift check below compares the source with raw as it is
        _fresh_from_warehouse(pipeline)
        first_copy = full_refresh or not pipeline.state.get("sources")
        last_check = sql_sources.last_key_check(pipeline.state)
        late: dict[str, int] = {}
        resources = sql_sources.live_resources(
            engine,
            tables,
            *_backend("live"),
            _config("sources.live.incremental_column", "updated_at"),
            lag=lag,
            late=late,
        )
        drifts = schema_drift.settle(_named("live", engine), pipeline, resources, target)
        if full_refresh:  # raw widened (or the run refused) first, then start over:
            pipeline.drop()  # the cursors from nothing; replace drops rows deleted at source
            for resource in resources:
                resource.apply_hints(write_disposition="replace")
        started = dt.datetime.now(dt.UTC)
        if first_copy:  # a whole copy (the first one, or a full refresh) is a key check
            resources.append(sql_sources.key_check_resource(started))
        reports: dict[str, TableReport] = {}
        _run_pipeline(pipeline, resources, reports, progress)
        every_table = not first_copy and key_check_due(last_check, every_days, started)
        progress(
            "comparing every live table's keys with raw (key_check_every_days)"
            if every_table
            else "looking for rows deleted in live or missing from raw"
        )
        with pipeline.sql_client() as client:
            found = sql_sources.compare_keys(engine, client, tables, every_table)
        more: list[Any] = []
        if found.tombstones:
            more.append(sql_sources.deletions_resource(found.tombstones))
        if found.to_load:
            progress(f"loading by key the rows missing from raw in {', '.join(found.to_load)}")
            more += sql_sources.keyed_resources(engine, found.to_load, *_backend("live"))
        if every_table:
            more.append(sql_sources.key_check_resource(started))
        if more:
            by_key: dict[str, TableReport] = {}
            _run_pipeline(pipeline, more, by_key, progress)
            for table, extra in by_key.items():
                if table in reports:
                    reports[table].extracted += extra.extracted
                    reports[table].loaded += extra.loaded
                    reports[table].seconds += extra.seconds
        deleted: dict[str, int] = {}
        for tombstone in found.tombstones:
            sign = 1 if tombstone["is_deleted"] else -1
            deleted[tombstone["table_name"]] = deleted.get(tombstone["table_name"], 0) + sign
        for table, report in reports.items():
            notes = []
            if table in deleted:
                notes.append(f"{deleted[table]:+d} deleted at source")
            report.recovered = late.get(table, 0) + found.late.get(table, 0)
            if report.recovered:
                notes.append(
                    f"{report.recovered:,} late row(s) recovered: {late.get(table, 0):,} in the "
                    f"look-back window, {found.late.get(table, 0):,} by key"
                )
            if table in found.compared and every_table:
                notes.append("keys compared")
            report.note = "; ".join(notes)
        found_nothing = not (
            first_copy
            or drifts
            or found.tombstones
            or found.to_load
            or any(r.extracted or r.loaded for r in reports.values())
        )
        if signature is not None and found_nothing:
            after = _live_signature(engine, tables, lag)
            if after == signature:
                record.write(pipeline.state["_version_hash"], signature)
        return _with_warnings(reports, drifts)


def _live_signature(engine: Any, tables: list[str], lag: float) -> dict[str, Any]:
    cursor = _config("sources.live.incremental_column", "updated_at")
    return precheck.live_signature(engine, tables, cursor, lag)


def _named(name: str, engine: Any) -> str:
    """A source database as messages name it: ``live (shop_live)``."""
    database = engine.url.database
    return f"{name} ({database})" if database else name


def _with_warnings(
    reports: dict[str, TableReport], warnings: list[schema_drift.IngestWarning]
) -> list[TableReport]:
    """The reports, each with the warnings of its table (noted and kept)."""
    for warning in warnings:
        schema, table = warning.table.split(".", 1)
        report = reports.setdefault(table, TableReport(schema, table))
        report.warnings.append(warning)
        report.note = "; ".join(filter(None, [report.note, warning.describe()]))
    return list(reports.values())


def file_patterns() -> list[str]:
    """The landing files the files pipeline loads (``[sources.files] file_patterns``), one
    raw table per pattern; the orchestrator's landing sensor watches the same ones."""
    return configured_names(
        "sources.files.file_patterns", ["fiscal_calendar*.csv", "surveys/*.csv"]
    )


def ingest_files(
    settings: SourceSettings, full_refresh: bool, progress: Progress, target: str = "duckdb"
) -> list[TableReport]:
    """Load every landing file not loaded before."""
    bucket = settings.bucket_url
    if "://" not in bucket and not Path(bucket).is_dir():
        raise sql_sources.SourceUnavailable(
            f"The landing folder does not exist: {bucket!r} (SOURCES__FILES__BUCKET_URL)"
        )
    patterns = file_patterns()
    pipeline = make_pipeline("files", target)
    with warehouse_held(pipeline, "files", target):
        if full_refresh:
            pipeline.drop()
        else:
            _fresh_from_warehouse(pipeline)
        empty_files: dict[str, list[str]] = {}
        resources = files.landing_resources(bucket, patterns, empty_files)
        reports = {
            files.table_name_for(p): TableReport(pipeline.dataset_name, files.table_name_for(p))
            for p in patterns
        }
        _run_pipeline(pipeline, resources, reports, progress)
    # say so: a file without records (empty, or a header only) loads nothing
    warnings = [
        schema_drift.IngestWarning(
            f"{pipeline.dataset_name}.{table}", "no records in the file", name
        )
        for table, names in empty_files.items()
        if table in reports
        for name in sorted(names)
    ]
    return _with_warnings(reports, warnings)


def _failed_job_reason(cause: BaseException) -> str | None:
    """For a load job the warehouse refused (a value that no longer fits its raw column,
    e.g. after a type was widened at the source): the table and the warehouse's own
    last line, which names the value, the column and its type."""
    cause = getattr(cause, "job_exception", None) or cause  # an aborted load package
    job_id, message = getattr(cause, "job_id", None), getattr(cause, "failed_message", None)
    if not job_id or not message:
        return None
    lines = [line.strip() for line in redact(str(message)).splitlines() if line.strip()]
    detail = lines[-1].split(": ", 1)[-1] if lines else ""
    table = str(job_id).split(".", 1)[0]
    return (
        f"the warehouse refused rows of table {table!r}: {detail} (a source column whose "
        "type was widened no longer fits its raw column: widen the raw column, or drop "
        "the raw table so that it is created again, see README 'Schema drift')"
    )


def _reason(cause: BaseException) -> str:
    """The line of an error that says what went wrong, without a password: a driver's
    own message (SQLAlchemy adds a link and the SQL after it), else the last line."""
    job_reason = _failed_job_reason(cause)
    if job_reason:
        return job_reason
    driver_error = getattr(cause, "orig", None)
    text = redact(str(driver_error if driver_error is not None else cause)).strip()
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith(("(Background on this error", "[SQL:"))
    ]
    return lines[-1] if lines else type(cause).__name__


INGESTERS = {"archive": ingest_archive, "live": ingest_live, "files": ingest_files}


def ingest(
    settings: SourceSettings,
    only: list[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
    target: str = "duckdb",
) -> list[TableReport]:
    """Run the pipelines (all three by default) into the target's warehouse (``duckdb``
    or ``mysql``) and return one report per table, in the order of ``only``. The
    archive's fingerprints are taken in a thread from the start (``ArchiveFingerprints``)
    and the archive pipeline runs last. On DuckDB a pipeline
    whose source has nothing for it is not run at all (``precheck``); its tables are
    reported as a run that found nothing reports them."""
    progress = progress or (lambda message: None)
    names = list(dict.fromkeys(only or INGESTERS))
    reports: dict[str, list[TableReport]] = {}
    view = precheck.WarehouseView() if full_refresh else precheck.warehouse_states(names, target)
    states = view.states
    ahead = None
    if "archive" in names:
        meanwhile = " (meanwhile: the other sources)" if len(names) > 1 else ""
        progress(f"fingerprinting the archive tables{meanwhile}")
        ahead = ArchiveFingerprints(settings.archive_url)
    failed = True
    try:
        for name in sorted(names, key=lambda n: ahead is not None and n == "archive"):
            extra: dict[str, Any] = {"ahead": ahead} if name == "archive" else {}
            if name in states:
                skipped = _checked(name, settings, view, target, progress, extra)
                if skipped is not None:
                    reports[name] = skipped
                    continue
            reports[name] = _run_ingester(name, settings, full_refresh, progress, target, extra)
        failed = False
    finally:
        if ahead is not None:
            ahead.close(wait=not failed)
    return [report for name in names for report in reports[name]]


def _checked(
    name: str,
    settings: SourceSettings,
    view: precheck.WarehouseView,
    target: str,
    progress: Progress,
    extra: dict[str, Any],
) -> list[TableReport] | None:
    """``_nothing_to_do``, where a check that fails unexpectedly (a source table that
    cannot be read, a state that cannot be decoded, bad settings) runs the pipeline: the
    pipeline then fails, or not, as it would have without the check, and says why in its
    own words. A source that cannot be reached and a configuration error are told now."""
    try:
        return _nothing_to_do(name, settings, view, target, progress, extra)
    except (sql_sources.SourceUnavailable, ConfigError):
        raise
    except Exception:  # noqa: BLE001 - the pipeline runs and reports it
        extra.pop("signature", None)
        return None


def _nothing_to_do(
    name: str,
    settings: SourceSettings,
    view: precheck.WarehouseView,
    target: str,
    progress: Progress,
    extra: dict[str, Any],
) -> list[TableReport] | None:
    """The reports of a source with nothing to load, as its pipeline would give them, or
    None when its pipeline must run (``precheck``). For live, the source's signature is
    left in ``extra`` for the run to record."""
    schema = raw_schema(name)
    state = view.states[name]
    if name == "files":
        patterns = file_patterns()
        files.table_names(patterns)  # two patterns for one table: refused by the pipeline
        new = precheck.new_landing_files(settings.bucket_url, patterns, state)
        if new is None or new:
            return None
        progress("files: no new landing file, pipeline not run")
        return [TableReport(schema, files.table_name_for(p)) for p in patterns]
    if name == "archive":
        ahead: ArchiveFingerprints = extra["ahead"]
        fingerprints = ahead.result()
        if fingerprints != sql_sources.stored_fingerprints(state):
            return None
        progress("archive: every table's fingerprint unchanged, pipeline not run")
        return [TableReport(schema, t, note="unchanged") for t in ahead.tables]
    lag, _ = live_lag()
    every_days, _ = key_check_every_days()
    if not state.get("sources"):
        return None  # the first copy
    engine = sql_sources.make_engine(settings.live_url)
    try:
        sql_sources.check_reachable("live", engine)
        tables = sql_sources.select_tables(
            engine,
            configured_names("sources.live.include_tables", []),
            configured_names("sources.live.exclude_tables", []),
        )
        signature = _live_signature(engine, tables, lag)
    finally:
        engine.dispose()
    extra["signature"] = signature
    now = dt.datetime.now(dt.UTC)
    if key_check_due(sql_sources.last_key_check(state), every_days, now):
        return None
    if not precheck.raw_counts_agree(signature, view.live_raw_rows):
        return None  # rows missing from raw, or tombstones to revise: compare_keys' work
    if not precheck.cursors_agree(state, signature):
        return None  # the run's window starts from its own stored cursor, not the source's
    if not precheck.LiveRecord(pipelines_dir(target)).matches(state, signature):
        return None
    progress("live: the source as the last live run left it (no change), pipeline not run")
    return [TableReport(schema, t) for t in tables]


def _run_ingester(
    name: str,
    settings: SourceSettings,
    full_refresh: bool,
    progress: Progress,
    target: str,
    extra: dict[str, Any],
) -> list[TableReport]:
    """One pipeline's run; a failed dlt step is told as the pipeline, the step and why."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    ingester: Any = INGESTERS[name]
    # into DuckDB the Parquet files between extract and load are written for one read
    writing = staging_parquet() if check_target(target) == "duckdb" else nullcontext()
    try:
        with writing:
            return ingester(settings, full_refresh, progress, target, **extra)
    except schema_drift.SchemaDriftError as exc:
        raise IngestFailed(
            f"The {name} pipeline stopped before extracting: {exc} What was loaded before "
            "this run is unchanged."
        ) from None
    except PipelineStepFailed as exc:
        cause = exc.exception if getattr(exc, "exception", None) else exc
        raise _step_failed(name, exc.step, target, cause) from None

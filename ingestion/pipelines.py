"""The bronze layer: three dlt pipelines, one per source, into the raw schemas.

The pipelines' state (incremental cursors, loaded files, archive fingerprints) is kept
by dlt in the warehouse itself. Before every run the local working copy of that state
is dropped and restored from the warehouse, so the warehouse is the only truth: point
``MEDALLION_DUCKDB_PATH`` at a new file, or delete the warehouse, and the next run
loads everything again instead of reporting "nothing new" into an empty warehouse.
Every write disposition used (replace, merge) is idempotent, so re-extracting what a
crashed run had extracted but not loaded is always safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt

from . import files, sql_sources
from .settings import RAW_SCHEMAS, SourceSettings, redact, warehouse_path


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


Progress = Callable[[str], None]


def _config(path: str, default: Any) -> Any:
    value = dlt.config.get(path)
    return default if value is None else value


def pipelines_dir(warehouse: Path) -> Path:
    """dlt's working folders sit beside the warehouse file they belong to."""
    return warehouse.parent / ".dlt" / warehouse.stem


def make_pipeline(source: str, warehouse: Path | None = None) -> dlt.Pipeline:
    """The pipeline of one source, writing to its raw schema in the DuckDB warehouse."""
    warehouse = warehouse or warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"medallion_{source}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=RAW_SCHEMAS[source],
        pipelines_dir=str(pipelines_dir(warehouse)),
        progress=None,
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


def _run_pipeline(
    pipeline: dlt.Pipeline,
    resources: list[Any],
    reports: dict[str, TableReport],
    progress: Progress,
) -> None:
    """Extract each resource on its own (to time it), then normalise and load once."""
    schema = pipeline.dataset_name
    for resource in resources:
        name = resource.name
        if not name.startswith("_"):
            progress(f"extracting {schema}.{name}")
        started = time.perf_counter()
        pipeline.extract(resource)
        elapsed = time.perf_counter() - started
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
    row_counts = pipeline.last_trace.last_normalize_info.row_counts
    progress(f"loading {schema}")
    load_info = pipeline.load()
    load_info.raise_on_failed_jobs()
    spread = (time.perf_counter() - started) / max(len(reports), 1)
    for table, count in row_counts.items():
        if table.startswith("_dlt"):
            continue
        report = reports.setdefault(table, TableReport(schema, table))
        report.loaded += count
    for report in reports.values():
        report.seconds += spread


@contextmanager
def _database(name: str, url: str) -> Iterator[tuple[Any, list[str], dlt.Pipeline]]:
    """Open one source database: its engine (checked), its tables and its pipeline."""
    engine = sql_sources.make_engine(url)
    try:
        sql_sources.check_reachable(name, engine)
        tables = sql_sources.select_tables(
            engine,
            _config(f"sources.{name}.include_tables", []),
            _config(f"sources.{name}.exclude_tables", []),
        )
        yield engine, tables, make_pipeline(name)
    finally:
        engine.dispose()


def _backend(name: str) -> tuple[str, int]:
    return (
        _config(f"sources.{name}.backend", "pyarrow"),
        int(_config(f"sources.{name}.chunk_size", 100_000)),
    )


def ingest_archive(
    settings: SourceSettings, full_refresh: bool, progress: Progress
) -> list[TableReport]:
    """Copy the archive whole, table by table, skipping tables whose content is unchanged."""
    with _database("archive", settings.archive_url) as (engine, tables, pipeline):
        _fresh_from_warehouse(pipeline)
        previous = sql_sources.stored_fingerprints(pipeline.state)
        plan = sql_sources.plan_archive(engine, tables, previous, full_refresh)
        reports = {t: TableReport("raw_archive", t, note="unchanged") for t in plan.unchanged}
        resources = sql_sources.archive_resources(engine, plan, *_backend("archive"))
        _run_pipeline(pipeline, resources, reports, progress)
        return list(reports.values())


def ingest_live(
    settings: SourceSettings, full_refresh: bool, progress: Progress
) -> list[TableReport]:
    """Copy what changed in the live database since the last run (by ``updated_at``),
    then record the rows deleted at source."""
    with _database("live", settings.live_url) as (engine, tables, pipeline):
        if full_refresh:
            pipeline.drop()  # start the cursors over; replace drops rows deleted at source
        else:
            _fresh_from_warehouse(pipeline)
        resources = sql_sources.live_resources(
            engine,
            tables,
            *_backend("live"),
            _config("sources.live.incremental_column", "updated_at"),
        )
        if full_refresh:
            for resource in resources:
                resource.apply_hints(write_disposition="replace")
        reports: dict[str, TableReport] = {}
        _run_pipeline(pipeline, resources, reports, progress)
        progress("looking for rows deleted in live")
        with pipeline.sql_client() as client:
            tombstones = sql_sources.detect_deletions(engine, client, tables)
        if tombstones:
            deleted: dict[str, int] = {}
            for tombstone in tombstones:
                sign = 1 if tombstone["is_deleted"] else -1
                deleted[tombstone["table_name"]] = deleted.get(tombstone["table_name"], 0) + sign
            _run_pipeline(pipeline, [sql_sources.deletions_resource(tombstones)], {}, progress)
            for table, count in deleted.items():
                if table in reports:
                    reports[table].note = f"{count:+d} deleted at source"
        return list(reports.values())


def ingest_files(
    settings: SourceSettings, full_refresh: bool, progress: Progress
) -> list[TableReport]:
    """Load every landing file not loaded before."""
    bucket = settings.bucket_url
    if "://" not in bucket and not Path(bucket).is_dir():
        raise sql_sources.SourceUnavailable(
            f"The landing folder does not exist: {bucket!r} (SOURCES__FILES__BUCKET_URL)"
        )
    patterns = list(
        _config("sources.files.file_patterns", ["fiscal_calendar*.csv", "surveys/*.csv"])
    )
    pipeline = make_pipeline("files")
    if full_refresh:
        pipeline.drop()
    else:
        _fresh_from_warehouse(pipeline)
    resources = files.landing_resources(bucket, patterns)
    reports = {
        files.table_name_for(p): TableReport("raw_files", files.table_name_for(p)) for p in patterns
    }
    _run_pipeline(pipeline, resources, reports, progress)
    return list(reports.values())


INGESTERS = {"archive": ingest_archive, "live": ingest_live, "files": ingest_files}


def ingest(
    settings: SourceSettings,
    only: list[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
) -> list[TableReport]:
    """Run the pipelines (all three by default) and return one report per table."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    progress = progress or (lambda message: None)
    reports: list[TableReport] = []
    for name in only or list(INGESTERS):
        try:
            reports += INGESTERS[name](settings, full_refresh, progress)
        except PipelineStepFailed as exc:
            cause = exc.exception if getattr(exc, "exception", None) else exc
            reason = redact(str(cause)).strip().splitlines()[-1]
            raise IngestFailed(
                f"The {name} pipeline failed at its {exc.step} step: {reason}. What was loaded "
                "before this run is unchanged; fix the cause and run again."
            ) from None
    return reports

"""What ``medallion run`` does, in order; ``medallion ingest`` and ``medallion build`` are
its first and fourth steps alone.

1. **Ingest** (``ingest``): the dlt pipelines copy the live database, the landing files
   and the archive into the raw schemas (``ingestion.pipelines``).
2. **Check the load**: source freshness (``dbt source freshness``), each table's volume
   against its recent runs, and the raw expectations (Great Expectations). A stale
   source beyond its error threshold, a structural check, or a row-level check failing
   on more than ``max_bad_row_share`` of a table's rows (``policy``) stops the run here,
   before anything is built; a row-level check within it is a warning.
3. **Build** (``build``): ``dbt build`` (seeds, models, snapshots, tests), skipped when
   nothing changed since the last successful build, incremental when only live rows
   changed, whole otherwise and on the whole-build schedule (``build_state``).
4. **Check the marts**: silver row counts into the audit, a warning per quarantine
   reason, the gold expectations.
5. **Publish** (``publish``): only now, every mart at once, atomically, where readers
   look. A run that stopped at any step before leaves the published marts as they were.
6. **Record**: the run, its checks, its warnings (printed as a table) and its outcome
   go to the run audit, whether it succeeded or not (``run_audit``).

``strict`` (``--strict``) makes any warning fail the run before publishing: a raw one
before the build, a dbt one as dbt's ``--warn-error`` (what depends on the model is
skipped), a gold one after it.

Each function prints its progress and tables to the ``Output`` it is given and returns
what it did; the command line only parses arguments and prints the final line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .report import Output, dbt_table, ingest_table, labelled
from .settings import ConfigError, SourceSettings, describe_warehouse, redact


@dataclass
class RunOptions:
    """What a run was asked to do (the ``medallion run`` flags)."""

    target: str = "duckdb"
    only: list[str] | None = None
    full_refresh: bool = False
    force: bool = False
    anomaly_factor: float | None = None
    generate_demo: bool = True
    select: list[str] | None = field(default=None)
    strict: bool = False

    def command_line(self) -> str:
        """The command as the audit records it."""
        return " ".join(
            ["medallion run", f"--target {self.target}"]
            + ([f"--only {' '.join(self.only)}"] if self.only else [])
            + (["--full-refresh"] if self.full_refresh else [])
            + (["--force"] if self.force else [])
            + ([f"--anomaly-factor {self.anomaly_factor:g}"] if self.anomaly_factor else [])
            + (["--strict"] if self.strict else [])
        )


def progress(out: Output):
    """A one-line progress callback for the steps below."""

    def say(message: str) -> None:
        out.print(labelled("[dim]…[/dim]", message))

    return say


def sources(out: Output, generate_missing: bool) -> SourceSettings:
    """The configured sources; without any, the demo's, written first if asked to."""
    from .settings import demo_dir, resolve_sources

    settings = resolve_sources()
    if settings.is_demo:
        if not (demo_dir() / "live.sqlite").exists():
            if not generate_missing:
                raise ConfigError(
                    "No sources are configured and there are no demo sources yet: run "
                    "`medallion demo`, or set SOURCES__ARCHIVE__CREDENTIALS, "
                    "SOURCES__LIVE__CREDENTIALS and SOURCES__FILES__BUCKET_URL."
                )
            from .demo import generate_demo

            out.print("No sources configured: generating the demo sources first.")
            started = time.perf_counter()
            generate_demo(demo_dir(), seed=42, scale=1.0)
            out.print(f"Demo sources written in {time.perf_counter() - started:.1f} s")
        out.print(f"Sources: the demo in {demo_dir()}", style="dim", markup=False)
    return settings


def ingest(options: RunOptions, out: Output) -> list:
    """Step 1: run the pipelines, print their summary, return the per-table reports."""
    from ingestion.pipelines import ingest as run_pipelines

    settings = sources(out, generate_missing=options.generate_demo)
    out.print(f"Warehouse: {describe_warehouse(options.target)}", style="dim", markup=False)
    started = time.perf_counter()
    reports = run_pipelines(
        settings,
        only=options.only,
        full_refresh=options.full_refresh,
        progress=progress(out),
        target=options.target,
    )
    out.print(ingest_table(reports, time.perf_counter() - started))
    return reports


def build_args(options: RunOptions) -> list[str]:
    """dbt's arguments for step 3: ``build``, after ``--warn-error`` when ``strict`` (a
    global flag of dbt 1.7: it goes before the command, which refuses it)."""
    return (["--warn-error"] if options.strict else []) + ["build"]


def build(options: RunOptions, out: Output, publish: bool = True):
    """Step 3: ``dbt build``. A full build is skipped when the raw layer and the project
    are as at the last successful one, unless ``force``; it is incremental when only
    loads after the last build changed and no whole build is due. Returns dbt's outcome,
    or None when skipped. ``medallion build`` alone publishes the marts once dbt's tests
    passed (``publish``); a run publishes after its gold checks instead, and a build of a
    ``select``ion publishes nothing (it is not a whole gold layer)."""
    from .build_state import BuildState
    from .transform import run_dbt

    dbt_args = build_args(options)
    since = None
    state = None
    if options.select:
        dbt_args += ["--select", *options.select]
    else:
        if options.target == "spark":
            from .spark_control import check

            check("A whole build on Spark (without --select)")
        state = BuildState.read(options.target)
        if state.unchanged and not options.force:
            out.print(
                "No raw load and no project change since the last successful build "
                f"({state.last_built_at:%Y-%m-%d %H:%M:%S} UTC): dbt build skipped "
                "(--force builds anyway)"
            )
            if options.target == "spark":  # no build uses the run's registration
                from .lake import registered_lake_used

                registered_lake_used()
            if publish:
                publish_if_behind(options.target, out)
            return None
        if not options.full_refresh:
            since = state.changed_since
        if since and options.target == "spark":
            out.print(
                "Whole build: incremental builds are not used on Spark yet (docs/spark.md); "
                "every row is rebuilt and tested"
            )
            since = None
        if state.unfinished_whole_build:
            started = f"{state.last_built_at:%Y-%m-%d %H:%M:%S}"
            out.print(
                f"Whole build: the last whole build (started {started} UTC) did not finish; "
                "every row is rebuilt and tested"
            )
        if since and state.whole_build_due():
            last = (
                f"the last whole build started on {state.last_whole_at:%Y-%m-%d %H:%M} UTC, "
                f"{state.whole_every_days:g} days ago or more"
                if state.last_whole_at
                else "no whole build is recorded in this warehouse"
            )
            out.print(
                f"Whole build: {last} (whole_build_every_days); every row is rebuilt and tested"
            )
            since = None
    selection = []
    if since:
        changed = [source for source in state.changed_sources if source != "archive"]
        # nothing else can have changed (``changed_since``)
        selection = [f"source:{source}+" for source in changed]
        out.print(
            f"Incremental build: the rows loaded after load {since}"
            + (f"; the nodes downstream of source {', '.join(changed)}" if changed else "")
        )
    if state is not None and since is None:
        state.mark_whole_build_started()
    try:
        outcome = run_dbt(
            dbt_args + (["--select", *selection] if selection else []),
            target=options.target,
            changed_since=since,
        )
    finally:
        if options.target == "spark":
            from .lake import registered_lake_used

            registered_lake_used()
    outcome.command = " ".join(dbt_args)
    out.print(dbt_table(outcome, f", incremental: {' '.join(selection)}" if selection else ""))
    if state is not None:
        state.record(outcome.seconds, whole=since is None)
        if publish:
            publish_marts(options.target, out)
    return outcome


def publish_marts(target: str, out: Output) -> None:
    """Step 5: every mart of the build, at once, where readers look."""
    from .publish import publish

    publication = publish(target)
    out.print(
        f"Published {len(publication.rows)} marts ({sum(publication.rows.values()):,} rows) "
        f"to {publication.location} in {publication.seconds:.2f} s",
        markup=False,
    )


def publish_if_behind(target: str, out: Output) -> None:
    """Publish when the published marts are missing or older than the last successful
    build (a run that built but stopped at its gold checks published nothing)."""
    from .build_state import BuildState
    from .publish import is_behind

    if is_behind(target, BuildState.read(target).last_built_at):
        publish_marts(target, out)


def run(options: RunOptions, out: Output, audit=None):
    """The whole pipeline, recorded in the run audit whether it succeeded or not. A caller
    that reads the run's results afterwards (the orchestrator, ``medallion.orchestration``)
    hands in the ``audit`` it will read, even when the run raises."""
    from .run_audit import RunAudit

    if options.target == "spark":  # before ingesting: a setup the checks cannot read
        from .spark_control import check

        check("medallion run --target spark")
    if audit is None:
        audit = RunAudit(target=options.target, command=options.command_line())
    try:
        run_steps(options, audit, out)
    except BaseException as exc:
        audit.finish(exc)
        record(audit, out, failed=True)
        raise
    finally:
        if options.target == "spark":  # a run stopped before its build leaves none
            from .lake import registered_lake_used

            registered_lake_used()
    audit.finish(None)
    record(audit, out, failed=False)
    return audit


def run_steps(options: RunOptions, audit, out: Output) -> None:
    """Steps 1 to 5; an exception stops the run where it is raised."""
    from .policy import export_share, max_bad_row_share, percent
    from .quality import QualityFailed, validate_layer
    from .run_audit import anomaly_settings, check_freshness, raw_checks_table
    from .settings import resolve_sources
    from .transform import BuildFailed

    settings = anomaly_settings(options.anomaly_factor)  # a bad setting fails before ingesting
    share, share_origin = max_bad_row_share()
    export_share(share)  # dbt's row-level tests judge by the same share
    say = progress(out)
    if options.target == "mysql":
        from .mysql_settings import warn_small_settings

        warn_small_settings(out)

    # 1. ingest
    audit.add_ingestion(ingest(options, out))

    # 2. check the load
    say("checking source freshness (dbt source freshness)")
    freshness = check_freshness(options.target)
    if resolve_sources().is_demo:  # written once, never updated: age is no fault there
        why = "the demo sources are static, so this is a warning, not an error"
        freshness = [result.as_warning(why) for result in freshness]
    audit.add_freshness(freshness)
    say("comparing each table's volume with its recent runs")
    audit.check_volumes(settings)
    out.print(raw_checks_table(audit))
    raw = validate_layer("raw", options.target, progress=say, share=share)
    audit.add_quality(raw)
    raw.print(out)
    if audit.freshness_errors:
        stale = "\n  ".join(audit.prefixed(f.describe()) for f in audit.freshness_errors)
        critical = (
            f"\n{len(raw.critical)} critical data-quality check(s) failed too."
            if raw.critical
            else ""
        )
        raise QualityFailed(
            f"{len(audit.freshness_errors)} source table(s) are stale beyond their error "
            f"threshold:\n  {stale}{critical}\nThe source has sent nothing new for that long: "
            "check that it is being written and reachable (or, for a source known to be "
            "static such as the demo, reload it with --full-refresh); thresholds are in "
            "models/staging/*/_*__sources.yml. dbt build did not run."
        )
    raw.raise_for_critical(
        f"max_bad_row_share is {percent(share)} ({share_origin}). dbt build did not run; "
        "the marts keep their last values."
    )
    if options.strict and audit.warnings:
        raise QualityFailed(
            f"--strict: {len(audit.warnings)} warning(s) on ingestion and the raw layer "
            "(listed above). dbt build did not run; the marts keep their last values."
        )

    # 3. build
    try:
        outcome = build(RunOptions(**{**options.__dict__, "select": None}), out, publish=False)
    except BuildFailed as exc:
        if "max(table_rows)" not in str(exc):
            raise
        raise BuildFailed(
            f"{exc}\nA row-level dbt test failed on more than max_bad_row_share "
            f"({percent(share)}, {share_origin}) of its model's rows: dbt skipped every "
            "node downstream of it, so the marts keep their last values (nothing was "
            "published)."
        ) from None
    if outcome is not None:
        audit.add_dbt_warnings(outcome.results)

    # 4. check the marts
    audit.add_silver_counts()
    if outcome is not None:  # what this build quarantined, per reason: a warning
        audit.add_quarantine_warnings()
    gold = validate_layer("gold", options.target, progress=say, share=share)
    audit.add_quality(gold)
    gold.print(out)
    gold.raise_for_critical(
        "The marts were built but break these rules; they were not published (readers "
        "keep the last good marts)."
    )
    if options.strict and audit.warnings:
        raise QualityFailed(
            f"--strict: {len(audit.warnings)} warning(s) (listed above); the marts were not "
            "published (readers keep the last good marts)."
        )

    # 5. publish
    if outcome is not None:
        publish_marts(options.target, out)
    else:
        publish_if_behind(options.target, out)


def record(audit, out: Output, failed: bool) -> None:
    """Step 6: print the checks and write the run to the audit. A run that failed keeps
    its own error if the audit cannot be written; a run that succeeded fails on it."""
    from .run_audit import AuditError, audit_location, print_run_summary

    print_run_summary(audit, out)
    try:
        audit.write()
    except Exception as exc:  # the warehouse itself may be what failed
        message = f"The run audit could not be written: {redact(str(exc))}"
        if failed:
            out.print(message, style="yellow", markup=False)
            return
        raise AuditError(message) from None
    out.print(
        f"Run {audit.run_id} recorded ({audit.status}): {audit_location(audit.target)}",
        markup=False,
    )

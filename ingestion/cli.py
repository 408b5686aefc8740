"""The ``medallion`` command line: demo sources, ingestion, dbt build, docs.

Every command ends with a short summary; errors a user can cause (a missing setting,
an unreachable source, a failing test) end with one clear line and a non-zero exit,
never with a credential in it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from .settings import ConfigError, prepare_environment, redact

prepare_environment()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(stderr=False, highlight=False)

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _progress(message: str) -> None:
    console.print(f"[dim]…[/dim] {message}")


def print_ingest_summary(reports: list, seconds: float) -> None:
    table = Table(title=f"Ingestion ({seconds:.1f} s)", title_justify="left")
    table.add_column("table")
    table.add_column("rows extracted", justify="right")
    table.add_column("rows loaded", justify="right")
    table.add_column("time (s)", justify="right")
    table.add_column("note")
    for report in sorted(reports, key=lambda r: (r.schema, r.table)):
        table.add_row(
            f"{report.schema}.{report.table}",
            f"{report.extracted:,}",
            f"{report.loaded:,}",
            f"{report.seconds:.2f}",
            report.note,
        )
    console.print(table)


def print_dbt_summary(outcome, note: str = "") -> None:
    title = f"dbt {outcome.command} ({outcome.seconds:.1f} s{note})"
    table = Table(title=title, title_justify="left")
    table.add_column("node type")
    table.add_column("status")
    table.add_column("count", justify="right")
    for (kind, status), count in sorted(outcome.counts.items()):
        table.add_row(kind, status, str(count))
    console.print(table)


# --- commands --------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import generate_demo
    from .settings import demo_dir

    out = Path(args.out) if args.out else demo_dir()
    started = time.perf_counter()
    with console.status("writing demo sources") as status:

        def progress(step: str, done: int, total: int) -> None:
            status.update(f"writing demo sources: {step} {done:,}/{total:,}")

        sources = generate_demo(
            out, seed=args.seed, scale=args.scale, mysql_url=args.mysql, progress=progress
        )
    table = Table(
        title=f"Demo sources ({time.perf_counter() - started:.1f} s)", title_justify="left"
    )
    table.add_column("source")
    table.add_column("location")
    table.add_row("archive", redact(sources.archive_url))
    table.add_row("live", redact(sources.live_url))
    table.add_row("files", str(sources.landing_dir))
    console.print(table)
    if args.mysql:
        console.print(
            "To ingest them: export SOURCES__ARCHIVE__CREDENTIALS, SOURCES__LIVE__CREDENTIALS "
            f"(the URLs above) and SOURCES__FILES__BUCKET_URL={sources.landing_dir}"
        )
    return 0


def _sources(generate_missing: bool):
    from .settings import resolve_sources

    settings = resolve_sources()
    if settings.is_demo:
        from .settings import demo_dir

        if not (demo_dir() / "live.sqlite").exists():
            if not generate_missing:
                raise ConfigError(
                    "No sources are configured and there are no demo sources yet: run "
                    "`medallion demo`, or set SOURCES__ARCHIVE__CREDENTIALS, "
                    "SOURCES__LIVE__CREDENTIALS and SOURCES__FILES__BUCKET_URL."
                )
            console.print("No sources configured: generating the demo sources first.")
            cmd_demo(argparse.Namespace(out=None, seed=42, scale=1.0, mysql=None))
        console.print(f"[dim]Sources: the demo in {demo_dir()}[/dim]")
    return settings


def cmd_ingest(args: argparse.Namespace) -> int:
    _ingest(args)
    return 0


def _ingest(args: argparse.Namespace) -> list:
    """Run the pipelines, print their summary and return the per-table reports."""
    from .pipelines import ingest
    from .settings import describe_warehouse

    settings = _sources(generate_missing=args.generate_demo)
    console.print(f"[dim]Warehouse: {describe_warehouse(args.target)}[/dim]")
    started = time.perf_counter()
    reports = ingest(
        settings,
        only=args.only,
        full_refresh=args.full_refresh,
        progress=_progress,
        target=args.target,
    )
    print_ingest_summary(reports, time.perf_counter() - started)
    return reports


def cmd_build(args: argparse.Namespace) -> int:
    """dbt build; a full build is skipped when the raw layer and the project are as at
    the last successful one (``build_state``), unless ``--force``."""
    from .build_state import BuildState
    from .transform import run_dbt

    dbt_args = ["build"]
    since = None
    if args.select:
        dbt_args += ["--select", *args.select]
        state = None
    else:
        state = BuildState.read(args.target)
        if state.unchanged and not args.force:
            console.print(
                "No raw load and no project change since the last successful build "
                f"({state.last_built_at:%Y-%m-%d %H:%M:%S} UTC): dbt build skipped "
                "(--force builds anyway)"
            )
            return 0
        if not getattr(args, "full_refresh", False):
            since = state.changed_since
        if state.unfinished_whole_build:
            started = f"{state.last_built_at:%Y-%m-%d %H:%M:%S}"
            console.print(
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
            console.print(
                f"Whole build: {last} (whole_build_every_days); every row is rebuilt and tested"
            )
            since = None
    selection = []
    if since:
        sources = [source for source in state.changed_sources if source != "archive"]
        # nothing else can have changed (``changed_since``)
        selection = [f"source:{source}+" for source in sources]
        console.print(
            f"Incremental build: the rows loaded after load {since}"
            + (f"; the nodes downstream of source {', '.join(sources)}" if sources else "")
        )
    if state is not None and since is None:
        state.mark_whole_build_started()
    outcome = run_dbt(
        dbt_args + (["--select", *selection] if selection else []),
        target=args.target,
        changed_since=since,
    )
    outcome.command = " ".join(dbt_args)
    print_dbt_summary(outcome, f", incremental: {' '.join(selection)}" if selection else "")
    if state is not None:
        state.record(outcome.seconds, whole=since is None)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Ingest, check the load (freshness, volume anomalies, raw expectations), build,
    check the marts; the run and its checks are recorded in the audit schema at the end,
    whether it succeeded or not (see ``run_audit``)."""
    from .run_audit import RunAudit

    command = " ".join(
        ["medallion run", f"--target {args.target}"]
        + ([f"--only {' '.join(args.only)}"] if args.only else [])
        + (["--full-refresh"] if args.full_refresh else [])
        + (["--force"] if args.force else [])
        + ([f"--anomaly-factor {args.anomaly_factor:g}"] if args.anomaly_factor else [])
    )
    audit = RunAudit(target=args.target, command=command)
    try:
        _run_steps(args, audit)
    except BaseException as exc:
        audit.finish(exc)
        _record_run(audit, failed=True)
        raise
    audit.finish(None)
    _record_run(audit, failed=False)
    return 0


def _run_steps(args: argparse.Namespace, audit) -> None:
    from .quality import QualityFailed, validate_layer
    from .run_audit import anomaly_settings, check_freshness, raw_checks_table
    from .settings import resolve_sources

    settings = anomaly_settings(args.anomaly_factor)  # a bad setting fails before ingesting
    args.generate_demo = True
    audit.add_ingestion(_ingest(args))
    _progress("checking source freshness (dbt source freshness)")
    freshness = check_freshness(args.target)
    if resolve_sources().is_demo:  # written once, never updated: age is no fault there
        why = "the demo sources are static, so this is a warning, not an error"
        freshness = [result.as_warning(why) for result in freshness]
    audit.add_freshness(freshness)
    _progress("comparing each table's volume with its recent runs")
    audit.check_volumes(settings)
    console.print(raw_checks_table(audit))
    raw = validate_layer("raw", args.target, progress=_progress)
    audit.add_quality(raw)
    raw.print(console)
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
    raw.raise_for_critical("dbt build did not run.")
    args.select = None
    cmd_build(args)
    audit.add_silver_counts()
    gold = validate_layer("gold", args.target, progress=_progress)
    audit.add_quality(gold)
    gold.print(console)
    gold.raise_for_critical("The marts were built but break these rules.")


def _record_run(audit, failed: bool) -> None:
    """Print the checks and write the run to the audit. A run that failed keeps its own
    error if the audit cannot be written; a run that succeeded fails on it."""
    from .run_audit import audit_location, print_run_summary

    print_run_summary(audit, console)
    try:
        audit.write()
    except Exception as exc:  # the warehouse itself may be what failed
        message = f"The run audit could not be written: {redact(str(exc))}"
        if failed:
            console.print(f"[yellow]{message}[/yellow]")
            return
        from .run_audit import AuditError

        raise AuditError(message) from None
    console.print(f"Run {audit.run_id} recorded ({audit.status}): {audit_location(audit.target)}")


def cmd_status(args: argparse.Namespace) -> int:
    from .run_audit import print_status

    if args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    print_status(args.target, args.limit, console)
    return 0


def _check_quality(layer: str, target: str, consequence: str = "") -> Path:
    """Validate one layer with Great Expectations and print its summary; a critical
    failure raises QualityFailed (warnings are printed and the run goes on)."""
    from .quality import validate_layer

    report = validate_layer(layer, target, progress=_progress)
    report.print(console)
    report.raise_for_critical(consequence)
    return report.docs_index


def cmd_validate(args: argparse.Namespace) -> int:
    from .quality import LAYERS, QualityFailed, data_docs_dir

    layers = LAYERS if args.layer == "all" else (args.layer,)
    failed: list[QualityFailed] = []
    for layer in layers:
        try:
            _check_quality(layer, args.target)
        except QualityFailed as exc:
            failed.append(exc)
    index = data_docs_dir(args.target) / "index.html"
    if args.open:
        import webbrowser

        if os.environ.get("DISPLAY") or os.environ.get("BROWSER") or sys.platform != "linux":
            webbrowser.open(index.as_uri())
        console.print(f"Open the Data Docs: {index.as_uri()}")
    if failed:
        raise QualityFailed("\n".join(str(exc) for exc in failed))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from .settings import PROJECT_DIR
    from .transform import run_dbt

    outcome = run_dbt(["docs", "generate", "--static"], target=args.target)
    site = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target") / "static_index.html"
    console.print(f"Docs site ({outcome.seconds:.1f} s): {site}")
    if args.serve:
        import functools
        import http.server

        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(site.parent)
        )
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
            console.print(f"Serving http://127.0.0.1:{args.port}/static_index.html (Ctrl-C)")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .serve import export_marts

    out = Path(args.out)
    started = time.perf_counter()
    written = export_marts(args.target, out)
    table = Table(
        title=f"Parquet export to {out} ({time.perf_counter() - started:.1f} s)",
        title_justify="left",
    )
    table.add_column("mart")
    table.add_column("rows", justify="right")
    for mart, rows in sorted(written.items()):
        table.add_row(f"{mart}.parquet", f"{rows:,}")
    console.print(table)
    return 0


def cmd_bi(args: argparse.Namespace) -> int:
    from .serve import BIAccount, grant_bi_account, write_pbids
    from .settings import MySQLWarehouse

    server = MySQLWarehouse.from_environment()
    if args.action == "grant":
        account = BIAccount.from_environment()
        marts = grant_bi_account(server, account)
        console.print(
            f"BI account {account.user!r}@{account.host!r}: select on `{marts}` only "
            f"({server.host}:{server.port})."
        )
    path = write_pbids(Path(args.pbids), server)
    console.print(f"Power BI connection file: {path}")
    return 0


def _numbers(text: str, kind: type) -> list:
    """``1000000,10000000`` or ``1M,10M`` -> a list of numbers."""
    values = []
    for part in text.split(","):
        part = part.strip().lower()
        factor = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        try:
            values.append(kind(float(part.rstrip("km")) * factor))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    return values


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import BenchFailed, BenchOptions, default_out, markdown, print_results, run_bench

    options = BenchOptions(
        rows=args.rows,
        changes=args.changes,
        seed=args.seed,
        out=Path(args.out) if args.out else default_out(),
        keep=args.keep,
        db_prefix=args.db_prefix,
        make_run=not args.skip_make_run,
    )
    try:
        results, path = run_bench(options, progress=_progress)
    except BenchFailed as exc:
        console.print(f"[bold red]Benchmark failed:[/bold red] {redact(str(exc))}")
        return EXIT_FAILED
    print_results(results, console, path)
    if args.markdown:
        console.print(markdown(results), markup=False, soft_wrap=True)
    return 0


# --- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medallion",
        description="Bronze (dlt) -> silver -> gold (dbt) on DuckDB or MySQL.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="write demo sources (SQLite or MySQL, and CSVs)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument(
        "--scale", type=float, default=1.0, help="size multiplier; 1 = ~6,000 transactions"
    )
    demo.add_argument("--mysql", metavar="URL", help="write the databases into this server")
    demo.add_argument("--out", metavar="DIR", help="folder for the SQLite files and CSVs")
    demo.set_defaults(func=cmd_demo)

    def add_target(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--target",
            choices=["duckdb", "mysql"],
            default="duckdb",
            help="warehouse to build in (default duckdb)",
        )

    def add_ingest_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--only",
            nargs="+",
            choices=["archive", "live", "files"],
            help="ingest only these sources",
        )
        sub.add_argument(
            "--full-refresh",
            action="store_true",
            help="reload every source whole, ignoring incremental state",
        )

    def add_force(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--force",
            action="store_true",
            help="run dbt build even when no raw load and no project file changed since "
            "the last successful build (which is skipped otherwise)",
        )

    ingest = commands.add_parser("ingest", help="run the dlt pipelines into the raw schemas")
    add_target(ingest)
    add_ingest_options(ingest)
    ingest.add_argument(
        "--generate-demo",
        action="store_true",
        help="generate the demo sources if none are configured and none exist",
    )
    ingest.set_defaults(func=cmd_ingest)

    build = commands.add_parser("build", help="dbt build: seeds, models, snapshots, tests")
    add_target(build)
    build.add_argument(
        "--select", nargs="+", help="dbt node selection (never skipped, never recorded)"
    )
    add_force(build)
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental models whole, whatever changed",
    )
    build.set_defaults(func=cmd_build)

    run = commands.add_parser("run", help="ingest, then build (the whole pipeline)")
    add_target(run)
    add_ingest_options(run)
    add_force(run)
    run.add_argument(
        "--anomaly-factor",
        type=float,
        metavar="F",
        help="flag a table whose rows or amount move by more than F times against its "
        "recent runs (default: MEDALLION_ANOMALY_FACTOR, else [checks] anomaly_factor "
        "in .dlt/config.toml, else 2)",
    )
    run.set_defaults(func=cmd_run)

    status = commands.add_parser(
        "status", help="the last runs and their checks, from the run audit"
    )
    add_target(status)
    status.add_argument("--limit", type=int, default=10, help="how many runs to show (default 10)")
    status.set_defaults(func=cmd_status)

    validate = commands.add_parser(
        "validate", help="check the raw layer and the marts with Great Expectations"
    )
    add_target(validate)
    validate.add_argument(
        "--layer",
        choices=["raw", "gold", "all"],
        default="all",
        help="raw: the sources as ingested; gold: the marts; all: both (default)",
    )
    validate.add_argument(
        "--open", action="store_true", help="open the Data Docs site (and print its path)"
    )
    validate.set_defaults(func=cmd_validate)

    docs = commands.add_parser("docs", help="generate the dbt docs site (one static file)")
    add_target(docs)
    docs.add_argument("--serve", action="store_true", help="serve it on localhost")
    docs.add_argument("--port", type=int, default=8080)
    docs.set_defaults(func=cmd_docs)

    export = commands.add_parser("export", help="write every mart as a Parquet file")
    add_target(export)
    export.add_argument(
        "--out", default="warehouse/export", help="folder for the files (default warehouse/export)"
    )
    export.set_defaults(func=cmd_export)

    bi = commands.add_parser("bi", help="serve the MySQL marts to Power BI")
    bi.add_argument(
        "action",
        choices=["grant", "pbids"],
        help="grant: create or reset the read-only BI account (MEDALLION_BI_USER, "
        "MEDALLION_BI_PASSWORD) and write the .pbids file; pbids: only write the file",
    )
    bi.add_argument(
        "--pbids", default="warehouse/medallion-marts.pbids", help="where to write the .pbids file"
    )
    bi.set_defaults(func=cmd_bi)

    bench = commands.add_parser(
        "bench", help="benchmark ingest, build, re-runs and memory against same-run baselines"
    )
    bench.add_argument(
        "--rows",
        type=lambda text: _numbers(text, int),
        default=[1_000_000],
        help="transaction rows of the sources, one or more sizes (default 1M; e.g. 1M,10M)",
    )
    bench.add_argument(
        "--changes",
        type=lambda text: _numbers(text, float),
        default=[0.0, 0.1, 1.0],
        help="%% of live rows changed before each re-run at the largest size (default 0,0.1,1)",
    )
    bench.add_argument("--seed", type=int, default=42, help="demo seed (default 42)")
    bench.add_argument("--out", help="JSON file (default bench/results/<timestamp>.json)")
    bench.add_argument(
        "--keep", action="store_true", help="keep the MySQL databases and the work folder"
    )
    bench.add_argument(
        "--db-prefix", help="prefix of the MySQL databases (default bench<timestamp>_<random>_)"
    )
    bench.add_argument(
        "--skip-make-run", action="store_true", help="do not time `make run` on the default demo"
    )
    bench.add_argument(
        "--markdown", action="store_true", help="also print the figures as Markdown tables"
    )
    bench.set_defaults(func=cmd_bench)
    return parser


# Commands that open the warehouse hold its lock (ingestion/lock.py): one at a time.
LOCKED_COMMANDS = {"ingest", "build", "run", "validate", "docs", "export", "status"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .lock import WarehouseLocked, WarehouseUnavailable, warehouse_lock
    from .pipelines import IngestFailed
    from .quality import QualityFailed
    from .run_audit import AuditError
    from .sql_sources import SourceUnavailable
    from .transform import BuildFailed

    try:
        if args.command not in LOCKED_COMMANDS:
            return args.func(args)
        with warehouse_lock(args.target, args.command):
            return args.func(args)
    except ConfigError as exc:
        console.print(f"[bold red]Configuration error:[/bold red] {redact(str(exc))}")
        return EXIT_CONFIG
    except (
        SourceUnavailable,
        IngestFailed,
        BuildFailed,
        QualityFailed,
        AuditError,
        WarehouseLocked,
        WarehouseUnavailable,
    ) as exc:
        console.print(f"[bold red]Failed:[/bold red] {redact(str(exc))}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

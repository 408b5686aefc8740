"""The ``medallion`` command line: demo sources, ingestion, dbt build, docs.

Every command ends with a short summary; errors a user can cause (a missing setting,
an unreachable source, a failing test) end with one clear line and a non-zero exit,
never with a credential in it.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

from .settings import TARGETS, ConfigError, prepare_environment, redact

prepare_environment()

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from . import run as steps  # noqa: E402
from .report import labelled  # noqa: E402
from .run import RunOptions  # noqa: E402

console = Console(stderr=False, highlight=False)

EXIT_FAILED = 1
EXIT_CONFIG = 2


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
            f"(the URLs above) and SOURCES__FILES__BUCKET_URL={sources.landing_dir}",
            markup=False,
        )
    return 0


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        target=args.target,
        only=getattr(args, "only", None),
        full_refresh=getattr(args, "full_refresh", False),
        force=getattr(args, "force", False),
        anomaly_factor=getattr(args, "anomaly_factor", None),
        generate_demo=getattr(args, "generate_demo", True),
        select=getattr(args, "select", None),
        strict=getattr(args, "strict", False),
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    steps.ingest(_options(args), console)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    steps.build(_options(args), console)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    steps.run(_options(args), console)
    return 0


def cmd_slim(args: argparse.Namespace) -> int:
    from .report import dbt_table
    from .slim import slim_build

    outcome = slim_build(
        Path(args.state), args.target, Path(args.project_dir) if args.project_dir else None
    )
    console.print(dbt_table(outcome, ", state:modified+ deferred to " + args.state))
    built = sum(n for (kind, status), n in outcome.counts.items() if kind != "test")
    console.print(f"Slim build: {built} node(s) built and their tests passed")
    return 0


def _check_spark(target: str, what: str) -> None:
    """On Spark, refuse in one line a setup its control file cannot read
    (``spark_control.check``)."""
    if target == "spark":
        from .spark_control import check

        check(what)


def cmd_status(args: argparse.Namespace) -> int:
    from .run_audit import print_status

    _check_spark(args.target, "medallion status --target spark")
    if args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    if print_status(args.target, args.limit, console):
        from .publish import last_publication

        published = last_publication(args.target)
        console.print(
            "Published marts: none yet (a run publishes them once its checks pass)"
            if published is None
            else f"Published marts: {published['marts']} marts, {published['mart_rows']:,} rows, "
            f"at {published['published_at']:%Y-%m-%d %H:%M:%S} UTC, in {published['location']}",
            markup=False,
        )
    return 0


def _check_quality(layer: str, target: str, consequence: str = "") -> Path:
    """Validate one layer with Great Expectations and print its summary; a critical
    failure raises QualityFailed (warnings are printed and the run goes on)."""
    from .quality import validate_layer

    report = validate_layer(layer, target, progress=steps.progress(console))
    report.print(console)
    report.raise_for_critical(consequence)
    return report.docs_index


def cmd_validate(args: argparse.Namespace) -> int:
    from .quality import LAYERS, QualityFailed, data_docs_dir

    _check_spark(args.target, "medallion validate --target spark")
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
        console.print(f"Open the Data Docs: {index.as_uri()}", markup=False)
    if failed:
        raise QualityFailed("\n".join(str(exc) for exc in failed))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from .settings import PROJECT_DIR
    from .transform import run_dbt

    outcome = run_dbt(["docs", "generate", "--static"], target=args.target)
    site = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target") / "static_index.html"
    console.print(f"Docs site ({outcome.seconds:.1f} s): {site}", markup=False)
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
    console.print(f"Power BI connection file: {path}", markup=False)
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
    from .bench import (
        BenchFailed,
        BenchOptions,
        default_out,
        history_markdown,
        markdown,
        print_results,
        run_bench,
    )
    from .bench_peers import (
        command_peer,
        failed_peers,
        peer_timeout,
        peers_markdown,
        peers_only_out,
        print_peers,
        run_peers_only,
    )

    if args.history:
        folder = Path(args.history_dir) if args.history_dir else None
        console.print(history_markdown(folder), markup=False, soft_wrap=True)
        return 0
    if args.no_change_only:
        return _bench_no_change(args)
    for flag, sizes in (("--mysql-rows", args.mysql_rows), ("--spark-rows", args.spark_rows)):
        unknown = sorted(set(sizes or []) - set(args.rows))
        if unknown:
            console.print(
                f"[bold red]{flag} {','.join(map(str, unknown))} is not one of the --rows "
                f"sizes ({','.join(map(str, args.rows))})[/bold red]"
            )
            return EXIT_CONFIG
    if args.spark_rows:
        from .lake import check_java

        check_java()  # no Java fails now, in one line, not after the sources are written
    options = BenchOptions(
        rows=args.rows,
        changes=args.changes,
        seed=args.seed,
        out=Path(args.out) if args.out else default_out(),
        keep=args.keep,
        db_prefix=args.db_prefix,
        make_run=not args.skip_make_run,
        peers=args.peers or bool(args.peer),
        extra_peers=tuple(args.peer or ()),
        mysql_rows=args.mysql_rows or [],
        spark_rows=args.spark_rows or [],
    )
    try:
        for spec in options.extra_peers:
            command_peer(spec)  # a wrong --peer fails now, not after the sources are written
        if options.peers or args.peers_only:
            peer_timeout()  # so does a wrong MEDALLION_PEER_TIMEOUT
        if args.peers_only:
            results = run_peers_only(
                options.rows,
                options.seed,
                options.extra_peers,
                options.db_prefix,
                options.keep,
                progress=steps.progress(console),
            )
            path = Path(args.out) if args.out else peers_only_out()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=2) + "\n")
        else:
            results, path = run_bench(options, progress=steps.progress(console))
    except BenchFailed as exc:
        console.print(labelled("[bold red]Benchmark failed:[/bold red]", redact(str(exc))))
        return EXIT_FAILED
    if args.peers_only:
        console.print(f"Results: {path}", markup=False)
    else:
        print_results(results, console, path)
    print_peers(results, console)
    if args.markdown:
        if not args.peers_only:
            console.print(markdown(results), markup=False, soft_wrap=True)
        console.print(peers_markdown(results), markup=False, soft_wrap=True)
    failed = failed_peers(results)
    if failed:
        console.print("[bold red]Peers that failed or landed wrong data:[/bold red]")
        for line in failed:
            console.print(f"  {redact(line)}", markup=False)
        return EXIT_FAILED
    return 0


def _bench_no_change(args: argparse.Namespace) -> int:
    """``medallion bench --no-change-only``: the no-change ingest and its baselines on the
    default demo, JSON in bench/results/no_change/ (medallion/bench_nochange.py)."""
    from .bench import BenchFailed
    from .bench_nochange import no_change_only_out, run_no_change_only, summary_rows

    try:
        results = run_no_change_only(progress=steps.progress(console))
    except BenchFailed as exc:
        console.print(labelled("[bold red]Benchmark failed:[/bold red]", redact(str(exc))))
        return EXIT_FAILED
    path = Path(args.out) if args.out else no_change_only_out()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title="No-change ingest", title_justify="left")
    for column in ("figure", "value", "target"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in summary_rows(results):
        table.add_row(*row)
    console.print(table)
    if args.markdown:
        lines = ["| figure | value | target |", "| --- | ---: | --- |"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(results)]
        console.print("\n".join(lines), markup=False, soft_wrap=True)
    console.print(f"Results: {path}", markup=False)
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
            choices=list(TARGETS),
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

    slim = commands.add_parser(
        "slim",
        help="CI: build only the changed nodes and their children, the rest deferred to "
        "the production manifest (dbt state:modified+ --defer)",
    )
    add_target(slim)
    slim.add_argument(
        "--state",
        required=True,
        metavar="DIR",
        help="folder holding the production manifest.json",
    )
    slim.add_argument(
        "--project-dir",
        metavar="DIR",
        help="the checkout holding the change (default: this project)",
    )
    slim.set_defaults(func=cmd_slim)

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
    run.add_argument(
        "--strict",
        action="store_true",
        help="fail the run on any warning (a row-level check failing on some rows, which "
        "otherwise routes them and publishes): a circuit breaker for curated data",
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
        "--mysql-rows",
        type=lambda text: _numbers(text, int),
        help="of the --rows sizes, those also ingested and built on the MySQL warehouse",
    )
    bench.add_argument(
        "--spark-rows",
        type=lambda text: _numbers(text, int),
        help="of the --rows sizes, those also ingested into the lake and built on Spark "
        "(driver memory: MEDALLION_SPARK_DRIVER_MEMORY)",
    )
    bench.add_argument(
        "--markdown", action="store_true", help="also print the figures as Markdown tables"
    )
    bench.add_argument(
        "--peers",
        action="store_true",
        help="also time the tools a user could copy with instead (the wire, plain dlt, "
        "DuckDB's MySQL scanner) beside `medallion ingest`, on the same table",
    )
    bench.add_argument(
        "--peers-only",
        action="store_true",
        help="only the peers, on the archive written at each size (no build, no re-run); "
        "JSON in bench/results/peers/",
    )
    bench.add_argument(
        "--no-change-only",
        action="store_true",
        help="only a no-change `medallion ingest` on the default demo and its baselines "
        "(no MySQL, no build); JSON in bench/results/no_change/",
    )
    bench.add_argument(
        "--peer",
        action="append",
        metavar="NAME=COMMAND",
        help="one more peer (implies --peers), e.g. ingestr or Sling installed apart: "
        "placeholders {mysql_url} {host} {port} {user} {database} {table} {duckdb}; it "
        "must land main.<table> in {duckdb} (docs/performance.md)",
    )
    bench.add_argument(
        "--history",
        action="store_true",
        help="print a Markdown table of the recorded runs (bench/results/*.json) and exit",
    )
    bench.add_argument(
        "--history-dir",
        metavar="DIR",
        help="folder of results for --history (default bench/results)",
    )
    bench.set_defaults(func=cmd_bench)
    return parser


# Commands that open the warehouse hold its lock (medallion/lock.py): one at a time.
LOCKED_COMMANDS = {"ingest", "build", "run", "validate", "docs", "export", "status", "slim"}


def _failures() -> tuple[type[Exception], ...]:
    """The failures a user can cause, each told in one line. Imported only when a command
    raised something: a command that needs none of these modules (a no-change ingest)
    does not pay for importing the build's, the checks' and the publication's."""
    from ingestion.pipelines import IngestFailed
    from ingestion.sql_sources import SourceUnavailable

    from .lock import WarehouseLocked, WarehouseUnavailable
    from .publish import PublishFailed
    from .quality import QualityFailed
    from .run_audit import AuditError
    from .transform import BuildFailed

    return (
        SourceUnavailable,
        IngestFailed,
        BuildFailed,
        QualityFailed,
        PublishFailed,
        AuditError,
        WarehouseLocked,
        WarehouseUnavailable,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .lock import warehouse_lock

    try:
        if args.command not in LOCKED_COMMANDS:
            return args.func(args)
        with warehouse_lock(args.target, args.command):
            return args.func(args)
    except ConfigError as exc:
        console.print(labelled("[bold red]Configuration error:[/bold red]", redact(str(exc))))
        return EXIT_CONFIG
    except Exception as exc:
        if not isinstance(exc, _failures()):
            raise
        console.print(labelled("[bold red]Failed:[/bold red]", redact(str(exc))))
        return EXIT_FAILED


def exit_now(code: int) -> None:
    """End the process with ``code`` without tearing the interpreter down.

    Python's own exit unloads every module and frees every object one by one: after an
    ingest (dlt, pyarrow, SQLAlchemy, pandas loaded) that takes 0.3-0.5 s, which a
    command line pays on every run (docs/performance.md, "A first copy's fixed costs").
    Here the DuckDB warehouse dbt-duckdb keeps open after a build is closed first (so
    DuckDB writes its log into the file, as it does on close), the exit handlers run
    (logging's flush among them), both streams are flushed, and the process ends; the
    operating system releases its memory and files. Daemon threads (tqdm's monitor,
    which Great Expectations starts) end with the process, as Python's own exit ends
    them; while any other thread is alive the interpreter's own exit is kept: it waits
    for that thread, and this one would cut it off."""
    main = threading.main_thread()
    if any(t is not main and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    if "dbt.adapters.duckdb.connections" in sys.modules:
        from .transform import release_warehouse

        release_warehouse()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def entry() -> None:
    """The ``medallion`` console script: ``main``, then ``exit_now`` with its exit code.
    An exception ``main`` does not turn into a line and a code ends as Python ends it."""
    exit_now(main())


if __name__ == "__main__":
    entry()

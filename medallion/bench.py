"""The benchmark (``medallion bench``): ratios against baselines measured in the same run.

The machine is shared and its speed varies from one minute to the next, so absolute
times say little; what is reported is how each stage compares with a baseline measured
moments before, on the same machine, in the same run:

* **ingest efficiency**: rows/s of the dlt pipeline copying the archive's
  ``transactions`` table from MySQL into DuckDB, over rows/s of the wire's ceiling on
  the same table (``mysql --quick --batch -e 'select * from transactions' > /dev/null``,
  the best of two reads taken right before);
* **build throughput**: ``dbt build`` seconds per raw transaction row at each size, how
  it grows between sizes, and the share of it that is dbt's fixed overhead (the same
  build on the default demo, a tiny source);
* **incremental cost**: after the full run at the largest size, 0%, 0.1% and 1% of the
  live rows are really updated in MySQL (``updated_at`` touched) and ingest + build run
  again; each re-run as a share of the full run, split by stage;
* **memory**: the peak resident memory of every stage, each run as a child process and
  read from ``wait4``'s resource usage;
* **`make run`** on the default demo (``medallion run`` from nothing), timed.

Every stage runs as its own child process (``medallion build``, or this module's
``child`` entry for ingestion, which also reports dlt's step times). The demo sources
are written into databases with a unique prefix on the MySQL server, dropped at the end
unless ``--keep``. The results are printed as tables and written as JSON (schema in
``bench/README.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .settings import PROJECT_DIR, MySQLWarehouse, prepare_environment

SCHEMA_VERSION = 1
# Transaction lines (archive + live) the demo writes per unit of --scale (6,221 at
# scale 5, 6,321 at scale 1); the rows actually written are counted and reported.
LINES_PER_SCALE = 6_220
DEFAULT_ROWS = (1_000_000,)
DEFAULT_CHANGES = (0.0, 0.1, 1.0)
COPY_TABLE = "transactions"
GIB = 1024**3

# The targets of issue 7.
TARGET_INGEST_EFFICIENCY = 0.70
TARGET_RERUN_SHARE = 0.10
TARGET_INGEST_RSS_BYTES = GIB
TARGET_INGEST_RSS_AT_ROWS = 10_000_000
TARGET_MAKE_RUN_SECONDS = 60.0

INGEST_STAGES = ("extract", "normalize", "load", "ingest_other")
NODE_STAGES = ("seeds", "models", "snapshots", "tests")
# publish: copying the marts where readers look, after dbt (medallion/publish.py)
BUILD_STAGES = ("dbt_overhead", *NODE_STAGES, "publish")
STAGES = INGEST_STAGES + BUILD_STAGES


class BenchFailed(Exception):
    """A stage of the benchmark failed; the message names it and its log file."""


# --- child processes --------------------------------------------------------------------


@dataclass
class ChildRun:
    """One stage run as a child process: wall seconds and peak resident memory."""

    seconds: float
    max_rss_bytes: int
    returncode: int = 0
    cpu_seconds: float = 0.0  # user + system time of the child (and its children)
    timed_out: bool = False  # stopped (with its children) after ``run_child``'s timeout


# Each measured command is started by this small launcher (about 8 MiB resident), which
# times it and reads its resource usage. On Linux a child's ``ru_maxrss`` keeps the
# resident size of the process it was forked from (the larger of the two is kept across
# ``exec``): started by the benchmark itself, which holds hundreds of MiB after writing
# the sources, every child would report at least that much.
LAUNCHER = """\
import json, os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the command's to take, not ours
out, drop, command = sys.argv[1], sys.argv[2], sys.argv[3:]
env = {k: v for k, v in os.environ.items() if k not in drop.split(",")}
started = time.perf_counter()
try:
    pid = os.posix_spawnp(command[0], command, env,
                          setsigdef=(signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ))
except OSError as exc:
    sys.exit(f"cannot run {command[0]!r}: {exc.strerror}")
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(out + ".tmp", "w") as f:
    json.dump({"seconds": seconds, "status": status, "maxrss_kib": usage.ru_maxrss,
               "cpu_seconds": usage.ru_utime + usage.ru_stime}, f)
os.replace(out + ".tmp", out)
"""


def run_child(
    name: str,
    command: list[str],
    env: dict[str, str],
    log_dir: Path,
    may_fail: bool = False,
    discard_stdout: bool = False,
    timeout: float | None = None,
) -> ChildRun:
    """Run ``command`` and measure it; its output goes to ``log_dir/<name>.log`` (only
    its errors with ``discard_stdout``, which sends the rest to /dev/null).

    The command is started by ``LAUNCHER``, whose ``os.wait4`` gives the resource usage
    of that command alone (``ru_maxrss``, KiB on Linux; its own children included), not
    the benchmark's, so stages measured one after the other never mix their peaks. The
    seconds are the launcher's, from the command's start to its end. The command gets
    ``env`` as it is (Python's start-up may add ``LC_CTYPE`` to the launcher's own).
    A command that did not run to its end (it could not be started, or was killed) has
    no memory or CPU figure (0), and its seconds are the wait for it.

    With ``timeout`` (seconds) the launcher and the command run in a process group of
    their own, killed whole (with whatever the command started) when the time is up,
    when the command ends (what it left running), or when this process is interrupted
    (Ctrl-C) while it waits; a command killed by the timeout comes back with
    ``timed_out`` (and, like any killed child, a non-zero ``returncode``).
    """
    import signal
    import threading

    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    usage_path = log_dir / f"{name}.usage.json"
    usage_path.unlink(missing_ok=True)
    drop = ",".join(key for key in ("LC_CTYPE",) if key not in env)
    expired = threading.Event()
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage_path), drop, *command],
            env=env,
            cwd=PROJECT_DIR,
            stdout=subprocess.DEVNULL if discard_stdout else log,
            stderr=log if discard_stdout else subprocess.STDOUT,
            start_new_session=timeout is not None,
        )
        # the launcher is reaped only after its group is killed: until then its pid, so
        # its group's id, cannot be another process's
        ended = threading.Event()

        def stop() -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

        def expire() -> None:
            if not ended.is_set():
                expired.set()
                stop()

        timer = threading.Timer(timeout, expire) if timeout is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
            ended.set()
        finally:
            if timer is not None:
                timer.cancel()
                stop()  # what the command left running, or all of it when interrupted
            _, status, _ = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    measured = json.loads(usage_path.read_text()) if usage_path.exists() else None
    usage_path.unlink(missing_ok=True)
    timed_out = expired.is_set() and measured is None
    if measured is not None:  # the command ran to its end
        status = measured["status"]
        seconds = measured["seconds"]
        max_rss_bytes = measured["maxrss_kib"] * 1024
        cpu_seconds = measured["cpu_seconds"]
    else:  # not started (the launcher says why in the log), or killed: until then, and
        seconds, max_rss_bytes, cpu_seconds = wall, 0, 0.0  # no figure of its own
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 and not may_fail:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise BenchFailed(f"{name} exited {process.returncode} (log: {log_path}):\n{tail}")
    return ChildRun(
        seconds=seconds,
        max_rss_bytes=max_rss_bytes,
        returncode=process.returncode,
        cpu_seconds=cpu_seconds,
        timed_out=timed_out,
    )


def server_cpu_seconds(server: MySQLWarehouse) -> float | None:
    """User + system seconds the MySQL server process has used so far, when it runs on
    this machine (``/proc/<pid>/stat``); None for a remote server or another user's."""
    if server.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() not in ("mariadbd", "mysqld"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state is field 3, utime 14 and stime 15 (man 5 proc)
        return (int(fields[11]) + int(fields[12])) / ticks
    return None


def _cpu_delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _child_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "medallion.bench", "child", *args]


def _medallion(*args: str) -> list[str]:
    return [sys.executable, "-m", "medallion.cli", *args]


def _child_ingest(out: Path) -> None:
    """Child: ``medallion ingest`` of the configured sources, with dlt's step times."""
    from ingestion import pipelines

    from .settings import resolve_sources

    started = time.perf_counter()
    reports = pipelines.ingest(resolve_sources())
    result = {
        "seconds": time.perf_counter() - started,
        "steps": dict(pipelines.STEP_SECONDS),
        "tables": {
            f"{r.schema}.{r.table}": {"extracted": r.extracted, "loaded": r.loaded} for r in reports
        },
    }
    out.write_text(json.dumps(result))


def _own_cpu_seconds() -> float:
    """User + system seconds of this process so far, every thread (DuckDB's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child_copy(out: Path, url: str, table: str, warehouse: Path) -> None:
    """Child: the dlt pipeline copying one archive table into a DuckDB file, as the
    archive pipeline does (same backend, chunk size, adapters and staging Parquet)."""
    import dlt

    from ingestion import pipelines, sql_sources
    from ingestion.staging_parquet import staging_parquet

    engine = sql_sources.make_engine(url)
    backend, chunk_size = pipelines._backend("archive")
    backend = sql_sources.resolve_backend(backend, engine)  # "auto" names what it chose
    plan = sql_sources.ArchivePlan(to_copy=[table], unchanged=[], fingerprints={})
    resources = sql_sources.archive_resources(engine, plan, backend, chunk_size)
    pipeline = dlt.pipeline(
        pipeline_name="medallion_bench_copy",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="bench_copy",
        pipelines_dir=str(warehouse.parent / ".dlt"),
        progress=None,
    )
    cpu_before = _own_cpu_seconds()
    started = time.perf_counter()
    with staging_parquet():
        pipeline.extract(resources)
        extracted = time.perf_counter()
        backend = sql_sources.READ_WITH.get(table, backend)  # a table that fell back says so
        pipeline.normalize()
    normalized = time.perf_counter()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get(table, 0)
    pipeline.load().raise_on_failed_jobs()
    loaded = time.perf_counter()
    cpu_seconds = _own_cpu_seconds() - cpu_before
    engine.dispose()
    out.write_text(
        json.dumps(
            {
                "rows": rows,
                "backend": backend,
                "chunk_size": chunk_size,
                "extract_seconds": extracted - started,
                "normalize_seconds": normalized - extracted,
                "load_seconds": loaded - normalized,
                "cpu_seconds": cpu_seconds,
            }
        )
    )


# --- MySQL -------------------------------------------------------------------------------


def _connect(server: MySQLWarehouse, database: str | None = None) -> Any:
    import pymysql

    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


def _scalar(server: MySQLWarehouse, database: str | None, sql: str) -> Any:
    conn = _connect(server, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    finally:
        conn.close()


def drop_databases(server: MySQLWarehouse, prefix: str) -> list[str]:
    """Drop every database whose name starts with ``prefix``; return their names."""
    conn = _connect(server)
    try:
        with conn.cursor() as cursor:
            cursor.execute("show databases like %s", (prefix.replace("_", r"\_") + "%",))
            names = [row[0] for row in cursor.fetchall()]
            for name in names:
                cursor.execute(f"drop database `{name}`")
        return names
    finally:
        conn.close()


def wire_command(server: MySQLWarehouse, database: str, table: str) -> list[str]:
    """The MySQL client reading every row of ``table``: ``--quick`` streams row by row,
    ``--batch`` prints plain rows (the password, if any, goes in ``MYSQL_PWD``)."""
    return [
        "mysql",
        "--quick",
        "--batch",
        "--protocol=tcp",
        f"--host={server.host}",
        f"--port={server.port}",
        f"--user={server.user}",
        f"--database={database}",
        "-e",
        f"select * from `{table}`",
    ]


def measure_wire(
    server: MySQLWarehouse, database: str, table: str, log_dir: Path, runs: int = 2
) -> dict[str, Any]:
    """The wire's ceiling: the stock client reading the whole table into /dev/null.

    ``--quick`` streams row by row (no buffering of the result), ``--batch`` prints
    plain tab-separated rows: about the least work a client can do with every row.
    The best of ``runs`` reads is the ceiling (the first also warms the server's cache).
    """
    rows = _scalar(server, database, f"select count(*) from `{table}`")
    command = wire_command(server, database, table)
    env = dict(os.environ)
    if server.password:
        env["MYSQL_PWD"] = server.password  # never on the command line
    reads = []
    for run in range(runs):
        server_before = server_cpu_seconds(server)
        child = run_child(f"wire-{run}", command, env, log_dir, may_fail=True, discard_stdout=True)
        if child.returncode != 0:
            message = (log_dir / f"wire-{run}.log").read_text(errors="replace").strip()
            raise BenchFailed(f"the mysql client failed: {message}")
        server_used = _cpu_delta(server_before, server_cpu_seconds(server))
        reads.append((child.seconds, child.cpu_seconds, server_used))
    best = min(reads, key=lambda read: read[0])
    return {
        "table": table,
        "rows": rows,
        "seconds": best[0],
        "runs_seconds": [read[0] for read in reads],
        "rows_per_second": rows / best[0],
        "client_cpu_seconds": best[1],
        "server_cpu_seconds": best[2],
    }


def cpu_budget(wire: dict[str, Any], copy: dict[str, Any], cores: int) -> dict[str, Any]:
    """Where the cores go: CPU seconds of the wire read and of the copy, client and
    server, and the efficiency the copy would reach with every core busy all along
    (its CPU seconds spread over the cores): what no scheduling of the same work beats."""
    budget: dict[str, Any] = {
        "cores": cores,
        "wire_client_cpu_seconds": wire.get("client_cpu_seconds"),
        "wire_server_cpu_seconds": wire.get("server_cpu_seconds"),
        "copy_pipeline_cpu_seconds": copy.get("cpu_seconds"),
        "copy_server_cpu_seconds": copy.get("server_cpu_seconds"),
        "copy_cpu_per_wire_cpu": None,
        "efficiency_with_every_core_busy": None,
    }
    if None in (copy.get("cpu_seconds"), copy.get("server_cpu_seconds")):
        return budget  # a remote server's CPU is not ours to read
    copy_cpu = copy["cpu_seconds"] + copy["server_cpu_seconds"]
    fastest = max(copy_cpu / cores, 1e-9)
    budget["efficiency_with_every_core_busy"] = (copy["rows"] / fastest) / wire["rows_per_second"]
    if wire.get("server_cpu_seconds") is not None:
        wire_cpu = wire["client_cpu_seconds"] + wire["server_cpu_seconds"]
        budget["copy_cpu_per_wire_cpu"] = copy_cpu / wire_cpu * wire["rows"] / copy["rows"]
    return budget


# The real updates of the incremental re-runs: each live table gets a change a user
# could make, and ``updated_at`` moves to now.
CHANGES = {
    "transactions": (
        "transaction_id",
        "target.territory = elt(mod(field(target.territory, 'NA', 'EMEA', 'APAC', 'Japan'), 4)"
        " + 1, 'NA', 'EMEA', 'APAC', 'Japan')",
    ),
    "customers": ("customer_id", "target.is_active = 1 - target.is_active"),
    "products": ("product_code", "target.msrp = target.msrp + 1"),
    "order_notes": ("note_id", "target.note = concat(coalesce(target.note, ''), ' (edited)')"),
}


def change_live_rows(
    server: MySQLWarehouse, database: str, percent: float, seed: int
) -> dict[str, int]:
    """Update ``percent`` % of the rows of every live table (rows chosen at random,
    reproducibly); return the rows changed per table."""
    changed: dict[str, int] = {}
    conn = _connect(server, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("set session sql_mode = ''")  # the demo keeps zero dates
            for table, (key, assignment) in CHANGES.items():
                cursor.execute(f"select count(*) from `{table}`")
                count = round(cursor.fetchone()[0] * percent / 100)
                changed[table] = 0
                if count:
                    changed[table] = cursor.execute(
                        f"update `{table}` as target join (select `{key}` from `{table}` "
                        f"order by rand({seed}) limit {count}) as picked using (`{key}`) "
                        f"set {assignment}, target.updated_at = now()"
                    )
    finally:
        conn.close()
    return changed


# --- dbt run_results -------------------------------------------------------------------


def build_stages(run_results: Path, wall_seconds: float) -> dict[str, Any]:
    """Split a build's wall time by stage from dbt's ``run_results.json``.

    dbt runs two threads, so node times overlap; the execution phase (dbt's
    ``elapsed_time``) is shared among node types in proportion to their summed node
    times. What is left of the wall time (process start, imports, parsing, manifest)
    is dbt's overhead.
    """
    data = json.loads(run_results.read_text())
    kinds = {"seed": "seeds", "model": "models", "snapshot": "snapshots", "test": "tests"}
    node_seconds = dict.fromkeys(kinds.values(), 0.0)
    nodes = dict.fromkeys(kinds.values(), 0)
    for result in data["results"]:
        stage = kinds.get(result["unique_id"].split(".", 1)[0])
        if stage:
            node_seconds[stage] += result["execution_time"]
            nodes[stage] += 1
    elapsed = min(float(data["elapsed_time"]), wall_seconds)
    total = sum(node_seconds.values()) or 1.0
    failures = sorted(
        result["unique_id"]
        for result in data["results"]
        if result["status"] in ("error", "fail", "runtime error")
    )
    stages = {"dbt_overhead": wall_seconds - elapsed}
    for stage in kinds.values():
        stages[stage] = elapsed * node_seconds[stage] / total
    return {
        "stages": stages,
        "node_seconds": node_seconds,
        "nodes": nodes,
        "elapsed": elapsed,
        "failures": failures,
    }


def published_seconds(log: str) -> float | None:
    """The seconds ``medallion build`` said publishing the marts took, or None."""
    found = re.search(
        r"Published \d+ marts \([\d,]+ rows\) to .*? in ([\d.]+) s", " ".join(log.split())
    )
    return float(found.group(1)) if found else None


# --- the run ---------------------------------------------------------------------------


@dataclass
class BenchOptions:
    rows: list[int]
    changes: list[float]
    seed: int
    out: Path
    keep: bool
    db_prefix: str | None = None
    work_dir: Path | None = None
    make_run: bool = True
    peers: bool = False  # also time the peers on each size (medallion/bench_peers.py)
    extra_peers: tuple[str, ...] = ()  # NAME=COMMAND, bench_peers.command_peer
    # the sizes also ingested and built on the MySQL warehouse (medallion/bench_mysql.py)
    mysql_rows: list[int] = field(default_factory=list)
    # the sizes also ingested into the lake and built on Spark (medallion/bench_spark.py)
    spark_rows: list[int] = field(default_factory=list)


def _base_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "DBT_", "MEDALLION_DUCKDB", "MEDALLION_DEMO"))
    }
    env["COLUMNS"] = "160"
    env.pop("MEDALLION_SCHEMA_PREFIX", None)
    return env


def _warehouse_env(base: dict[str, str], folder: Path) -> dict[str, str]:
    env = dict(base)
    env.update(
        {
            "MEDALLION_DUCKDB_PATH": str(folder / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(folder / "dbt_target"),
            "DBT_LOG_PATH": str(folder / "dbt_logs"),
        }
    )
    return env


def _raw_transaction_rows(warehouse: Path) -> int:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        total = 0
        for schema in ("raw_archive", "raw_live"):
            total += conn.execute(f"select count(*) from {schema}.transactions").fetchone()[0]
        return total


class Bench:
    """One benchmark run; ``results`` is the JSON document being filled in."""

    def __init__(self, options: BenchOptions, progress: Any = None) -> None:
        self.options = options
        self.progress = progress or (lambda message: None)
        self.server = MySQLWarehouse.from_environment()
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.prefix = options.db_prefix or f"bench{stamp}_{uuid.uuid4().hex[:6]}_"
        self.work = options.work_dir or Path(tempfile.mkdtemp(prefix="medallion-bench-"))
        self.logs = self.work / "logs"
        self.base_env = _base_env()
        self.results: dict[str, Any] = {}

    # stages ---------------------------------------------------------------------------

    def _ingest(self, name: str, env: dict[str, str], folder: Path) -> dict[str, Any]:
        out = folder / f"{name}.json"
        child = run_child(name, _child_command("ingest", str(out)), env, self.logs)
        reported = json.loads(out.read_text())
        steps = reported["steps"]
        stages = {step: steps[step] for step in ("extract", "normalize", "load")}
        stages["ingest_other"] = child.seconds - sum(stages.values())
        return {
            "seconds": child.seconds,
            "max_rss_bytes": child.max_rss_bytes,
            "stages": stages,
            "tables": reported["tables"],
        }

    def _build(
        self, name: str, env: dict[str, str], folder: Path, force: bool = False
    ) -> dict[str, Any]:
        """``medallion build`` (``--force``: even when nothing changed). A build that
        ``medallion build`` skipped (no raw load since the last one) is reported with
        ``skipped`` true: its whole time is dbt_overhead, and it ran no node."""
        results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
        results.unlink(missing_ok=True)
        command = _medallion("build", *(["--force"] if force else []))
        # A failing dbt test still ran (and was timed): it is reported, not fatal.
        child = run_child(name, command, env, self.logs, may_fail=True)
        log = self.logs / f"{name}.log"
        if not results.exists():
            if child.returncode == 0 and "dbt build skipped" in " ".join(log.read_text().split()):
                return {
                    "seconds": child.seconds,
                    "max_rss_bytes": child.max_rss_bytes,
                    "skipped": True,
                    "stages": {"dbt_overhead": child.seconds}
                    | dict.fromkeys(BUILD_STAGES[1:], 0.0),
                    "node_seconds": dict.fromkeys(NODE_STAGES, 0.0),
                    "nodes": dict.fromkeys(NODE_STAGES, 0),
                    "elapsed": 0.0,
                    "failures": [],
                }
            raise BenchFailed(f"{name} did not run (log: {log})")
        split = build_stages(results, child.seconds)
        # publishing the marts (medallion/publish.py) runs after dbt, in the same child
        publish = published_seconds(log.read_text()) or 0.0
        split["stages"]["publish"] = publish
        split["stages"]["dbt_overhead"] -= publish
        shutil.copy(results, folder / f"{name}.json")
        return {
            "seconds": child.seconds,
            "max_rss_bytes": child.max_rss_bytes,
            "skipped": False,
            **split,
        }

    def measure_default_demo(self) -> None:
        """``make run`` after set-up (``medallion run`` on the default demo, from nothing),
        then ``dbt build`` again on that tiny source: dbt's fixed overhead."""
        folder = self.work / "default"
        env = _warehouse_env(self.base_env, folder)
        env["MEDALLION_DEMO_DIR"] = str(folder / "demo")
        if self.options.make_run:
            self.progress("make run on the default demo")
            child = run_child("make-run", _medallion("run"), env, self.logs)
            self.results["make_run"] = {
                "seconds": child.seconds,
                "max_rss_bytes": child.max_rss_bytes,
            }
        else:
            self.progress("ingesting the default demo")
            run_child("default-ingest", _medallion("ingest", "--generate-demo"), env, self.logs)
            self.results["make_run"] = None
        from .bench_nochange import measure_no_change_ingest

        self.progress("no-change ingests on the default demo, and their baselines")
        self.results["no_change_ingest"] = measure_no_change_ingest(env, self.logs)
        self.progress("dbt build on the default demo (dbt's fixed overhead)")
        build = self._build("baseline-build", env, folder, force=True)
        build["raw_transaction_rows"] = _raw_transaction_rows(folder / "warehouse.duckdb")
        self.results["baseline_build"] = build

    def measure_size(self, index: int, rows: int) -> dict[str, Any]:
        from .demo import generate_demo

        folder = self.work / f"size{index}"
        scale = rows / LINES_PER_SCALE
        db_prefix = f"{self.prefix}s{index}_"
        self.progress(f"writing the demo sources at {rows:,} rows (scale {scale:.2f}) into MySQL")
        started = time.perf_counter()
        sources = generate_demo(
            folder / "demo",
            seed=self.options.seed,
            scale=scale,
            mysql_url=self.server.url(),
            database_prefix=db_prefix,
        )
        generate_seconds = time.perf_counter() - started
        archive_db, live_db = f"{db_prefix}archive", f"{db_prefix}live"
        source_rows = {
            db: _scalar(self.server, db, f"select count(*) from `{COPY_TABLE}`")
            for db in (archive_db, live_db)
        }

        self.progress(f"the wire's ceiling on {archive_db}.{COPY_TABLE}")
        wire = measure_wire(self.server, archive_db, COPY_TABLE, self.logs)
        self.progress(f"dlt copying {archive_db}.{COPY_TABLE} into DuckDB")
        copy_out = folder / "copy.json"
        copy_dir = folder / "copy"
        copy_dir.mkdir(parents=True, exist_ok=True)
        server_before = server_cpu_seconds(self.server)
        child = run_child(
            f"copy-{index}",
            _child_command(
                "copy",
                str(copy_out),
                sources.archive_url,
                COPY_TABLE,
                str(copy_dir / "copy.duckdb"),
            ),
            self.base_env,
            self.logs,
        )
        copy = json.loads(copy_out.read_text())
        copy["seconds"] = copy["extract_seconds"] + copy["normalize_seconds"] + copy["load_seconds"]
        copy["rows_per_second"] = copy["rows"] / copy["seconds"]
        copy["wall_seconds"] = child.seconds
        copy["max_rss_bytes"] = child.max_rss_bytes
        copy["server_cpu_seconds"] = _cpu_delta(server_before, server_cpu_seconds(self.server))
        shutil.rmtree(copy_dir)
        peers = None
        if self.options.peers:  # after the copy: its table never competes for the cache
            from .bench_peers import measure_at_size

            peers = measure_at_size(
                self.server,
                archive_db,
                f"{db_prefix}peers",
                folder / "peers",
                self.logs,
                self.progress,
                self.options.extra_peers,
            )

        env = _warehouse_env(self.base_env, folder)
        env.update(
            {
                "SOURCES__ARCHIVE__CREDENTIALS": sources.archive_url,
                "SOURCES__LIVE__CREDENTIALS": sources.live_url,
                "SOURCES__FILES__BUCKET_URL": str(sources.landing_dir),
            }
        )
        self.progress(f"full ingest at {rows:,} rows")
        ingest = self._ingest(f"ingest-{index}", env, folder)
        self.progress(f"dbt build at {rows:,} rows")
        build = self._build(f"build-{index}", env, folder)
        raw_rows = _raw_transaction_rows(folder / "warehouse.duckdb")
        build["raw_transaction_rows"] = raw_rows
        build["seconds_per_million_rows"] = build["seconds"] / raw_rows * 1e6
        baseline = self.results["baseline_build"]["seconds"]
        mysql = None
        if rows in self.options.mysql_rows:
            from .bench_mysql import measure_mysql_target

            mysql = measure_mysql_target(self, index, env, folder, build)
        spark = None
        if rows in self.options.spark_rows:
            from .bench_spark import measure_spark_target

            spark = measure_spark_target(self, index, env, folder, build)
        return {
            "requested_rows": rows,
            "scale": scale,
            "source_transaction_rows": source_rows[archive_db] + source_rows[live_db],
            "archive_transaction_rows": source_rows[archive_db],
            "generate_seconds": generate_seconds,
            "wire": wire,
            "peers": peers,
            "copy": copy,
            "ingest_efficiency": copy["rows_per_second"] / wire["rows_per_second"],
            "cpu": cpu_budget(wire, copy, os.cpu_count() or 1),
            "ingest": ingest,
            "build": build,
            "fixed_overhead_share": baseline / build["seconds"],
            "mysql": mysql,
            "spark": spark,
            "_env": env,
            "_folder": str(folder),
            "_live_db": live_db,
        }

    def measure_incremental(self, size: dict[str, Any]) -> dict[str, Any]:
        env, folder = size.pop("_env"), Path(size.pop("_folder"))
        live_db = size.pop("_live_db")
        full_stages = {**size["ingest"]["stages"], **size["build"]["stages"]}
        full_seconds = size["ingest"]["seconds"] + size["build"]["seconds"]
        reruns = []
        for i, percent in enumerate(self.options.changes):
            self.progress(f"re-run after changing {percent:g}% of the live rows")
            changed = change_live_rows(self.server, live_db, percent, self.options.seed + i)
            ingest = self._ingest(f"rerun-ingest-{i}", env, folder)
            build = self._build(f"rerun-build-{i}", env, folder)
            stages = {**ingest["stages"], **build["stages"]}
            seconds = ingest["seconds"] + build["seconds"]
            reruns.append(
                {
                    "changed_percent": percent,
                    "changed_rows": changed,
                    "seconds": seconds,
                    "share": seconds / full_seconds,
                    "stages": stages,
                    "stage_shares": {k: v / full_seconds for k, v in stages.items()},
                    "ingest": ingest,
                    "build": build,
                }
            )
        return {
            "rows": size["requested_rows"],
            "full_run": {"seconds": full_seconds, "stages": full_stages},
            "reruns": reruns,
        }

    # the whole ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        options = self.options
        results = self.results
        results.update(
            {
                "schema_version": SCHEMA_VERSION,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "settings": {
                    "rows": options.rows,
                    "changes_percent": options.changes,
                    "seed": options.seed,
                    "database_prefix": self.prefix,
                    "kept": options.keep,
                    "work_dir": str(self.work) if options.keep else None,
                },
                "machine": machine_facts(self.server),
            }
        )
        try:
            self.measure_default_demo()
            sizes = []
            for index, rows in enumerate(sorted(options.rows)):
                sizes.append(self.measure_size(index, rows))
                if index < len(options.rows) - 1:
                    for key in ("_env", "_folder", "_live_db"):
                        sizes[-1].pop(key)
            results["sizes"] = sizes
            results["incremental"] = self.measure_incremental(sizes[-1])
        finally:
            if not options.keep:
                self.progress(f"dropping the databases {self.prefix}*")
                results["dropped_databases"] = drop_databases(self.server, self.prefix)
                shutil.rmtree(self.work, ignore_errors=True)
        results["growth"] = [
            {
                "from_rows": a["build"]["raw_transaction_rows"],
                "to_rows": b["build"]["raw_transaction_rows"],
                "time_per_row_ratio": (b["build"]["seconds"] / b["build"]["raw_transaction_rows"])
                / (a["build"]["seconds"] / a["build"]["raw_transaction_rows"]),
            }
            for a, b in zip(results["sizes"], results["sizes"][1:], strict=False)
        ]
        results["targets"] = targets(results)
        results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        results["machine"]["load_average_end"] = list(os.getloadavg())
        return results


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets of issue 7, each with its measured value and whether it is met."""
    largest = results["sizes"][-1]
    rerun_1 = next(
        (r for r in results["incremental"]["reruns"] if r["changed_percent"] == 1.0), None
    )
    at_target_size = largest["requested_rows"] >= TARGET_INGEST_RSS_AT_ROWS
    rss = largest["ingest"]["max_rss_bytes"]
    make_run = results.get("make_run")
    rows = [
        {
            "name": "ingest_efficiency",
            "description": "dlt copy rows/s >= 70% of the wire's ceiling",
            "measured_at_rows": largest["requested_rows"],
            "value": largest["ingest_efficiency"],
            "threshold": TARGET_INGEST_EFFICIENCY,
            "met": largest["ingest_efficiency"] >= TARGET_INGEST_EFFICIENCY,
        },
        {
            "name": "rerun_after_1pct_share",
            "description": "re-run after a 1% change <= 10% of the full run",
            "measured_at_rows": largest["requested_rows"],
            "value": rerun_1["share"] if rerun_1 else None,
            "threshold": TARGET_RERUN_SHARE,
            "met": rerun_1["share"] <= TARGET_RERUN_SHARE if rerun_1 else None,
        },
        {
            "name": "ingest_peak_rss_at_10m",
            "description": "ingest peak memory < 1 GiB at 10M rows",
            "measured_at_rows": largest["requested_rows"],
            "value": rss,
            "threshold": TARGET_INGEST_RSS_BYTES,
            # below 10M rows a pass proves nothing; a miss already is one
            "met": False if rss >= TARGET_INGEST_RSS_BYTES else (True if at_target_size else None),
        },
        {
            "name": "make_run_seconds",
            "description": "`make run` on the default demo < 60 s after set-up",
            "measured_at_rows": results["baseline_build"]["raw_transaction_rows"],
            "value": make_run["seconds"] if make_run else None,
            "threshold": TARGET_MAKE_RUN_SECONDS,
            "met": make_run["seconds"] < TARGET_MAKE_RUN_SECONDS if make_run else None,
        },
    ]
    from .bench_mysql import mysql_target
    from .bench_nochange import target as no_change_target

    mysql = mysql_target(results)
    return rows + ([mysql] if mysql else []) + no_change_target(results)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def machine_facts(server: MySQLWarehouse) -> dict[str, Any]:
    """Cores, memory, CPU model, load and versions: what a comparison must hold equal."""
    cpu_model = platform.processor() or ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    client = subprocess.run(["mysql", "--version"], capture_output=True, text=True, check=False)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    packages = [
        "connectorx",
        "dbt-core",
        "dbt-duckdb",
        "dlt",
        "duckdb",
        "pyarrow",
        "pymysql",
        "sqlalchemy",
    ]
    return {
        "cores": os.cpu_count(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "cpu_model": cpu_model,
        "load_average_start": list(os.getloadavg()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: metadata.version(name) for name in packages}
        | {
            "mysql_server": _scalar(server, None, "select version()"),
            "mysql_client": client.stdout.strip(),
        },
        # the source server's cache: with MariaDB's default 128 MiB, the sources at 10M
        # rows do not fit, so every read of them (the wire's, the copy's, a re-run's
        # lookups of changed rows) goes to the disk (docs/performance.md)
        "mysql_buffer_pool_bytes": _int_or_none(
            _scalar(server, None, "select @@innodb_buffer_pool_size")
        ),
        "git_commit": commit + ("+dirty" if dirty else ""),
    }


# --- output -----------------------------------------------------------------------------


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MiB"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every figure as (figure, value, target) rows, for the console and docs/performance.md."""
    rows: list[tuple[str, str, str]] = []
    make_run = results.get("make_run")
    baseline = results["baseline_build"]
    if make_run:
        rows.append(("`make run`, default demo (s)", f"{make_run['seconds']:.1f}", "< 60"))
    from .bench_nochange import summary_rows as no_change_rows

    rows += no_change_rows(results)
    rows.append(
        (
            f"dbt build, default demo ({baseline['raw_transaction_rows']:,} rows) (s)",
            f"{baseline['seconds']:.1f}",
            "",
        )
    )
    for size in results["sizes"]:
        n = f"{size['requested_rows']:,}"
        wire, copy = size["wire"], size["copy"]
        rows += [
            (f"[{n}] wire ceiling, mysql client (rows/s)", f"{wire['rows_per_second']:,.0f}", ""),
            (f"[{n}] dlt copy of transactions (rows/s)", f"{copy['rows_per_second']:,.0f}", ""),
            (f"[{n}] ingest efficiency (dlt / wire)", _pct(size["ingest_efficiency"]), ">= 70%"),
            *_cpu_rows(n, size.get("cpu")),
            (f"[{n}] full ingest, 3 sources (s)", f"{size['ingest']['seconds']:.1f}", ""),
            (f"[{n}] ingest peak memory", _mib(size["ingest"]["max_rss_bytes"]), "< 1 GiB at 10M"),
            (f"[{n}] dbt build (s)", f"{size['build']['seconds']:.1f}", ""),
            (
                f"[{n}] of which publishing the marts (s)",
                _seconds(size["build"]["stages"].get("publish")),
                "",
            ),
            (
                f"[{n}] dbt build per million raw rows (s)",
                f"{size['build']['seconds_per_million_rows']:.1f}",
                "",
            ),
            (f"[{n}] dbt fixed overhead share", _pct(size["fixed_overhead_share"]), ""),
            (f"[{n}] build peak memory", _mib(size["build"]["max_rss_bytes"]), ""),
        ]
        if size["build"]["failures"]:
            failed = ", ".join(size["build"]["failures"])
            rows.append((f"[{n}] dbt nodes failed", failed, "none"))
    from .bench_mysql import summary_rows as mysql_rows

    rows += mysql_rows(results)
    from .bench_spark import summary_rows as spark_rows

    rows += spark_rows(results)
    for growth in results["growth"]:
        rows.append(
            (
                f"time per row, {growth['to_rows']:,} vs {growth['from_rows']:,} rows",
                f"{growth['time_per_row_ratio']:.2f}x",
                "",
            )
        )
    incremental = results["incremental"]
    rows.append(
        (
            f"full run at {incremental['rows']:,} rows, ingest + build (s)",
            f"{incremental['full_run']['seconds']:.1f}",
            "",
        )
    )
    for rerun in incremental["reruns"]:
        target = "<= 10%" if rerun["changed_percent"] == 1.0 else ""
        rows.append(
            (
                f"re-run after {rerun['changed_percent']:g}% change / full run",
                f"{_pct(rerun['share'])} ({rerun['seconds']:.1f} s)",
                target,
            )
        )
    return rows


def _cpu_rows(n: str, cpu: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The CPU budget of one size's copy, where the server's CPU could be read."""
    if not cpu or cpu.get("efficiency_with_every_core_busy") is None:
        return []
    rows = []
    if cpu.get("copy_cpu_per_wire_cpu") is not None:
        wire = cpu["wire_client_cpu_seconds"] + cpu["wire_server_cpu_seconds"]
        copy = cpu["copy_pipeline_cpu_seconds"] + cpu["copy_server_cpu_seconds"]
        rows.append(
            (
                f"[{n}] CPU s, wire read / dlt copy (client + server)",
                f"{wire:.1f} / {copy:.1f} ({cpu['copy_cpu_per_wire_cpu']:.1f}x per row)",
                "",
            )
        )
    rows.append(
        (
            f"[{n}] ingest efficiency with all {cpu['cores']} cores busy (bound)",
            _pct(cpu["efficiency_with_every_core_busy"]),
            "",
        )
    )
    return rows


def stage_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The per-stage split of the full run and of each re-run (seconds, share)."""
    incremental = results["incremental"]
    header = ["stage", "full run (s)"] + [
        f"re-run {r['changed_percent']:g}% (s, share of full)" for r in incremental["reruns"]
    ]
    body = []
    full = incremental["full_run"]
    for stage in STAGES:
        line = [stage, f"{full['stages'][stage]:.1f}"]
        for rerun in incremental["reruns"]:
            line.append(f"{rerun['stages'][stage]:.1f} ({_pct(rerun['stage_shares'][stage])})")
        body.append(line)
    return header, body


def print_results(results: dict[str, Any], console: Any, path: Path | None = None) -> None:
    from rich.table import Table

    targets_by_name = {t["name"]: t for t in results["targets"]}
    table = Table(title="Benchmark", title_justify="left")
    for column in ("figure", "value", "target"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for figure, value, target in summary_rows(results):
        table.add_row(figure, value, target)
    console.print(table)
    header, body = stage_rows(results)
    stages = Table(title="Full run and re-runs by stage", title_justify="left")
    for i, column in enumerate(header):
        stages.add_column(column, justify="left" if i == 0 else "right")
    for line in body:
        stages.add_row(*line)
    console.print(stages)
    verdicts = Table(title="Targets", title_justify="left")
    for column in ("target", "measured", "verdict"):
        verdicts.add_column(column)
    for name, target in targets_by_name.items():
        value = target["value"]
        shown = (
            "-"
            if value is None
            else _mib(value)
            if name.endswith("rss_at_10m")
            else f"{value:.1f} s"
            if name.endswith("seconds")
            else f"{value:.2f}x"
            if name.endswith("ratio")
            else _pct(value)
        )
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        verdicts.add_row(
            target["description"], f"{shown} at {target['measured_at_rows']:,} rows", verdict
        )
    console.print(verdicts)
    if path:
        console.print(f"Results: {path}", markup=False)


def markdown(results: dict[str, Any]) -> str:
    """The same figures as a Markdown table (docs/performance.md)."""
    lines = ["| figure | value | target |", "| --- | ---: | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(results)]
    header, body = stage_rows(results)
    lines += ["", "| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    lines += ["| " + " | ".join(line) + " |" for line in body]
    return "\n".join(lines)


# --- history ----------------------------------------------------------------------------

HISTORY_HEADER = (
    "run (UTC)",
    "commit",
    "rows",
    "copy / wire (bound)",
    "full ingest",
    "full build",
    "full run",
    "largest re-run (share)",
    "`make run`",
    "ingest peak",
)


def _rows_label(rows: int | None) -> str:
    if rows is None:
        return "-"
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return f"{rows:,}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def history_row(results: dict[str, Any]) -> tuple[str, ...]:
    """The key figures of one recorded run, at its largest size: one row of the table."""
    started = results.get("started_at") or ""
    commit = (results.get("machine") or {}).get("git_commit") or "-"
    commit = commit[:7] + ("+dirty" if commit.endswith("+dirty") else "")
    size = (results.get("sizes") or [{}])[-1]
    cpu = size.get("cpu") or {}
    efficiency = _pct(size.get("ingest_efficiency"))
    if cpu.get("efficiency_with_every_core_busy") is not None:
        efficiency += f" ({_pct(cpu['efficiency_with_every_core_busy'])})"
    incremental = results.get("incremental") or {}
    reruns = incremental.get("reruns") or []
    rerun = "-"
    if reruns:
        last = max(reruns, key=lambda r: r.get("changed_percent") or 0)
        rerun = (
            f"{last.get('changed_percent', 0):g}%: {_seconds(last.get('seconds'))} "
            f"({_pct(last.get('share'))})"
        )
    return (
        started[:16].replace("T", " "),
        f"`{commit}`",
        _rows_label(size.get("requested_rows")),
        efficiency,
        _seconds((size.get("ingest") or {}).get("seconds")),
        _seconds((size.get("build") or {}).get("seconds")),
        _seconds((incremental.get("full_run") or {}).get("seconds")),
        rerun,
        _seconds((results.get("make_run") or {}).get("seconds")),
        _mib((size.get("ingest") or {}).get("max_rss_bytes")),
    )


def history_markdown(results_dir: Path | None = None) -> str:
    """A Markdown table of every recorded run in ``bench/results/*.json``, oldest first:
    the history lives in those files, and docs/performance.md shows this table of them
    (``medallion bench --history``) rather than prose that would go stale."""
    folder = results_dir or PROJECT_DIR / "bench" / "results"
    runs = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    runs.sort(key=lambda results: results.get("started_at") or "")
    lines = [
        "| " + " | ".join(HISTORY_HEADER) + " |",
        "| --- | --- | ---: |" + " ---: |" * (len(HISTORY_HEADER) - 3),
    ]
    lines += ["| " + " | ".join(history_row(results)) + " |" for results in runs]
    return "\n".join(lines)


def run_bench(options: BenchOptions, progress: Any = None) -> tuple[dict[str, Any], Path]:
    """Run the benchmark and write its JSON; return the results and the file's path."""
    results = Bench(options, progress).run()
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=2) + "\n")
    return results, options.out


def default_out() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return PROJECT_DIR / "bench" / "results" / f"{stamp}.json"


def _child_main(argv: list[str]) -> None:
    prepare_environment()
    kind, out, *rest = argv
    if kind == "ingest":
        _child_ingest(Path(out))
    elif kind == "copy":
        url, table, warehouse = rest
        _child_copy(Path(out), url, table, Path(warehouse))
    else:
        raise SystemExit(f"unknown bench child {kind!r}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child_main(sys.argv[2:])
    else:
        raise SystemExit("run the benchmark with `medallion bench`")

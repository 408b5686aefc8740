"""The peers of `medallion ingest` in the benchmark (`medallion bench --peers`).

What a user could pick instead of the project to copy a MySQL table into DuckDB, timed
in the same run, on the same source table, alternating (round 1: every peer once, then
round 2; the best round of each counts), each as a child process measured end to end
(process start included, as a user would wait for it):

- ``wire``: the stock client reading the table into /dev/null, the ceiling;
- ``project``: ``medallion ingest --only archive`` into a fresh DuckDB file;
- ``dlt_connectorx``: the few lines of plain dlt a user would write,
  ``sql_database(backend="connectorx")`` into DuckDB, with dlt's defaults (run outside
  the project's folder, so the project's ``.dlt/config.toml`` does not apply);
- ``duckdb_mysql_scanner``: DuckDB's MySQL scanner, ``create table ... as select *
  from`` the attached MySQL database, from a side environment the benchmark creates
  once from PyPI (``SCANNER_PACKAGES``) in its cache folder; the extension is loaded by
  path, nothing is downloaded at run time.

After each run the benchmark opens what the peer landed and checks it holds the
source's rows and the same ``sum(amount)`` as a decimal; a peer that landed anything
else, or failed, is reported as failed with the reason, never timed as if it had worked.

The source table is the archive's ``transactions`` copied into a database of its own
(``<prefix>s<i>_peers``) with its zero dates set to 1970-01-01: plain dlt with
connectorx panics on a zero date (the project reads them as NULL), and a peer that
cannot read the table cannot be timed. Every peer reads that same table.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .bench import BenchFailed, _base_env, _connect, run_child, wire_command
from .settings import MySQLWarehouse

SCANNER_PACKAGES = ("duckdb==1.5.5", "duckdb-extension-mysql-scanner==1.5.5")
PEER_TABLE = "transactions"
AMOUNT_COLUMN = "amount"
PEER_RUNS = 2
# Up to this many rows a round of every peer takes seconds, where the machine's noise is
# as large as the differences: one round more.
SHORT_TABLE_ROWS = 2_000_000
CACHE_ENV = "MEDALLION_BENCH_CACHE"
TIMEOUT_ENV = "MEDALLION_PEER_TIMEOUT"
PEER_TIMEOUT_SECONDS = 1800.0  # one run of one peer; dlt's SQLAlchemy backend needs ~300 s at 1M


def cache_dir() -> Path:
    """The folder the benchmark owns for what it installs (``MEDALLION_BENCH_CACHE``,
    default ``~/.cache/medallion-bench``)."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/medallion-bench").expanduser()


# --- the source table ----------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What a copy of the table must hold: its rows and the total of its amounts."""

    rows: int
    amount_sum: Decimal


def prepare_peer_source(
    server: MySQLWarehouse, from_database: str, to_database: str, table: str = PEER_TABLE
) -> Truth:
    """Copy ``from_database.table`` into ``to_database`` (re-created), its zero or
    impossible dates set to 1970-01-01, and return what every peer must land, as MySQL
    counts and sums it."""
    conn = _connect(server)
    try:
        with conn.cursor() as cursor:
            # session only: the zero dates are read and compared, never written
            cursor.execute("set session sql_mode = ''")
            cursor.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (from_database, table),
            )
            columns = cursor.fetchall()
            if not columns:
                raise BenchFailed(f"no table {from_database}.{table} to benchmark the peers on")
            selected = []
            for name, data_type in columns:
                if data_type.lower() in ("date", "datetime", "timestamp"):
                    selected.append(
                        f"case when date_add(`{name}`, interval 0 day) is null "
                        f"then '1970-01-01' else `{name}` end"
                    )
                else:
                    selected.append(f"`{name}`")
            cursor.execute(f"drop database if exists `{to_database}`")
            cursor.execute(f"create database `{to_database}`")
            cursor.execute(
                f"create table `{to_database}`.`{table}` like `{from_database}`.`{table}`"
            )
            cursor.execute(
                f"insert into `{to_database}`.`{table}` select {', '.join(selected)} "
                f"from `{from_database}`.`{table}`"
            )
        return source_truth(server, to_database, table)
    finally:
        conn.close()


def source_truth(server: MySQLWarehouse, database: str, table: str = PEER_TABLE) -> Truth:
    conn = _connect(server, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"select count(*), sum(`{AMOUNT_COLUMN}`) from `{table}`")
            rows, total = cursor.fetchone()
        return Truth(rows=int(rows), amount_sum=Decimal(total or 0))
    finally:
        conn.close()


def check_landed(warehouse: Path, schema: str, table: str, truth: Truth) -> str | None:
    """None when ``schema.table`` in the DuckDB file holds the source's rows, with its
    amounts still decimals summing to the source's total; else what is wrong."""
    import duckdb

    if not warehouse.exists():
        return f"landed nothing ({warehouse} does not exist)"
    try:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            rows, total, kind = conn.execute(
                f'select count(*), sum("{AMOUNT_COLUMN}"), any_value(typeof("{AMOUNT_COLUMN}")) '
                f'from "{schema}"."{table}"'
            ).fetchone()
    except duckdb.Error as exc:
        return f"landed no readable {schema}.{table}: {str(exc).splitlines()[0]}"
    problems = []
    if rows != truth.rows:
        problems.append(f"{rows:,} rows where the source has {truth.rows:,}")
    if kind is not None and not str(kind).upper().startswith("DECIMAL"):
        problems.append(f"{AMOUNT_COLUMN} landed as {kind}, not a decimal")
    if total is None or Decimal(str(total)) != truth.amount_sum:
        problems.append(f"sum({AMOUNT_COLUMN}) {total} where the source's is {truth.amount_sum}")
    return "; ".join(problems) or None


# --- the peers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerSource:
    """The table every peer copies, and how to reach it."""

    server: MySQLWarehouse
    database: str
    table: str = PEER_TABLE

    def url(self, charset: bool = True) -> str:
        """A SQLAlchemy URL of the database: as the demo writes it for the project
        (``charset=utf8mb4``), or as a user would write it (``charset=False``)."""
        from sqlalchemy.engine import URL

        return URL.create(
            "mysql+pymysql",
            username=self.server.user,
            password=self.server.password or None,
            host=self.server.host,
            port=self.server.port,
            database=self.database,
            query={"charset": "utf8mb4"} if charset else {},
        ).render_as_string(hide_password=False)

    def mysql_env(self, env: dict[str, str]) -> dict[str, str]:
        env = dict(env)
        if self.server.password:
            env["MYSQL_PWD"] = self.server.password  # never on a command line
        return env


@dataclass(frozen=True)
class Peer:
    """One tool: how to run it into ``folder`` and where it lands (None: the wire, which
    lands nothing)."""

    name: str
    label: str
    command: Callable[[PeerSource, Path], list[str]]
    env: Callable[[PeerSource, Path, dict[str, str]], dict[str, str]]
    landing: Callable[[Path], tuple[Path, str]] | None
    prepare: Callable[[], None] | None = None


def _wire_command(source: PeerSource, folder: Path) -> list[str]:
    return wire_command(source.server, source.database, source.table)


def _project_command(source: PeerSource, folder: Path) -> list[str]:
    return [sys.executable, "-m", "medallion.cli", "ingest", "--only", "archive"]


def _project_env(source: PeerSource, folder: Path, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    env.update(
        {
            "MEDALLION_DUCKDB_PATH": str(folder / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(folder / "dbt_target"),
            "DBT_LOG_PATH": str(folder / "dbt_logs"),
            "SOURCES__ARCHIVE__CREDENTIALS": source.url(),
            # required to be set, not read by --only archive
            "SOURCES__LIVE__CREDENTIALS": source.url(),
            "SOURCES__FILES__BUCKET_URL": str(folder / "landing"),
        }
    )
    return env


# The few lines a user would write with dlt alone; they run in their own folder, so
# dlt reads no project configuration and keeps its defaults.
DLT_SCRIPT = """\
import os, sys
folder, table = sys.argv[1:3]
url = os.environ["PEER_SOURCE_URL"]
os.chdir(folder)
import dlt
from dlt.sources.sql_database import sql_database

source = sql_database(url, table_names=[table], backend="connectorx")
pipeline = dlt.pipeline(
    "peer_dlt", destination=dlt.destinations.duckdb(os.path.join(folder, "dlt.duckdb")),
    dataset_name="peer", pipelines_dir=os.path.join(folder, ".dlt"),
)
pipeline.run(source).raise_on_failed_jobs()
"""


def _dlt_command(source: PeerSource, folder: Path) -> list[str]:
    return [sys.executable, "-c", DLT_SCRIPT, str(folder), source.table]


def _dlt_env(source: PeerSource, folder: Path, base: dict[str, str]) -> dict[str, str]:
    return {**base, "PEER_SOURCE_URL": source.url(charset=False)}  # not on a command line


# DuckDB's MySQL scanner in the side environment; the extension is loaded from the
# wheel's file, with DuckDB's automatic installs and loads off.
SCANNER_SCRIPT = """\
import glob, importlib.util, os, sys
import duckdb
out, host, port, user, database, table = sys.argv[1:7]
spec = importlib.util.find_spec("duckdb_extension_mysql_scanner")
root = spec.submodule_search_locations[0]
(extension,) = glob.glob(os.path.join(root, "extensions", "*", "mysql_scanner.duckdb_extension"))
conn = duckdb.connect(out)
conn.execute("set autoinstall_known_extensions = false")
conn.execute("set autoload_known_extensions = false")
conn.execute(f"load '{extension}'")
# the password stays in MYSQL_PWD, which the extension reads: its connection errors
# repeat the whole connection string
dsn = f"host={host} port={port} user={user} database={database}"
conn.execute(f"attach '{dsn}' as src (type mysql, read_only)")
conn.execute(f'create table "{table}" as select * from src."{table}"')
conn.close()
"""


def scanner_python() -> Path:
    return cache_dir() / "duckdb-mysql-scanner" / "bin" / "python"


def ensure_scanner_env() -> Path:
    """The side environment with DuckDB and its MySQL scanner (``SCANNER_PACKAGES``),
    created once under ``cache_dir()`` from PyPI; its Python. Not timed."""
    python = scanner_python()
    venv = python.parent.parent
    marker = venv / "medallion-packages.txt"
    wanted = "\n".join(SCANNER_PACKAGES) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + list(SCANNER_PACKAGES),
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise BenchFailed(
                f"could not create the DuckDB scanner's environment in {venv} "
                f"({' '.join(SCANNER_PACKAGES)} from PyPI): {tail}"
            )
    marker.write_text(wanted)
    return python


def _scanner_command(source: PeerSource, folder: Path) -> list[str]:
    server = source.server
    return [
        str(scanner_python()),
        "-c",
        SCANNER_SCRIPT,
        str(folder / "peer.duckdb"),
        server.host,
        str(server.port),
        server.user,
        source.database,
        source.table,
    ]


PROJECT_PACKAGES = ("medallion", "ingestion")


def _project_prepare() -> None:
    """The project's own modules byte-compiled, as pip compiles every package it
    installs (dlt's among them): the project is an editable install, which Python
    compiles on import only where it may write, and never under
    ``PYTHONDONTWRITEBYTECODE`` (0.06 s of an ingest)."""
    import compileall

    from .settings import PROJECT_DIR

    for package in PROJECT_PACKAGES:
        compileall.compile_dir(str(PROJECT_DIR / package), quiet=1)


def _scanner_prepare() -> None:
    ensure_scanner_env()


PEERS: tuple[Peer, ...] = (
    Peer(
        "wire",
        "wire: mysql --quick --batch > /dev/null",
        _wire_command,
        lambda source, folder, base: source.mysql_env(base),
        None,
    ),
    Peer(
        "project",
        "medallion ingest --only archive",
        _project_command,
        _project_env,
        lambda folder: (folder / "warehouse.duckdb", "raw_archive"),
        _project_prepare,
    ),
    Peer(
        "dlt_connectorx",
        "plain dlt, connectorx backend",
        _dlt_command,
        _dlt_env,
        lambda folder: (folder / "dlt.duckdb", "peer"),
    ),
    Peer(
        "duckdb_mysql_scanner",
        "DuckDB's MySQL scanner 1.5.5",
        _scanner_command,
        lambda source, folder, base: source.mysql_env(base),
        lambda folder: (folder / "peer.duckdb", "main"),
        _scanner_prepare,
    ),
)


def command_peer(spec: str) -> Peer:
    """A peer given on the command line as ``NAME=COMMAND`` (``medallion bench --peer``):
    a tool installed apart from the project (ingestr, Sling: binaries from outside the
    package registries), run without a shell. The command names the source and the file
    with placeholders: ``{host}``, ``{port}``, ``{user}``, ``{database}``, ``{table}``,
    ``{mysql_url}`` (``mysql://user@host:port/database``; the password, if any, is in
    ``MYSQL_PWD``, never on the command line) and ``{duckdb}`` (the DuckDB file to create);
    the tool must land the table as ``main.<table>`` in that file."""
    import shlex

    name, sep, template = spec.partition("=")
    name = name.strip()
    if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not template.strip():
        raise BenchFailed(
            f"--peer takes NAME=COMMAND (a lowercase name, then the command), got {spec!r}"
        )
    if name in {peer.name for peer in PEERS}:
        raise BenchFailed(f"--peer {name}: a built-in peer has that name")
    try:
        words = shlex.split(template)
    except ValueError as exc:  # an unclosed quote
        raise BenchFailed(f"--peer {name}: cannot split {template!r} into words: {exc}") from None

    def command(source: PeerSource, folder: Path) -> list[str]:
        server = source.server
        values = {
            "host": server.host,
            "port": str(server.port),
            "user": server.user,
            "database": source.database,
            "table": source.table,
            "mysql_url": f"mysql://{server.user}@{server.host}:{server.port}/{source.database}",
            "duckdb": str(folder / "peer.duckdb"),
        }
        try:
            return [word.format(**values) for word in words]
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise BenchFailed(
                f"--peer {name}: unknown placeholder in {template!r}: {exc}"
            ) from None

    command(PeerSource(MySQLWarehouse("h", 1, "u", ""), "d"), Path("f"))  # placeholders
    return Peer(
        name,
        template,
        command,
        lambda source, folder, base: source.mysql_env(base),
        lambda folder: (folder / "peer.duckdb", "main"),
    )


# --- the measurement ---------------------------------------------------------------------


@dataclass
class _Tally:
    peer: Peer
    runs_seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    max_rss_bytes: int = 0
    error: str | None = None


def _peer_env_base() -> dict[str, str]:
    env = _base_env()
    # nothing of the caller's dlt settings reaches a peer
    for key in list(env):
        if key.startswith(("DESTINATION__", "NORMALIZE__", "DATA_WRITER__", "LOAD__", "EXTRACT__")):
            env.pop(key)
    return env


def peer_timeout() -> float:
    """The seconds one run of one peer may take (``MEDALLION_PEER_TIMEOUT``, default
    1800): a peer still running then is stopped with what it started and failed, and
    the other peers go on."""
    from .settings import ConfigError

    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return PEER_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds above 0, got {text!r}")
    return seconds


def _failure_reason(log: Path) -> str:
    """The last line of a log that names an error (an exception's own line), else its
    last line."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    named = [line for line in lines if re.search(r"(Error|Exception|Failed|panicked)\b", line)]
    reason = (named or lines or ["no output"])[-1]
    return reason if len(reason) <= 300 else reason[:297] + "..."


def _run_once(
    tally: _Tally,
    source: PeerSource,
    folder: Path,
    log_dir: Path,
    truth: Truth,
    run: int,
    timeout: float,
) -> None:
    import shutil

    peer = tally.peer
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = f"peer-{peer.name}-{run}"
    env = peer.env(source, folder, _peer_env_base())
    child = run_child(
        name,
        peer.command(source, folder),
        env,
        log_dir,
        may_fail=True,
        discard_stdout=peer.landing is None,
        timeout=timeout,
    )
    if child.timed_out:
        tally.error = (
            f"timed out after {timeout:g} s ({TIMEOUT_ENV}; stopped with what it started; "
            f"log: {log_dir / f'{name}.log'})"
        )
        return
    if child.returncode != 0:
        reason = _failure_reason(log_dir / f"{name}.log")
        tally.error = f"exited {child.returncode} (log: {log_dir / f'{name}.log'}): {reason}"
        return
    if peer.landing is not None:
        warehouse, schema = peer.landing(folder)
        wrong = check_landed(warehouse, schema, source.table, truth)
        if wrong:
            tally.error = f"landed wrong data: {wrong}"
            return
    tally.runs_seconds.append(child.seconds)
    tally.cpu_seconds.append(child.cpu_seconds)
    tally.max_rss_bytes = max(tally.max_rss_bytes, child.max_rss_bytes)
    shutil.rmtree(folder, ignore_errors=True)


def measure_peers(
    source: PeerSource,
    truth: Truth,
    work: Path,
    log_dir: Path,
    peers: tuple[Peer, ...] = PEERS,
    runs: int = PEER_RUNS,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Time every peer ``runs`` times, alternating, on ``source``; check each landing
    against ``truth``; a run longer than ``timeout`` seconds (default ``peer_timeout()``)
    fails its peer. Returns the JSON of ``sizes[].peers`` (bench/README.md)."""
    progress = progress or (lambda message: None)
    timeout = peer_timeout() if timeout is None else timeout
    tallies = [_Tally(peer) for peer in peers]
    for tally in tallies:
        if tally.peer.prepare is not None:
            try:
                tally.peer.prepare()
            except BenchFailed as exc:
                tally.error = str(exc)
    for run in range(runs):
        for tally in tallies:
            if tally.error is None:
                progress(f"peer {tally.peer.name}, round {run + 1} of {runs}")
                _run_once(tally, source, work / tally.peer.name, log_dir, truth, run, timeout)
    by_name = {tally.peer.name: tally for tally in tallies}
    best = {
        name: min(tally.runs_seconds)
        for name, tally in by_name.items()
        if tally.error is None and tally.runs_seconds
    }
    wire, project = best.get("wire"), best.get("project")
    rows = []
    for tally in tallies:
        seconds = best.get(tally.peer.name)
        rows.append(
            {
                "name": tally.peer.name,
                "label": tally.peer.label,
                "ok": seconds is not None,
                "error": tally.error,
                "seconds": seconds,
                "runs_seconds": tally.runs_seconds,
                "cpu_seconds": min(tally.cpu_seconds) if tally.cpu_seconds else None,
                "max_rss_bytes": tally.max_rss_bytes or None,
                "rows_per_second": truth.rows / seconds if seconds else None,
                "share_of_wire": wire / seconds if seconds and wire else None,
                "speed_vs_project": project / seconds if seconds and project else None,
                "checked": tally.peer.landing is not None,
            }
        )
    return {
        "database": source.database,
        "table": source.table,
        "rows": truth.rows,
        "amount_sum": str(truth.amount_sum),
        "runs": runs,
        "peers": rows,
        "failed": [row["name"] for row in rows if not row["ok"]],
    }


# --- reporting -----------------------------------------------------------------------------


PEER_HEADER = ("tool", "seconds", "rows/s", "share of wire", "speed vs project", "same data")


def peer_table(peers: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per peer, fastest first; a failed peer last, with why."""
    rows = sorted(peers["peers"], key=lambda row: (not row["ok"], row["seconds"] or 0))
    table = []
    for row in rows:
        if not row["ok"]:
            table.append((row["label"], "FAILED", "", "", "", row["error"] or ""))
            continue
        table.append(
            (
                row["label"],
                f"{row['seconds']:.2f}",
                f"{row['rows_per_second']:,.0f}",
                f"{row['share_of_wire']:.1%}" if row["share_of_wire"] else "",
                f"{row['speed_vs_project']:.2f}x" if row["speed_vs_project"] else "",
                "yes" if row["checked"] else "(lands nothing)",
            )
        )
    return table


def peers_markdown(results: dict[str, Any]) -> str:
    parts = []
    for size in results.get("sizes", []):
        peers = size.get("peers")
        if not peers:
            continue
        parts.append(
            f"Peers at {peers['rows']:,} rows ({peers['database']}.{peers['table']}, "
            f"best of {peers['runs']}, alternating):\n"
        )
        parts.append("| " + " | ".join(PEER_HEADER) + " |")
        parts.append("| --- |" + " ---: |" * 4 + " --- |")
        parts += ["| " + " | ".join(row) + " |" for row in peer_table(peers)]
        parts.append("")
    return "\n".join(parts)


def print_peers(results: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    for size in results.get("sizes", []):
        peers = size.get("peers")
        if not peers:
            continue
        table = Table(
            title=f"Peers at {peers['rows']:,} rows (best of {peers['runs']}, alternating)"
        )
        for i, name in enumerate(PEER_HEADER):
            table.add_column(name, justify="left" if i in (0, 5) else "right")
        for row in peer_table(peers):
            style = "bold red" if row[1] == "FAILED" else None
            table.add_row(*row, style=style)
        console.print(table)


def failed_peers(results: dict[str, Any]) -> list[str]:
    """``peer: why`` for every peer of every size that failed or landed wrong data."""
    return [
        f"{row['name']} at {size['peers']['rows']:,} rows: {row['error']}"
        for size in results.get("sizes", [])
        if size.get("peers")
        for row in size["peers"]["peers"]
        if not row["ok"]
    ]


def peer_runs(rows: int) -> int:
    """How many rounds of every peer: the best of three on a table of up to
    ``SHORT_TABLE_ROWS`` rows, of ``PEER_RUNS`` on a larger one."""
    return PEER_RUNS + 1 if rows <= SHORT_TABLE_ROWS else PEER_RUNS


def measure_at_size(
    server: MySQLWarehouse,
    archive_database: str,
    peers_database: str,
    work: Path,
    log_dir: Path,
    progress: Callable[[str], None] | None = None,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The peers of one size of the benchmark: the peers' table written from the
    archive's, then every peer timed on it (``measure_peers``): the built-in ``PEERS``
    and those given as ``NAME=COMMAND`` in ``extra`` (``command_peer``)."""
    progress = progress or (lambda message: None)
    peers = PEERS + tuple(command_peer(spec) for spec in extra)
    progress(f"the peers' table {peers_database}.{PEER_TABLE}")
    started = time.perf_counter()
    truth = prepare_peer_source(server, archive_database, peers_database)
    prepared = time.perf_counter() - started
    result = measure_peers(
        PeerSource(server, peers_database),
        truth,
        work,
        log_dir,
        peers,
        progress=progress,
        runs=peer_runs(truth.rows),
    )
    result["prepare_seconds"] = prepared
    return result


# --- the peers alone (`medallion bench --peers-only`) ----------------------------------


def peers_only_out() -> Path:
    """Where a run of the peers alone is written by default: ``bench/results/peers/``,
    beside the full runs' files and out of their history table."""
    from datetime import UTC, datetime

    from .settings import PROJECT_DIR

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return PROJECT_DIR / "bench" / "results" / "peers" / f"{stamp}.json"


def run_peers_only(
    rows: list[int],
    seed: int,
    extra: tuple[str, ...] = (),
    db_prefix: str | None = None,
    keep: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The peers alone at each size: the demo's archive written into MySQL, the peers'
    table, the peers; no build, no re-run. The quick loop while making the ingest
    faster; its JSON holds ``sizes[].peers`` as a full run does."""
    import shutil
    import tempfile
    import uuid
    from datetime import UTC, datetime

    from .bench import COPY_TABLE, LINES_PER_SCALE, _scalar, drop_databases, machine_facts
    from .demo import generate_demo

    progress = progress or (lambda message: None)
    server = MySQLWarehouse.from_environment()
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    prefix = db_prefix or f"bench{stamp}_{uuid.uuid4().hex[:6]}_"
    work = Path(tempfile.mkdtemp(prefix="medallion-bench-peers-"))
    results: dict[str, Any] = {
        "schema_version": 1,
        "kind": "peers",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {"rows": rows, "seed": seed, "database_prefix": prefix, "kept": keep},
        "machine": machine_facts(server),
        "sizes": [],
    }
    try:
        for index, size in enumerate(sorted(rows)):
            db_prefix_i = f"{prefix}s{index}_"
            progress(f"writing the demo sources at {size:,} rows into MySQL")
            started = time.perf_counter()
            generate_demo(
                work / f"demo{index}",
                seed=seed,
                scale=size / LINES_PER_SCALE,
                mysql_url=server.url(),
                database_prefix=db_prefix_i,
            )
            generated = time.perf_counter() - started
            archive = f"{db_prefix_i}archive"
            peers = measure_at_size(
                server,
                archive,
                f"{db_prefix_i}peers",
                work / f"peers{index}",
                work / "logs",
                progress,
                extra,
            )
            results["sizes"].append(
                {
                    "requested_rows": size,
                    "archive_transaction_rows": _scalar(
                        server, archive, f"select count(*) from `{COPY_TABLE}`"
                    ),
                    "generate_seconds": generated,
                    "peers": peers,
                }
            )
    finally:
        if not keep:
            progress(f"dropping the databases {prefix}*")
            results["dropped_databases"] = drop_databases(server, prefix)
            shutil.rmtree(work, ignore_errors=True)
        else:
            results["settings"]["work_dir"] = str(work)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_end"] = list(os.getloadavg())
    return results

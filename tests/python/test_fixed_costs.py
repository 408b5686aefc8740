"""What an ingest saves on fixed costs keeps its promises (docs/performance.md):

- the console script ends with ``cli.exit_now``: the exit code ``main`` returned, the
  exit handlers run and both streams flushed, without Python's module-by-module
  teardown; and the interpreter's own exit while another thread still runs;
- a state-only resource is extracted with the table before it (one load package less);
- the copy's modules are imported while the archive's fingerprints are taken, and only
  while wanted; a broken one is skipped;
- a failed ingest is told without waiting for the fingerprints, and a copy beside
  failing fingerprints tells their failure;
- dlt's destination configuration is resolved once, its loader does not sleep between
  packages, and each pipeline opens the warehouse once; a warehouse that cannot be
  closed after a good run is told, and never masks the pipeline's own failure.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pymysql
import pytest
from pipeline_helpers import MYSQL, PROJECT_DIR, pipeline_env, query

from ingestion import pipelines, sql_sources
from ingestion.pipelines import _extract_batches
from ingestion.sql_sources import FINGERPRINT_RESOURCE as FINGERPRINTS
from ingestion.sql_sources import KEY_CHECK_RESOURCE as KEY
from medallion.demo import generate_demo
from medallion.settings import SourceSettings


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_exit_code_the_exit_handlers_and_unflushed_output_all_survive():
    done = _python(
        """
        import atexit, sys
        from medallion.cli import exit_now
        class Teardown:  # freed by Python's own exit, never by exit_now's
            def __del__(self):
                print("torn down", flush=True)
        kept = Teardown()
        atexit.register(lambda: print("handler ran", flush=False))
        sys.stdout.write("no newline, not flushed")
        sys.stderr.write("on stderr, not flushed")
        exit_now(3)
        print("never")
        """
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, not flushedhandler ran\n"  # and not torn down
    assert done.stderr == "on stderr, not flushed"


def test_a_daemon_thread_is_cut_off_as_pythons_own_exit_would():
    done = _python(
        """
        import threading, time
        from medallion.cli import exit_now
        def forever():
            time.sleep(60)
            print("never", flush=True)
        threading.Thread(target=forever, daemon=True).start()
        print("main done", flush=True)
        exit_now(5)
        """
    )
    assert done.returncode == 5
    assert done.stdout == "main done\n"


def test_a_thread_still_running_is_waited_for_by_pythons_own_exit():
    started = time.perf_counter()
    done = _python(
        """
        import threading, time
        from medallion.cli import exit_now
        def late():
            time.sleep(1.0)
            print("the thread finished", flush=True)
        threading.Thread(target=late).start()
        exit_now(4)
        """
    )
    assert done.returncode == 4
    assert done.stdout == "the thread finished\n"
    assert time.perf_counter() - started >= 1.0


class _Resource:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def test_a_state_only_resource_is_extracted_with_the_table_before_it():
    names = [KEY, "customers", FINGERPRINTS, "orders", "_medallion_deletions", KEY, "_x"]
    batches = _extract_batches([_Resource(name) for name in names])
    assert [[r.name for r in batch] for batch in batches] == [
        [KEY],  # nothing before it
        ["customers", FINGERPRINTS],
        ["orders"],
        ["_medallion_deletions", KEY],  # rows of their own: a table
        ["_x"],  # a source table named like dlt's
    ]


def test_a_run_ends_with_no_thread_but_its_own_and_no_write_ahead_log(tmp_path):
    """``medallion run`` on a small demo, as ``entry`` runs it: when ``main`` returns only
    the main thread and daemons are left (else ``exit_now`` falls back to Python's
    exit), and after
    ``exit_now`` the warehouse holds everything in its file (dbt-duckdb's connection
    closed first)."""
    demo = tmp_path / "demo"
    generate_demo(demo, seed=7, scale=0.05)
    env = pipeline_env(
        tmp_path,
        f"sqlite:///{demo / 'archive.sqlite'}",
        f"sqlite:///{demo / 'live.sqlite'}",
        demo / "landing",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import threading\n"
            "from medallion import cli\n"
            "code = cli.main(['run'])\n"
            "others = [t.name for t in threading.enumerate() if not t.daemon]\n"
            "print('threads after main, daemons aside:', others)\n"
            "cli.exit_now(code)\n",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "threads after main, daemons aside: ['MainThread']" in done.stdout
    warehouse = Path(env["MEDALLION_DUCKDB_PATH"])
    assert not Path(f"{warehouse}.wal").exists()
    assert query(warehouse, "select count(*) from marts.fct_transactions")[0][0] > 0


def test_the_copys_modules_are_imported_while_wanted_and_no_longer():
    done = _python(
        """
        import json, sys
        from ingestion.sql_sources import READER_MODULES, import_reader
        modules = READER_MODULES["connectorx"]
        before = [m for m in modules if m in sys.modules]
        none = import_reader("connectorx", lambda: False)
        calls = []
        def twice():
            calls.append(1)
            return len(calls) <= 2
        some = import_reader("connectorx", twice)
        rest = import_reader("connectorx", lambda: True)
        print(json.dumps([before, none, some, rest, [m for m in modules if m in sys.modules]]))
        """
    )
    assert done.returncode == 0, done.stderr
    before, none, some, rest, after = json.loads(done.stdout)
    assert before == [] and none == []
    assert some == ["pyarrow", "pyarrow.parquet"]
    assert rest == ["connectorx", "pandas"]
    assert after == ["pyarrow", "pyarrow.parquet", "connectorx", "pandas"]


@pytest.fixture
def archive_db(tmp_path, monkeypatch):
    """A real MariaDB archive of one InnoDB table, ``items`` (500 rows: an id and a
    label), and the project's environment pointed at it; dropped after the test."""
    db = type("ArchiveDb", (), {})()
    db.name = f"t{uuid.uuid4().hex[:10]}_archive"
    db.server = pymysql.connect(**MYSQL, autocommit=True)
    url = f"mysql+pymysql://root:@127.0.0.1:3306/{db.name}?charset=utf8mb4"
    try:
        with db.server.cursor() as cursor:
            cursor.execute(f"create database `{db.name}`")
            cursor.execute(
                f"create table `{db.name}`.items (id int primary key, label varchar(20))"
                " engine=InnoDB"
            )
            cursor.execute(
                f"insert into `{db.name}`.items select seq, concat('item ', seq)"
                f" from `{db.name}`.seq_1_to_500"
            )
        for key, value in {
            "MEDALLION_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
            "SOURCES__ARCHIVE__CREDENTIALS": url,
            "SOURCES__LIVE__CREDENTIALS": url,
            "SOURCES__FILES__BUCKET_URL": str(tmp_path / "landing"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }.items():
            monkeypatch.setenv(key, value)
        db.settings = SourceSettings(url, url, str(tmp_path / "landing"))
        yield db
    finally:
        try:
            with db.server.cursor() as cursor:
                cursor.execute(f"drop database if exists `{db.name}`")
        finally:
            db.server.close()


@pytest.mark.mysql
def test_a_first_copy_reads_beside_slow_fingerprints_and_the_next_run_sees_a_change(
    archive_db, monkeypatch, request
):
    """In this process, on a real MariaDB archive whose fingerprints are slow (each
    waits until the copy is under way): the first copy starts once their snapshot is open;
    a change committed while they are taken, after the snapshot, is not in them, so the
    next run copies the table again; the run after that finds nothing to copy."""
    name, settings = archive_db.name, archive_db.settings
    # the fingerprints' thread commits through a connection of its own
    server = pymysql.connect(**MYSQL, autocommit=True)
    request.addfinalizer(server.close)
    real = sql_sources._fingerprint_on
    resources = sql_sources.archive_resources
    planned = threading.Event()  # the copy's resources are made: it is under way
    changed: list[str] = []

    def slow(conn, table):
        # not before the copy is under way (a copy that waited for the fingerprints
        # never would be: the wait's timeout, then the assertion below, fail it)
        planned.wait(timeout=60)
        if not changed:  # the snapshot is open: this commit comes after it
            with server.cursor() as cursor:
                cursor.execute(f"update `{name}`.items set label = 'changed' where id = 7")
            changed.append(table)
        return real(conn, table)

    def planning(*args, **kwargs):
        planned.set()
        return resources(*args, **kwargs)

    monkeypatch.setattr(sql_sources, "_fingerprint_on", slow)
    monkeypatch.setattr(sql_sources, "archive_resources", planning)
    said: list[str] = []
    first = pipelines.ingest(settings, only=["archive"], progress=said.append)
    assert any("beside their fingerprints" in line for line in said), said
    assert changed == ["items"]
    assert [(r.table, r.loaded) for r in first] == [("items", 500)]

    monkeypatch.setattr(sql_sources, "_fingerprint_on", real)
    monkeypatch.setattr(sql_sources, "archive_resources", resources)
    second = pipelines.ingest(settings, only=["archive"])
    assert [(r.table, r.loaded, r.note) for r in second] == [("items", 500, "")]
    warehouse = Path(os.environ["MEDALLION_DUCKDB_PATH"])
    assert query(warehouse, "select label from raw_archive.items where id = 7") == [("changed",)]
    third = pipelines.ingest(settings, only=["archive"])
    assert [(r.table, r.loaded, r.note) for r in third] == [("items", 0, "unchanged")]


def test_the_destination_is_resolved_once_with_the_projects_settings(tmp_path):
    """``pipelines.destination`` resolves DuckDB's configuration when the pipeline is
    made (the warehouse path, ``.dlt/config.toml``'s ``global_config``) and passes it
    explicitly, so dlt's later resolutions read no provider again; a destination whose
    credentials cannot be resolved is left as it is, for dlt to say what is missing."""
    warehouse = tmp_path / "w.duckdb"
    done = _python(
        f"""
        import json, os
        os.environ["MEDALLION_DUCKDB_PATH"] = {str(warehouse)!r}
        import dlt
        from ingestion.pipelines import destination, resolved_once
        resolved = destination()
        plain = dlt.destinations.duckdb({str(warehouse)!r})
        def settings(factory):
            credentials = factory.configuration(factory.spec(), accept_partial=True).credentials
            return [credentials.database, credentials.global_config]
        before = [settings(resolved), settings(plain)]
        os.environ["DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"] = '{{"threads": 1}}'
        after = [settings(resolved), settings(plain)]
        missing = dlt.destinations.postgres()
        # a setting for one pipeline only, as dlt reads it within that pipeline
        os.environ["MEDALLION_ARCHIVE__DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG"] = (
            '{{"threads": 2}}'
        )
        scoped = [settings(destination("duckdb", f"medallion_{{s}}")) for s in ("archive", "live")]
        print(json.dumps([before, after, resolved_once(missing) is missing, scoped]))
        """
    )
    assert done.returncode == 0, done.stderr
    before, after, left_as_is, scoped = json.loads(done.stdout)
    assert scoped == [[str(warehouse), {"threads": 2}], [str(warehouse), {"threads": 1}]]
    toml = {"memory_limit": "512MB", "preserve_insertion_order": False}
    assert before == [[str(warehouse), toml], [str(warehouse), toml]]
    # the plain factory reads the environment again; the resolved one does not
    assert after == [[str(warehouse), toml], [str(warehouse), {"threads": 1}]]
    assert left_as_is


def test_load_packages_follow_one_another_without_sleeping(tmp_path):
    """Each table is extracted in a package of its own; dlt's loader takes one package
    per run and sleeps ``[load] run_sleep`` between runs (0.1 s by default, 0.8 s in a
    first ingest of the demo): the project's configuration makes it 0."""
    done = _python(
        f"""
        import importlib, json, os
        os.environ["MEDALLION_DUCKDB_PATH"] = {str(tmp_path / "w.duckdb")!r}
        import dlt
        from ingestion.pipelines import make_pipeline
        runner = importlib.import_module("dlt.common.runners.pool_runner")
        slept, sleep = [], runner.sleep
        def recorded(seconds):
            slept.append(seconds)
            sleep(seconds)
        runner.sleep = recorded
        pipeline = make_pipeline("archive")
        for name in ("a", "b", "c"):
            pipeline.extract(dlt.resource([{{"id": 1}}, {{"id": 2}}], name=name))
        info = pipeline.normalize() and pipeline.load()
        info.raise_on_failed_jobs()
        print(json.dumps([len(info.loads_ids), slept]))
        """
    )
    assert done.returncode == 0, done.stderr
    packages, slept = json.loads(done.stdout)
    assert packages == 3
    assert len(slept) == 2 and set(slept) == {0}


def test_each_pipeline_opens_the_warehouse_once_and_leaves_it_whole(tmp_path):
    """``pipelines.warehouse_held``: the three pipelines of a first ingest open the
    DuckDB warehouse once each (dlt alone opened it for each step: 5 times in a copy of
    one table), close it when done (no write-ahead log left) and load every row."""
    demo = tmp_path / "demo"
    generate_demo(demo, seed=7, scale=0.05)
    env = pipeline_env(
        tmp_path,
        f"sqlite:///{demo / 'archive.sqlite'}",
        f"sqlite:///{demo / 'live.sqlite'}",
        demo / "landing",
    )
    warehouse = Path(env["MEDALLION_DUCKDB_PATH"])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import json, os
                import duckdb
                opened, connect = [], duckdb.connect
                def counted(database=":memory:", *args, **kwargs):
                    opened.append(str(database))
                    return connect(database, *args, **kwargs)
                duckdb.connect = counted
                from ingestion import pipelines
                from medallion.settings import SourceSettings
                settings = SourceSettings(
                    os.environ["SOURCES__ARCHIVE__CREDENTIALS"],
                    os.environ["SOURCES__LIVE__CREDENTIALS"],
                    os.environ["SOURCES__FILES__BUCKET_URL"],
                )
                reports = pipelines.ingest(settings)
                loaded = {{r.table: r.loaded for r in reports if r.schema == "raw_archive"}}
                print(json.dumps([opened.count({str(warehouse)!r}), loaded]))
                """
            ),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    opened, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert opened == 3
    assert not Path(f"{warehouse}.wal").exists()
    source = sqlite3.connect(demo / "archive.sqlite")
    try:
        for table, rows in loaded.items():
            assert rows == source.execute(f'select count(*) from "{table}"').fetchone()[0], table
            assert query(warehouse, f"select count(*) from raw_archive.{table}")[0][0] == rows
    finally:
        source.close()
    assert loaded


@pytest.fixture
def slow_archive(archive_db, monkeypatch):
    """The archive of ``archive_db`` with its fingerprints held (each waits for
    ``release``, at most 60 s) before running ``fingerprint`` (default: the real one)
    on the table."""
    held = type("Held", (), {})()
    held.release, held.started, held.done = threading.Event(), threading.Event(), threading.Event()
    held.fingerprint = sql_sources._fingerprint_on
    real = sql_sources._fingerprint_on

    def waiting(conn, table):
        held.started.set()
        try:
            held.release.wait(timeout=60)
            return held.fingerprint(conn, table)
        finally:
            held.done.set()

    # the fingerprints' thread, from its connection on: the database is dropped only
    # after it ends (it may be connecting, or opening its snapshot, before ``started``)
    held.entered, held.left = threading.Event(), threading.Event()
    fingerprint_tables = sql_sources.fingerprint_tables

    def tracked(*args, **kwargs):
        held.entered.set()
        try:
            return fingerprint_tables(*args, **kwargs)
        finally:
            held.left.set()

    monkeypatch.setattr(sql_sources, "_fingerprint_on", waiting)
    monkeypatch.setattr(sql_sources, "fingerprint_tables", tracked)
    held.settings = archive_db.settings
    held.real = real
    try:
        yield held
    finally:
        held.release.set()
        if held.entered.is_set():  # a thread cancelled before it began never ends
            held.left.wait(timeout=60)


@pytest.mark.mysql
def test_a_failed_ingest_is_told_without_waiting_for_the_fingerprints(slow_archive):
    """The live source fails while the archive's fingerprints are still being taken
    (they run first, in their thread; the archive pipeline goes last): the failure is
    raised at once (``ArchiveFingerprints.close(wait=False)``), not after them."""
    settings = SourceSettings(
        slow_archive.settings.archive_url,
        "mysql+pymysql://root:@127.0.0.1:1/none",  # nothing listens on port 1
        slow_archive.settings.bucket_url,
    )
    Path(settings.bucket_url).mkdir(exist_ok=True)
    with pytest.raises(sql_sources.SourceUnavailable, match="live"):
        pipelines.ingest(settings, only=["live", "archive"])
    assert not slow_archive.done.is_set()  # still held: nobody waited for them


@pytest.mark.mysql
def test_a_copy_beside_failing_fingerprints_tells_the_fingerprints_failure(
    slow_archive, monkeypatch
):
    """A first copy reads beside its fingerprints; when the copy fails and so do the
    fingerprints, the fingerprints' failure, naming the table, is the one told."""
    planned = threading.Event()
    resources = sql_sources.archive_resources

    def planning(*args, **kwargs):
        planned.set()
        slow_archive.release.set()  # the copy is under way: the fingerprints may go on
        return resources(*args, **kwargs)

    def refused(conn, table):  # the server refuses this table's checksum
        return slow_archive.real(conn, f"{table}_gone")

    def copy_fails(*args, **kwargs):
        slow_archive.done.wait(timeout=60)  # fail after the fingerprints did
        raise RuntimeError("the copy failed too")

    slow_archive.fingerprint = refused
    monkeypatch.setattr(sql_sources, "archive_resources", planning)
    monkeypatch.setattr(pipelines, "_run_pipeline", copy_fails)
    said: list[str] = []
    with pytest.raises(sql_sources.SourceUnavailable, match="Cannot fingerprint table 'items'"):
        pipelines.ingest(slow_archive.settings, only=["archive"], progress=said.append)
    assert planned.is_set()
    assert any("beside their fingerprints" in line for line in said), said


def test_an_installed_but_broken_reader_module_is_left_for_the_copy_to_report(tmp_path):
    """``import_reader`` skips a module whose import fails (here a ``connectorx`` that
    raises ImportError, found first on the path) and goes on with the next; the copy
    that uses it, if one follows, reports the failure."""
    broken = tmp_path / "connectorx"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('a broken build')\n")
    done = _python(
        f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        from ingestion.sql_sources import import_reader
        imported = import_reader("connectorx", lambda: True)
        print(json.dumps([imported, "connectorx" in sys.modules]))
        """
    )
    assert done.returncode == 0, done.stderr
    imported, connectorx_loaded = json.loads(done.stdout)
    assert imported == ["pyarrow", "pyarrow.parquet", "pandas"]
    assert not connectorx_loaded


@pytest.fixture
def failing_close(tmp_path, monkeypatch):
    """A real DuckDB warehouse whose held connection fails when it is given back (as a
    checkpoint at the close would): the real close runs first, then the error."""
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    monkeypatch.setenv("MEDALLION_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)
    real = DuckDbSqlClient.close_connection

    closed = []

    def close_then_fail(self):
        real(self)
        closed.append(self)
        raise OSError("checkpoint: No space left on device")

    monkeypatch.setattr(DuckDbSqlClient, "close_connection", close_then_fail)
    pipeline = pipelines.make_pipeline("files")
    pipeline.closed = closed  # the held connections given back (and failed)
    return pipeline


def test_a_warehouse_that_cannot_be_closed_after_a_good_run_is_told(failing_close):
    """The pipeline's work succeeded but its warehouse cannot be closed: the run is not
    reported as done; the error is told in one line as the sync step's, naming the
    warehouse and the cause."""
    ran = []
    held = pipelines.warehouse_held(failing_close, "files", "duckdb")
    with pytest.raises(pipelines.IngestFailed) as failed, held:
        ran.append(True)
    assert ran == [True]
    message = str(failed.value)
    assert message.startswith("The files pipeline failed at its sync step (the warehouse:")
    assert "warehouse.duckdb" in message
    assert "No space left on device" in message


def test_a_close_error_never_masks_the_pipelines_own_failure(failing_close):
    """The pipeline fails, then so does the close: the pipeline's failure is the one
    raised, not the close's."""
    held = pipelines.warehouse_held(failing_close, "files", "duckdb")
    with pytest.raises(RuntimeError, match="the extract broke"), held:
        raise RuntimeError("the extract broke")
    assert len(failing_close.closed) == 1  # the close ran, and failed

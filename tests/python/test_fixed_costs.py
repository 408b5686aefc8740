"""What an ingest saves on fixed costs keeps its promises (docs/performance.md):

- the console script ends with ``cli.exit_now``: the exit code ``main`` returned, the
  exit handlers run and both streams flushed, without Python's module-by-module
  teardown; and the interpreter's own exit while another thread still runs;
- a state-only resource is extracted with the table before it (one load package less);
- the copy's modules are imported while the archive's fingerprints are taken, and only
  while wanted.
"""

from __future__ import annotations

import json
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


@pytest.mark.mysql
def test_a_first_copy_reads_beside_slow_fingerprints_and_the_next_run_sees_a_change(
    tmp_path, monkeypatch
):
    """In this process, on a real MariaDB archive whose fingerprints are slow (each
    waits until the copy is under way): the first copy starts once their snapshot is open;
    a change committed while they are taken, after the snapshot, is not in them, so the
    next run copies the table again; the run after that finds nothing to copy."""
    name = f"t{uuid.uuid4().hex[:10]}_beside"
    server = pymysql.connect(**MYSQL, autocommit=True)
    url = f"mysql+pymysql://root:@127.0.0.1:3306/{name}?charset=utf8mb4"
    try:
        with server.cursor() as cursor:
            cursor.execute(f"create database `{name}`")
            cursor.execute(
                f"create table `{name}`.items (id int primary key, label varchar(20)) engine=InnoDB"
            )
            cursor.execute(
                f"insert into `{name}`.items select seq, concat('item ', seq)"
                f" from `{name}`.seq_1_to_500"
            )
        for key, value in {
            "MEDALLION_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
            "SOURCES__ARCHIVE__CREDENTIALS": url,
            "SOURCES__LIVE__CREDENTIALS": url,
            "SOURCES__FILES__BUCKET_URL": str(tmp_path / "landing"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }.items():
            monkeypatch.setenv(key, value)
        settings = SourceSettings(url, url, str(tmp_path / "landing"))
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
        warehouse = tmp_path / "warehouse.duckdb"
        assert query(warehouse, "select label from raw_archive.items where id = 7") == [
            ("changed",)
        ]
        third = pipelines.ingest(settings, only=["archive"])
        assert [(r.table, r.loaded, r.note) for r in third] == [("items", 0, "unchanged")]
    finally:
        with server.cursor() as cursor:
            cursor.execute(f"drop database if exists `{name}`")
        server.close()

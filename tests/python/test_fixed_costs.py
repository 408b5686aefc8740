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
import time
from pathlib import Path

from pipeline_helpers import PROJECT_DIR, pipeline_env, query

from ingestion.pipelines import _extract_batches
from ingestion.sql_sources import FINGERPRINT_RESOURCE as FINGERPRINTS
from ingestion.sql_sources import KEY_CHECK_RESOURCE as KEY
from medallion.demo import generate_demo


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

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

from pipeline_helpers import PROJECT_DIR

from ingestion.pipelines import _extract_batches


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
        atexit.register(lambda: print("handler ran", flush=False))
        sys.stdout.write("no newline, not flushed")
        sys.stderr.write("on stderr, not flushed")
        exit_now(3)
        print("never")
        """
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, not flushedhandler ran\n"
    assert done.stderr == "on stderr, not flushed"


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
    names = ["_state_first", "customers", "_fingerprints", "orders", "_a", "_b"]
    batches = _extract_batches([_Resource(name) for name in names])
    assert [[r.name for r in batch] for batch in batches] == [
        ["_state_first"],
        ["customers", "_fingerprints"],
        ["orders", "_a", "_b"],
    ]


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

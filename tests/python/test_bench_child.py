"""``bench.run_child``, through which the benchmark times every stage and peer: the
seconds, the CPU and the peak memory are the command's own, its exit code or signal is
kept, and a command that cannot be started is told by name.

The peak memory is the one figure Linux gets wrong by default: a child's ``ru_maxrss``
keeps the resident size of the process it was forked from, so a command started by the
benchmark (hundreds of MiB after it wrote the sources) reported at least that much."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from pipeline_helpers import stops_running

from medallion.bench import BenchFailed, run_child

MIB = 2**20


@pytest.fixture
def big_parent():
    """This process made 400 MiB resident, as the benchmark is after writing sources."""
    block = bytearray(400 * MIB)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    yield block
    del block


def test_a_small_command_reports_its_own_memory_not_its_parents(big_parent, tmp_path):
    child = run_child("true", ["true"], dict(os.environ), tmp_path)
    assert child.returncode == 0 and not child.timed_out
    assert child.max_rss_bytes < 64 * MIB  # `true` and its launcher, not the 400 MiB


def test_a_big_command_reports_its_own_peak(big_parent, tmp_path):
    code = "b = bytearray(256 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    child = run_child("alloc", [sys.executable, "-c", code], dict(os.environ), tmp_path)
    assert 256 * MIB <= child.max_rss_bytes < 400 * MIB
    assert child.cpu_seconds > 0 and child.seconds > 0


def test_the_exit_code_and_the_signal_are_kept(tmp_path):
    env = dict(os.environ)
    assert run_child("three", ["sh", "-c", "exit 3"], env, tmp_path, may_fail=True).returncode == 3
    killed = run_child("term", ["sh", "-c", "kill -TERM $$"], env, tmp_path, may_fail=True)
    assert killed.returncode == -15
    with pytest.raises(BenchFailed, match=r"three exited 3 \(log: "):
        run_child("three", ["sh", "-c", "echo why >&2; exit 3"], env, tmp_path)


def test_a_command_that_cannot_start_is_told_by_name(tmp_path):
    with pytest.raises(BenchFailed) as failed:
        run_child("missing", ["no-such-tool-here", "--x"], dict(os.environ), tmp_path)
    assert "cannot run 'no-such-tool-here': No such file or directory" in str(failed.value)


def test_only_the_log_is_left(tmp_path):
    run_child("quiet", ["true"], dict(os.environ), tmp_path)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["quiet.log"]


def test_a_command_past_its_timeout_is_killed_with_what_it_started(big_parent, tmp_path):
    started = tmp_path / "started.pid"
    command = ["sh", "-c", f"sleep 300 & echo $! > {started}; wait"]
    child = run_child("hang", command, dict(os.environ), tmp_path, may_fail=True, timeout=1)
    assert child.timed_out and child.returncode == -9
    assert 1 <= child.seconds < 30
    assert child.max_rss_bytes == 0 and child.cpu_seconds == 0  # none of its own is known
    assert stops_running(int(started.read_text()))


def test_what_a_command_leaves_running_is_killed_when_it_ends(tmp_path):
    """With a timeout the command's group is its own: a background process it leaves
    behind is stopped at its end, and a run that ended in time is not timed out."""
    started = tmp_path / "started.pid"
    command = ["sh", "-c", f"sleep 300 > /dev/null 2>&1 & echo $! > {started}"]
    child = run_child("leaves", command, dict(os.environ), tmp_path, timeout=60)
    assert child.returncode == 0 and not child.timed_out
    assert stops_running(int(started.read_text()))


def test_the_command_gets_the_environment_as_given(tmp_path):
    """Python's start-up (the launcher's) may coerce the locale by adding LC_CTYPE to
    its own environment; the command gets exactly what it was given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env["MEDALLION_PROBE"] = "kept"
    run_child("env", ["env"], env, tmp_path)
    seen = dict(
        line.split("=", 1)
        for line in (tmp_path / "env.log").read_text().splitlines()
        if "=" in line
    )
    assert seen["MEDALLION_PROBE"] == "kept"
    assert "LC_CTYPE" not in seen and "LANG" not in seen


def test_a_stale_usage_file_is_not_taken_for_a_run(tmp_path):
    """A figures file left by an earlier run (killed before it cleaned up) is not read as
    this run's: a command that cannot be started still fails."""
    (tmp_path / "stale.usage.json").write_text(
        '{"seconds": 1.0, "status": 0, "maxrss_kib": 1, "cpu_seconds": 1.0}'
    )
    child = run_child("stale", ["no-such-tool-here"], dict(os.environ), tmp_path, may_fail=True)
    assert child.returncode == 1 and child.max_rss_bytes == 0

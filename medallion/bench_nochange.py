"""The fixed cost of an ingest with nothing to do (issue 22), against baselines in the
same run.

On a warehouse that has ingested the default demo, ``medallion ingest`` is run again
with nothing changed: once (the first no-change run after a load still runs the live
pipeline, which finds nothing and records the source's signature:
``ingestion/precheck.py``), then ``ROUNDS`` times alternating with two baselines, the
best of each counting:

- ``cli_start``: ``medallion --help``, the interpreter and the command line's import,
  the floor of any command;
- ``imports``: a Python process importing what an ingest imports before it reads
  anything (``medallion.cli`` and ``ingestion.pipelines``: dlt, for its configuration,
  and SQLAlchemy, for the sources).

Each child is timed end to end with ``wait4`` (process start included), its CPU too. The
figure is the no-change ingest's seconds, as a ratio to each baseline; the target is
1.5 s on an idle machine, so the CPU seconds are recorded beside the wall time (on a
loaded machine the wall time stretches, the CPU time much less).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .bench import run_child

ROUNDS = 3
TARGET_NO_CHANGE_INGEST_SECONDS = 1.5
SKIPPED_MARK = "pipeline not run"

BASELINES = {
    "cli_start": [sys.executable, "-m", "medallion.cli", "--help"],
    # ended as the command line ends (cli.exit_now), so that the two compare
    "imports": [
        sys.executable,
        "-c",
        "import medallion.cli, ingestion.pipelines; medallion.cli.exit_now(0)",
    ],
}


def _ingest() -> list[str]:
    return [sys.executable, "-m", "medallion.cli", "ingest"]


def _skipped(log: Path) -> list[str]:
    """The sources whose pipeline the run did not start (``pipelines._nothing_to_do``)."""
    lines = log.read_text(errors="replace").splitlines()
    return sorted(
        line.split("…", 1)[-1].strip().split(":", 1)[0] for line in lines if SKIPPED_MARK in line
    )


def measure_no_change_ingest(
    env: dict[str, str], logs: Path, rounds: int = ROUNDS
) -> dict[str, Any]:
    """A no-change ``medallion ingest`` on the warehouse of ``env``, which has ingested
    its sources already; its baselines; the ratios."""
    first = run_child("no-change-ingest-first", _ingest(), env, logs)
    runs: list[dict[str, float]] = []
    base: dict[str, list[dict[str, float]]] = {name: [] for name in BASELINES}
    for index in range(rounds):
        for name, command in BASELINES.items():
            child = run_child(f"baseline-{name}-{index}", command, env, logs)
            base[name].append({"seconds": child.seconds, "cpu_seconds": child.cpu_seconds})
        child = run_child(f"no-change-ingest-{index}", _ingest(), env, logs)
        runs.append({"seconds": child.seconds, "cpu_seconds": child.cpu_seconds})
    best = min(runs, key=lambda run: run["seconds"])
    baselines = {}
    for name, measured in base.items():
        fastest = min(measured, key=lambda run: run["seconds"])
        baselines[name] = {
            "command": " ".join(BASELINES[name][1:]),
            "seconds": fastest["seconds"],
            "cpu_seconds": fastest["cpu_seconds"],
            "runs_seconds": [run["seconds"] for run in measured],
        }
    return {
        "first_seconds": first.seconds,
        "first_cpu_seconds": first.cpu_seconds,
        "first_skipped": _skipped(logs / "no-change-ingest-first.log"),
        "seconds": best["seconds"],
        "cpu_seconds": best["cpu_seconds"],
        "runs_seconds": [run["seconds"] for run in runs],
        "skipped": _skipped(logs / f"no-change-ingest-{rounds - 1}.log"),
        "baselines": baselines,
        "ratio_to_cli_start": best["seconds"] / baselines["cli_start"]["seconds"],
        "beyond_imports_seconds": best["seconds"] - baselines["imports"]["seconds"],
        "target_seconds": TARGET_NO_CHANGE_INGEST_SECONDS,
        "met": best["seconds"] <= TARGET_NO_CHANGE_INGEST_SECONDS,
    }


def summary_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The no-change ingest's rows of the summary table (none when not measured)."""
    measured = results.get("no_change_ingest")
    if not measured:
        return []
    cli, imports = measured["baselines"]["cli_start"], measured["baselines"]["imports"]
    skipped = ", ".join(measured["skipped"]) or "none"
    return [
        (
            "no-change ingest, default demo (s; CPU s)",
            f"{measured['seconds']:.2f}; {measured['cpu_seconds']:.2f}",
            f"<= {TARGET_NO_CHANGE_INGEST_SECONDS:g}",
        ),
        ("  pipelines not run", skipped, "all three"),
        (
            "  the first after a load (s; CPU s)",
            f"{measured['first_seconds']:.2f}; {measured['first_cpu_seconds']:.2f}",
            "",
        ),
        (
            "  / CLI start (`medallion --help`)",
            f"{measured['ratio_to_cli_start']:.2f}x "
            f"({cli['seconds']:.2f} s; {cli['cpu_seconds']:.2f})",
            "",
        ),
        (
            "  beyond its imports (s)",
            f"{measured['beyond_imports_seconds']:.2f} (imports {imports['seconds']:.2f} s; "
            f"{imports['cpu_seconds']:.2f})",
            "",
        ),
    ]


def target(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 22's target, as ``bench.targets`` lists them (none when not measured)."""
    measured = results.get("no_change_ingest")
    if not measured:
        return []
    return [
        {
            "name": "no_change_ingest_seconds",
            "description": "a no-change `medallion ingest` on the default demo <= 1.5 s",
            "measured_at_rows": (results.get("baseline_build") or {}).get("raw_transaction_rows"),
            "value": measured["seconds"],
            "threshold": TARGET_NO_CHANGE_INGEST_SECONDS,
            "met": measured["met"],
        }
    ]


def no_change_only_out() -> Path:
    """Where ``medallion bench --no-change-only`` writes: ``bench/results/no_change/``,
    out of the full runs' history table."""
    from datetime import UTC, datetime

    from .settings import PROJECT_DIR

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return PROJECT_DIR / "bench" / "results" / "no_change" / f"{stamp}.json"


def run_no_change_only(progress: Any = None, rounds: int = ROUNDS) -> dict[str, Any]:
    """The no-change ingest alone, on the default demo ingested into a fresh folder (no
    MySQL, no build): the quick loop while working on the fixed costs."""
    import os
    import platform
    import shutil
    import subprocess
    import tempfile
    from datetime import UTC, datetime

    from .bench import _base_env, _warehouse_env
    from .settings import PROJECT_DIR

    progress = progress or (lambda message: None)
    work = Path(tempfile.mkdtemp(prefix="medallion-bench-nochange-"))

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") + (
        "+dirty" if git("status", "--porcelain") else ""
    )
    results: dict[str, Any] = {
        "schema_version": 1,
        "kind": "no_change",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "load_average_start": list(os.getloadavg()),
            "python": platform.python_version(),
            "git_commit": commit,
        },
    }
    try:
        env = _warehouse_env(_base_env(), work)
        env["MEDALLION_DEMO_DIR"] = str(work / "demo")
        progress("ingesting the default demo (first copy)")
        run_child("default-ingest", [*_ingest(), "--generate-demo"], env, work / "logs")
        progress(f"no-change ingests and their baselines, {rounds} rounds")
        results["no_change_ingest"] = measure_no_change_ingest(env, work / "logs", rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_end"] = list(os.getloadavg())
    return results

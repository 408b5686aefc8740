"""`medallion bench --no-change-only`: a no-change ingest of the default demo against
its baselines, every ratio the quotient of the figures beside it; no MySQL, no build."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from pipeline_helpers import run_cli


def test_the_no_change_bench_alone(tmp_path: Path) -> None:
    out = tmp_path / "no_change.json"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "MEDALLION_", "DBT_"))
    }

    result = run_cli(["bench", "--no-change-only", "--out", str(out)], env)

    # the console wraps a long path anywhere: compare without any white space
    assert f"Results:{out}" in "".join(result.stdout.split())
    results = json.loads(out.read_text())
    assert results["kind"] == "no_change"
    measured = results["no_change_ingest"]
    assert measured["first_skipped"] == ["archive", "files"]
    assert measured["skipped"] == ["archive", "files", "live"]
    assert len(measured["runs_seconds"]) == 3
    assert measured["seconds"] == min(measured["runs_seconds"]) > 0
    cli = measured["baselines"]["cli_start"]
    assert cli["command"] == "-m medallion.cli --help"
    assert math.isclose(measured["ratio_to_cli_start"], measured["seconds"] / cli["seconds"])
    assert measured["met"] == (measured["seconds"] <= 1.5)

"""The slim build of a pull request (``medallion slim``): only what the change touches.

dbt compares the project with the production manifest (``--state``): the models, seeds,
snapshots and tests whose files changed, and everything downstream of them
(``state:modified+``), are built and tested; every other ``ref()`` is read from where
production built it (``--defer``). A change to one mart builds that mart and its
children, in seconds, instead of the whole project. The changed nodes are written into
the schemas the manifest names, so run it against a scratch warehouse (CI's, where the
base branch was built first), never production's, and with the manifest's
``MEDALLION_SCHEMA_PREFIX``: dbt counts a node whose schema differs as modified.

The users' CI workflow (``.github/workflows/dbt.yml``) builds the base branch whole,
keeps its ``manifest.json``, and runs this on the pull request's checkout
(docs/orchestration.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from .settings import ConfigError
from .transform import DbtOutcome, run_dbt


def slim_args(state: Path) -> list[str]:
    """dbt's arguments: build what changed and its children, defer the rest to ``state``."""
    return ["build", "--select", "state:modified+", "--defer", "--state", str(state)]


def slim_build(state: Path, target: str = "duckdb", project_dir: Path | None = None) -> DbtOutcome:
    """Build and test what changed since the manifest in ``state`` (a folder holding the
    production ``manifest.json``), in the project at ``project_dir`` (this one by
    default). Raises ``BuildFailed`` when a node fails, ``ConfigError`` on a missing or
    unreadable manifest."""
    manifest = Path(state) / "manifest.json"
    if not manifest.is_file():
        raise ConfigError(
            f"No production manifest in {state}: build the base branch first (`medallion "
            "build`) and keep its target/manifest.json in that folder (--state)."
        )
    try:
        json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{manifest} is not a dbt manifest: {exc}") from None
    return run_dbt(slim_args(Path(state).resolve()), target=target, project_dir=project_dir)

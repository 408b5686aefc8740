"""The lake's registration marker (``MEDALLION_LAKE_REGISTERED``, ``medallion/lake.py``):
``register_lake`` sets it for the one build that follows in the process, and every path
that ends without that build must forget it, or a later build in a process that stays
(the orchestrator's) would skip registering and Spark would not list a table's new
files. Tested here: the paths that start no dbt build, in-process on a real control file
(``spark_control``) over a real empty lake, without a JVM. Forgetting it after a dbt
build on Spark needs a JVM, and is not tested here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medallion.build_state import BuildState
from medallion.lake import LAKE_REGISTERED_ENV
from medallion.run import RunOptions, build, run
from medallion.settings import ConfigError, prepare_environment
from medallion.spark_control import connect, control_path


class Lines:
    """An ``Output`` that keeps what it is given, as text."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, *objects, **kwargs) -> None:
        self.lines.append(" ".join(str(each) for each in objects))


@pytest.fixture
def spark_folder(tmp_path: Path) -> Iterator[Path]:
    """This test's Spark warehouse and lake (the defaults beside its DuckDB path), with
    the registration marker set as ``register_lake`` leaves it; the environment as it
    was afterwards."""
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "MEDALLION_", "DBT_"))]:
        del os.environ[key]
    os.environ["MEDALLION_DUCKDB_PATH"] = str(tmp_path / "warehouse" / "medallion.duckdb")
    prepare_environment()
    os.environ[LAKE_REGISTERED_ENV] = "[]"
    try:
        yield tmp_path / "warehouse"
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_skipped_build_forgets_the_registration(spark_folder: Path) -> None:
    connect().close()  # the control file, over the empty lake
    assert control_path().parent == spark_folder / "spark"
    BuildState.read("spark").record(1.0, whole=True)  # a build of this very lake
    out = Lines()

    assert build(RunOptions(target="spark"), out, publish=False) is None

    assert "dbt build skipped" in " ".join(out.lines), out.lines
    assert LAKE_REGISTERED_ENV not in os.environ


def test_a_run_stopped_before_its_build_forgets_the_registration(spark_folder: Path) -> None:
    out = Lines()

    with pytest.raises(ConfigError, match="anomaly factor"):
        run(RunOptions(target="spark", anomaly_factor=0.5), out)

    assert "recorded (failed)" in " ".join(out.lines), out.lines
    assert LAKE_REGISTERED_ENV not in os.environ

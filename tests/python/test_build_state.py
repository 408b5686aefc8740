"""A ``dbt build`` with nothing to do is skipped, and only then (``medallion/build_state.py``).

On real demo sources and the real pipeline: a second build with no load in between is
skipped and changes nothing, ``--force`` builds, a changed source row is built (even
after a build killed half-way), and the project part of the signature follows the files
dbt reads and nothing else.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import duckdb
import pytest
from pipeline_helpers import PROJECT_DIR, change_one_live_sale, pipeline_env, query, run_cli

from medallion import build_state
from medallion.demo import generate_demo

pytestmark = pytest.mark.slow


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Demo sources and a warehouse built once from them by ``medallion run``."""
    root = tmp_path_factory.mktemp("build_state")
    sources = root / "sources"
    generate_demo(sources, seed=5, scale=0.25)
    env = pipeline_env(
        root,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )
    run_cli(["run"], env)
    return sources, env


def builds(env: dict[str, str]) -> list[tuple]:
    """The signatures of the successful builds (not the marks of whole builds started)."""
    return query(
        env["MEDALLION_DUCKDB_PATH"],
        "select signature from audit.dbt_builds where signature <> '' order by built_at",
    )


def marts(env: dict[str, str]) -> dict[str, list[tuple]]:
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    names = query(
        warehouse, "select table_name from information_schema.tables where table_schema = 'marts'"
    )
    return {
        name: sorted(query(warehouse, f'select * from marts."{name}"'), key=repr)
        for (name,) in names
    }


def test_a_build_with_no_load_since_the_last_is_skipped_and_force_builds(built):
    _, env = built
    results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    assert len(builds(env)) == 1  # the run's build
    before, results_before = marts(env), results.stat().st_mtime_ns

    skipped = run_cli(["build"], env)

    assert "dbt build skipped (--force builds anyway)" in flat(skipped.stdout)
    assert results.stat().st_mtime_ns == results_before  # dbt did not run at all
    assert marts(env) == before and len(builds(env)) == 1

    forced = run_cli(["build", "--force"], env)

    assert "dbt build (" in forced.stdout and "skipped" not in forced.stdout
    assert results.stat().st_mtime_ns != results_before
    assert marts(env) == before  # the same data built again gives the same marts
    assert len(builds(env)) == 2 and builds(env)[0] == builds(env)[1]


def test_a_load_that_only_saved_the_pipeline_state_is_no_change(built):
    """dlt saves a pipeline's state in a load of its own, with no data row (seen on the
    live pipeline at 1M rows, on runs with no source change): nothing dbt reads."""
    _, env = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    recorded = builds(env)
    with duckdb.connect(warehouse) as conn:  # what such a load leaves: two dlt rows
        (load_id,) = conn.execute("select max(load_id) from raw_live._dlt_loads").fetchone()
        newer = f"{float(load_id) + 1:.7f}"
        conn.execute(
            "insert into raw_live._dlt_loads select ? as load_id, * exclude (load_id)"
            " from raw_live._dlt_loads where load_id = ?",
            [newer, load_id],
        )
        conn.execute(
            "insert into raw_live._dlt_pipeline_state"
            " select * replace (version + 1 as version, ? as _dlt_load_id,"
            " md5(_dlt_id) as _dlt_id) from raw_live._dlt_pipeline_state"
            " order by version desc limit 1",
            [newer],
        )

    skipped = run_cli(["build"], env)

    assert "dbt build skipped" in flat(skipped.stdout)
    assert builds(env) == recorded


def test_a_select_is_never_skipped_nor_recorded(built):
    _, env = built
    recorded = len(builds(env))

    partial = run_cli(["build", "--select", "dim_date"], env)

    assert "dbt build --select dim_date (" in flat(partial.stdout)
    assert "skipped" not in partial.stdout
    assert len(builds(env)) == recorded


def test_a_changed_source_row_is_built_even_after_a_killed_build(built):
    sources, env = built
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    transaction_id, quantity, _ = change_one_live_sale(sources / "live.sqlite", warehouse)
    recorded = builds(env)

    # killed in dbt after the new row was loaded: the build never finished, nothing
    # is recorded, and the next run must build although it loads nothing new
    killed = run_cli(["run"], {**env, "MEDALLION_FAULT_AT": "dbt:dim_customer"}, expect=None)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert builds(env) == recorded

    rerun = run_cli(["run"], env)

    assert "dbt build (" in rerun.stdout and "skipped" not in flat(rerun.stdout)
    assert query(
        warehouse,
        f"select quantity from marts.fct_transactions where transaction_id = {transaction_id}",
    ) == [(quantity + 7,)]
    assert len(builds(env)) == len(recorded) + 1 and builds(env)[-1] != recorded[-1]

    again = run_cli(["run"], env)  # and now there is nothing left to do

    assert "dbt build skipped" in flat(again.stdout)


def copy_project(destination: Path) -> Path:
    for name in build_state.PROJECT_FILES:
        shutil.copy(PROJECT_DIR / name, destination / name)
    for folder in build_state.PROJECT_FOLDERS:
        shutil.copytree(PROJECT_DIR / folder, destination / folder)
    (destination / "README.md").write_text("readme")
    return destination


def test_the_project_signature_follows_what_dbt_reads_and_nothing_else(tmp_path, monkeypatch):
    project = copy_project(tmp_path)
    monkeypatch.setattr(build_state, "PROJECT_DIR", project)
    original = build_state.project_digest()
    assert build_state.project_digest() == original  # deterministic

    # not read by dbt: the README, the Python tests, a file's modification time
    (project / "README.md").write_text("another readme")
    (project / "tests" / "python").mkdir(parents=True, exist_ok=True)
    (project / "tests" / "python" / "test_x.py").write_text("x = 1\n")
    (project / "models" / "marts" / "dim_date.sql").touch()
    assert build_state.project_digest() == original

    # read by dbt: a model, a macro, a YAML file, a seed, the project file
    changed = []
    for relative in (
        "models/marts/dim_date.sql",
        "macros/cross_db/money.sql",
        "models/marts/_marts__models.yml",
        "dbt_project.yml",
    ):
        path = project / relative
        text = path.read_text()
        path.write_text(text + "\n-- changed\n" if path.suffix == ".sql" else text + "\n")
        changed.append(build_state.project_digest())
        path.write_text(text)
        assert build_state.project_digest() == original, relative
    seed = next((project / "seeds").glob("*.csv"))
    seed.write_text(seed.read_text() + "\n")
    changed.append(build_state.project_digest())
    assert original not in changed and len(set(changed)) == len(changed)

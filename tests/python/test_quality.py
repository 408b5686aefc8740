"""Great Expectations checkpoints as a user meets them.

`medallion run` validates the raw layer after ingestion (a critical failure stops it
before dbt build) and the marts after the build; `medallion validate` runs them alone.
Everything is real: demo sources generated into a private folder, the CLI in a
subprocess, DuckDB, GX and, for the MySQL path, the machine's MariaDB under a unique
schema prefix that is dropped afterwards.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import PROJECT_DIR, pipeline_env, query, run_cli

from medallion.demo import generate_demo

# The tests that read a pipeline run share the module's three runs, one on MariaDB:
# they are marked slow and mysql.

SUITES_DIR = PROJECT_DIR / "quality"


def demo_env(tmp: Path) -> tuple[dict[str, str], Path]:
    """Demo sources (seed 42, scale 0.5) and an isolated pipeline environment for them."""
    sources = generate_demo(tmp / "demo", seed=42, scale=0.5)
    env = pipeline_env(tmp, sources.archive_url, sources.live_url, sources.landing_dir)
    env.pop("DISPLAY", None)  # `--open` must not start a browser in a test
    env.pop("BROWSER", None)
    return env, tmp / "demo"


def in_one_line(output: str) -> str:
    """The output with rich's wrapping undone, to search for a message whole."""
    return " ".join(output.split())


@dataclass
class Run:
    """One `medallion run` of this module: its environment, demo folder and result."""

    env: dict[str, str]
    demo: Path
    result: subprocess.CompletedProcess[str] | None = None

    @property
    def output(self) -> str:
        assert self.result is not None
        return self.result.stdout

    @property
    def docs(self) -> Path:
        return Path(self.env["MEDALLION_DUCKDB_PATH"]).parent


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, module_prefix: str) -> dict[str, Run]:
    """Three pipelines on their own demo sources, run at the same time (each is mostly
    waiting on dbt or a database): the demo as it is on DuckDB; a live transaction
    status outside the contract's enum on 30 of 1,122 lines, more than the 1% of
    max_bad_row_share (critical), on DuckDB; a product in a product line nobody decided
    on (warning) on MySQL."""
    runs = {}
    for name in ("clean", "critical", "warning"):
        env, demo = demo_env(tmp_path_factory.mktemp(f"quality_{name}"))
        runs[name] = Run(env, demo)
    with sqlite3.connect(runs["critical"].demo / "live.sqlite") as conn:
        conn.execute(
            "update transactions set status = 'Lost' where transaction_id in"
            " (select transaction_id from transactions order by transaction_id limit 30)"
        )
    with sqlite3.connect(runs["warning"].demo / "live.sqlite") as conn:
        conn.execute(
            "update products set product_line = 'Spaceships'"
            " where product_code = (select min(product_code) from products)"
        )
    runs["warning"].env["MEDALLION_SCHEMA_PREFIX"] = module_prefix
    commands = {"clean": ["run"], "critical": ["run"], "warning": ["run", "--target", "mysql"]}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(run_cli, commands[name], run.env, None) for name, run in runs.items()
        }
        for name, future in futures.items():
            runs[name].result = future.result()
    return runs


@pytest.fixture(scope="module")
def clean_run(runs: dict[str, Run]) -> tuple[dict[str, str], str]:
    run = runs["clean"]
    assert run.result is not None and run.result.returncode == 0, run.output[-6000:]
    return run.env, run.output


# --- the suites in the repository -------------------------------------------------------


def test_every_expectation_states_its_severity_and_the_suites_cover_the_sources():
    from medallion.quality import load_layer

    raw = load_layer("raw")
    gold = load_layer("gold")
    datasets = {d.name for d in raw.datasets}
    for source in ("raw_archive", "raw_live"):
        for table in ("customers", "products", "transactions"):
            assert f"{source}.{table}" in datasets
    for table in ("fiscal_calendar", "surveys", "expenses"):
        assert f"raw_files.{table}" in datasets
    assert {f"marts.{t}" for t in ("fct_transactions", "customer_segments")} <= {
        d.name for d in gold.datasets
    }
    for layer in ("raw", "gold"):
        content = json.loads((SUITES_DIR / f"{layer}.json").read_text())
        severities = {e["severity"] for suite in content["suites"] for e in suite["expectations"]}
        assert severities == {"critical", "warning"}, layer


# --- a clean run ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_run_validates_raw_before_the_build_and_gold_after_it(clean_run):
    _, output = clean_run
    text = in_one_line(output)
    raw_at = output.index("Data quality: raw")
    build_at = output.index("dbt build (")
    gold_at = output.index("Data quality: gold")
    assert raw_at < build_at < gold_at
    assert "Data quality raw:" in text and "Data quality gold:" in text
    for layer in ("raw", "gold"):
        headline = text.split(f"Data quality {layer}: ")[1].split(" Data Docs")[0]
        assert "0 critical failed, 0 warning(s)" in headline, headline
    for table in ("raw_live.transactions", "raw_files.fiscal_calendar", "marts.monthly_summary"):
        assert table in output
    assert "check.monthly_summary_vs_facts" in output


@pytest.mark.slow
@pytest.mark.mysql
def test_data_docs_are_written_beside_the_warehouse(clean_run):
    env, output = clean_run
    index = Path(env["MEDALLION_DUCKDB_PATH"]).parent / "data_docs" / "index.html"
    assert index.exists()
    assert str(index) in output.replace("\n", "")
    html = index.read_text()
    for suite in (
        "raw.transactions",
        "raw.fiscal_calendar",
        "gold.customer_segments",
        "gold.monthly_summary_reconciles",
        "gold.restocking_fee_rule",
    ):
        assert suite in html, suite
    pages = list((index.parent / "validations").rglob("*.html"))
    assert any("raw_live.transactions" in page.name for page in pages)
    assert any("marts.fct_transactions" in page.name for page in pages)
    for page in [index, *pages]:  # GX's time-stamped logo from its server: replaced
        assert "great-expectations-web-assets" not in page.read_text(), page


@pytest.mark.slow
@pytest.mark.mysql
def test_validate_checks_one_layer_and_opens_its_docs(clean_run):
    env, _ = clean_run
    index = Path(env["MEDALLION_DUCKDB_PATH"]).parent / "data_docs" / "index.html"
    index.unlink()  # the run wrote one: the page read below must be this command's
    result = run_cli(["validate", "--layer", "gold", "--open"], env)
    assert "Data quality: gold" in result.stdout
    assert "Data quality: raw" not in result.stdout
    assert index.as_uri() in result.stdout.replace("\n", "")
    assert "gold.fct_transactions" in index.read_text()


@pytest.mark.slow
@pytest.mark.mysql
def test_validation_talks_to_no_one_and_writes_only_its_docs(clean_run, monkeypatch):
    """In-process, with every outward connection refused: GX must not phone home (no
    analytics, no version check, no cloud), and write nothing but the Data Docs."""
    env, _ = clean_run
    for key in ("MEDALLION_DUCKDB_PATH", "DBT_TARGET_PATH"):
        monkeypatch.setenv(key, env[key])
    from medallion.settings import prepare_environment

    prepare_environment()
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"network access refused in this test: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    tmp = Path(env["MEDALLION_DUCKDB_PATH"]).parent.parent
    docs = Path(env["MEDALLION_DUCKDB_PATH"]).parent / "data_docs"

    def files() -> set[Path]:
        return {p for p in tmp.rglob("*") if docs not in p.parents and p.is_file()}

    project_before = {p.name for p in PROJECT_DIR.iterdir()}
    (docs / "index.html").unlink(missing_ok=True)  # an earlier run's page proves nothing
    before = files()
    from medallion.quality import validate_layer

    report = validate_layer("raw", "duckdb")
    assert not attempts, attempts
    assert report.critical == [] and report.warnings == []
    assert files() == before
    assert {p.name for p in PROJECT_DIR.iterdir()} == project_before
    assert (docs / "index.html").exists()


# --- failures ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.mysql
def test_a_critical_failure_stops_the_run_before_dbt_build(runs):
    run = runs["critical"]
    assert run.result is not None and run.result.returncode == 1, run.output[-6000:]
    failure = in_one_line(run.output).split("Failed:")[1]
    assert "raw_live.transactions" in failure
    assert "expect_column_values_to_be_in_set(status)" in failure
    with sqlite3.connect(run.demo / "live.sqlite") as conn:
        rows, bad = conn.execute(
            "select count(*), sum(status = 'Lost') from transactions"
        ).fetchone()
    assert bad == 30
    assert f"{bad} of {rows:,} rows bad" in failure
    assert "'Lost'" in failure
    share = f"{100 * bad / rows:.2f}".rstrip("0").rstrip(".")  # 30 of 1,122: 2.67
    assert f"max_bad_row_share: {share}% of the rows fail, more than 1%" in failure
    assert "dbt build did not run" in failure
    assert "dbt build (" not in run.output
    schemas = query(
        run.env["MEDALLION_DUCKDB_PATH"],
        "select schema_name from information_schema.schemata where schema_name = 'marts'",
    )
    assert schemas == []
    assert (run.docs / "data_docs" / "index.html").exists()


@pytest.mark.slow
@pytest.mark.mysql
def test_on_mysql_a_warning_is_reported_and_the_run_finishes(runs, module_prefix):
    """The whole pipeline on MariaDB, under a unique schema prefix: the warning is in the
    summary, the marts are built and checked too, and the run exits 0."""
    run = runs["warning"]
    assert run.result is not None and run.result.returncode == 0, run.output[-6000:]
    text = in_one_line(run.output)
    # the last warning before the raw checks' summary (the run may first warn about a
    # server setting: medallion/mysql_settings.py)
    warning = text.split("Data quality raw:")[0].rsplit("Warning:", 1)[1]
    assert f"{module_prefix}raw_live.products" in warning
    assert "expect_column_values_to_be_in_set(product_line)" in warning
    assert "1 of" in warning and "'Spaceships'" in warning
    raw = text.split("Data quality raw:")[1].split("Data Docs")[0]
    assert "0 critical failed, 1 warning(s)" in raw
    assert "0 critical failed, 0 warning(s)" in text.split("Data quality gold:")[1]
    assert f"{module_prefix}marts.fct_transactions" in run.output
    assert "check.monthly_summary_vs_facts" in run.output
    index = run.docs / f"data_docs-mysql-127.0.0.1-3306-{module_prefix}" / "index.html"
    assert index.exists()
    assert "gold.monthly_summary_reconciles" in index.read_text()


def test_an_expectation_without_a_severity_is_refused(tmp_path, monkeypatch):
    from medallion import quality
    from medallion.settings import ConfigError

    content = json.loads((SUITES_DIR / "raw.json").read_text())
    del content["suites"][0]["expectations"][2]["severity"]
    (tmp_path / "raw.json").write_text(json.dumps(content))
    monkeypatch.setattr(quality, "SUITES_DIR", tmp_path)
    with pytest.raises(ConfigError, match="needs a severity"):
        quality.load_layer("raw")

"""Dagster (medallion/orchestration) and the slim CI build (medallion slim).

One module build: every asset of the definitions materialised in process on the gold
rules' scenario (small sources whose marts ``oracle.py`` computes independently); the
tests after it read that warehouse. The schedule and the sensor are evaluated as
Dagster evaluates them; the retries and the failure alert run the real job in process
against a refused source and a local HTTP server; the webserver is started and its
asset graph read over GraphQL; the slim build runs the real CLI on a changed copy of
the project.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fixtures import write_landing, write_sqlite_source
from oracle import Oracle
from pipeline_helpers import PROJECT_DIR
from test_gold_rules import ARCHIVE, LANDING_FILES, LIVE, SOURCES, assert_same_rows, table

BIN = Path(sys.executable).parent


@dataclass
class Built:
    root: Path
    env: dict[str, str]
    result: Any = None
    seconds: float = 0.0
    defs: Any = None
    modules: dict[str, Any] = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return Path(self.env["MEDALLION_DUCKDB_PATH"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Every asset materialised once, in process, as `dagster asset materialize` would."""
    root = tmp_path_factory.mktemp("orchestration")
    env = {
        "SOURCES__ARCHIVE__CREDENTIALS": write_sqlite_source(root / "archive.sqlite", ARCHIVE),
        "SOURCES__LIVE__CREDENTIALS": write_sqlite_source(root / "live.sqlite", LIVE),
        "SOURCES__FILES__BUCKET_URL": str(write_landing(root / "landing", LANDING_FILES)),
        "MEDALLION_DUCKDB_PATH": str(root / "warehouse" / "medallion.duckdb"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
    }
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "MEDALLION_", "DBT_"))]:
        del os.environ[key]
    os.environ.update(env)
    try:
        from dagster import DagsterInstance, materialize

        from medallion.orchestration import alerts, assets, automation, definitions

        found = Built(root, env, defs=definitions.defs)
        found.modules = {"assets": assets, "automation": automation, "alerts": alerts}
        started = time.perf_counter()
        with DagsterInstance.ephemeral() as instance:
            found.result = materialize([definitions.run_asset], instance=instance)
        found.seconds = time.perf_counter() - started
        yield found
    finally:
        os.environ.clear()
        os.environ.update(saved)


def graph_keys(built: Built) -> dict[str, set[str]]:
    """Asset key -> the keys it depends on, from the loaded definitions."""
    graph = built.defs.resolve_asset_graph()
    return {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }


def ancestors(graph: dict[str, set[str]], key: str) -> set[str]:
    seen: set[str] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop(), set()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


# --- the definitions -------------------------------------------------------------------


@pytest.mark.slow
def test_every_raw_table_and_dbt_node_is_an_asset_with_lineage_to_the_marts(built: Built):
    manifest = json.loads((Path(built.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    graph = graph_keys(built)
    raw = {
        f"raw_{node['source_name']}/{node['name']}"
        for node in manifest["sources"].values()
        if node["source_name"] in ("archive", "live", "files")
    }
    assert len(raw) >= 9 and raw <= set(graph)
    nodes = [
        n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed", "snapshot")
    ]
    names = {key.split("/")[-1] for key in graph}
    assert {n["name"] for n in nodes} <= names
    # lineage: from each source's raw tables to the fact, and on to the Power BI report
    fact = ancestors(graph, "marts/fct_transactions")
    assert {"raw_archive/transactions", "raw_live/transactions", "raw_live/customers"} <= fact
    assert "raw_files/fiscal_calendar" in ancestors(graph, "marts/regional_summary")
    report = ancestors(graph, "powerbi/sales_overview_dashboard")
    assert {"marts/monthly_summary", "marts/fct_transactions", "raw_live/transactions"} <= report


@pytest.mark.slow
def test_the_checks_carry_the_severity_the_policy_gives_them(built: Built):
    """A critical expectation and a source stale beyond its error threshold are ERROR; an
    expectation the policy made a warning, a late source and a volume anomaly are WARN."""
    from dagster import AssetKey

    from medallion.quality import DatasetOutcome, Failure, LayerReport
    from medallion.run_audit import Anomaly, Freshness, RunAudit

    assets = built.modules["assets"]
    specs = {
        (c.asset_key.to_user_string(), c.name)
        for c in built.defs.resolve_assets_def(AssetKey(["marts", "fct_transactions"])).check_specs
    }
    for expected in [
        ("raw_live/transactions", "freshness"),
        ("raw_live/transactions", "volume"),
        ("raw_live/transactions", "expectations"),
        ("marts/fct_transactions", "expectations"),
        ("marts/fct_transactions", "assert_restocking_fee_is_ten_percent_of_refunds"),
    ]:
        assert expected in specs, expected

    def failure(dataset: str, severity: str) -> Failure:
        return Failure(dataset, "suite", "expect_x", severity, 3, 100)

    audit = RunAudit(target="duckdb", command="test")
    audit.quality["raw"] = LayerReport(
        "raw",
        "duckdb",
        [
            DatasetOutcome("raw_live.transactions", ("s",), 5, 4, [failure("t", "critical")]),
            DatasetOutcome("raw_live.customers", ("s",), 5, 4, [failure("c", "warning")]),
            DatasetOutcome("raw_live.products", ("s",), 5, 5, []),
        ],
        0.0,
        Path("index.html"),
    )
    audit.freshness = [
        Freshness("raw_live.transactions", "error", 100.0),
        Freshness("raw_live.customers", "warn", 80.0),
        Freshness("raw_live.products", "pass", 1.0),
    ]
    audit.anomalies = [Anomaly("raw_live.products", True, "rows 10x the median")]
    audit.table("raw_live.products", "raw").table_rows = 1000
    got = {
        (e.asset_key.to_user_string(), e.check_name): (e.passed, e.severity.value)
        for e in assets.raw_events(audit)
    }
    assert got == {
        ("raw_live/transactions", "expectations"): (False, "ERROR"),
        ("raw_live/customers", "expectations"): (False, "WARN"),
        ("raw_live/products", "expectations"): (True, "WARN"),
        ("raw_live/transactions", "freshness"): (False, "ERROR"),
        ("raw_live/customers", "freshness"): (False, "WARN"),
        ("raw_live/products", "freshness"): (True, "WARN"),
        ("raw_live/products", "volume"): (False, "WARN"),
    }


# --- every asset materialised ------------------------------------------------------------


@pytest.mark.slow
def test_materialising_every_asset_builds_every_mart(built: Built):
    result = built.result
    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    marts = {f"marts/{p.stem}" for p in (PROJECT_DIR / "models" / "marts").glob("*.sql")}
    assert marts <= materialised
    assert {
        "raw_archive/transactions",
        "raw_live/transactions",
        "raw_files/surveys",
    } <= materialised
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 100
    failed_errors = [e for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    assert not failed_errors, failed_errors[:3]


@pytest.mark.slow
def test_the_marts_equal_the_oracle_and_the_run_is_audited(built: Built):
    oracle = Oracle(SOURCES)
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        assert_same_rows(
            "marts.fct_transactions",
            table(con, "marts.fct_transactions"),
            oracle.fct_transactions,
            ["transaction_id"],
            ["customer_id", "product_code", "order_date", "total_amount", "territory", "status"],
        )
        assert_same_rows(
            "marts.monthly_summary",
            table(con, "marts.monthly_summary"),
            oracle.monthly_summary,
            ["year_number", "month_number"],
            ["total_sales", "total_refunds", "net_revenue", "order_count", "unique_customers"],
        )
        runs = con.execute("select command, status from audit.pipeline_runs").fetchall()
    run_id = built.result.run_id
    assert [(command.split(" (")[0], status) for command, status in runs] == [
        (f"dagster run {run_id}", "ok")
    ]


# --- the schedule and the sensor --------------------------------------------------------


def test_the_daily_schedule_takes_its_time_and_timezone_from_the_settings(monkeypatch):
    from dagster import build_schedule_context

    from medallion.orchestration import automation
    from medallion.settings import ConfigError

    job = automation.run_job(_any_asset())
    monkeypatch.setenv("MEDALLION_SCHEDULE", "30 4 * * *")
    monkeypatch.setenv("MEDALLION_SCHEDULE_TIMEZONE", "Europe/Paris")
    schedule = automation.daily_schedule(job)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 4 * * *", "Europe/Paris")
    requests = schedule.evaluate_tick(build_schedule_context()).run_requests
    assert len(requests) == 1 and schedule.job_name == automation.JOB_NAME
    monkeypatch.delenv("MEDALLION_SCHEDULE")
    monkeypatch.delenv("MEDALLION_SCHEDULE_TIMEZONE")
    default = automation.daily_schedule(job)
    assert (default.cron_schedule, default.execution_timezone) == ("0 2 * * *", "UTC")
    monkeypatch.setenv("MEDALLION_SCHEDULE", "every night")
    with pytest.raises(ConfigError, match="MEDALLION_SCHEDULE is not a cron schedule"):
        automation.daily_schedule(job)
    monkeypatch.setenv("MEDALLION_SCHEDULE", "0 2 * * *")
    monkeypatch.setenv("MEDALLION_SCHEDULE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="MEDALLION_SCHEDULE_TIMEZONE"):
        automation.daily_schedule(job)


def _any_asset() -> Any:
    from dagster import asset

    @asset
    def placeholder_asset() -> None:
        return None

    return placeholder_asset


@pytest.mark.parametrize("scheme", ["local", "memory"])
def test_a_new_landing_file_requests_one_run_and_the_same_file_none(
    scheme: str, tmp_path: Path, monkeypatch
):
    """Any fsspec URL: a local folder, and fsspec's in-memory file system."""
    import fsspec
    from dagster import build_sensor_context

    from medallion.orchestration import automation

    if scheme == "local":
        bucket = str(tmp_path / "landing")
        (tmp_path / "landing" / "surveys").mkdir(parents=True)
    else:
        bucket = f"memory://landing-{os.getpid()}"
    fs, root = fsspec.core.url_to_fs(bucket)
    fs.pipe(f"{root}/surveys/2024-Q1.csv", b"a,b\n1,2\n")
    for name in ("ARCHIVE", "LIVE"):
        monkeypatch.setenv(f"SOURCES__{name}__CREDENTIALS", f"sqlite:///{tmp_path}/{name}.db")
    monkeypatch.setenv("SOURCES__FILES__BUCKET_URL", bucket)
    sensor = automation.landing_sensor(automation.run_job(_any_asset()))

    def tick(cursor: str | None) -> Any:
        return sensor.evaluate_tick(build_sensor_context(cursor=cursor))

    first = tick(None)  # what is there when the sensor starts is recorded, not run
    assert first.run_requests == [] and first.cursor
    assert tick(first.cursor).run_requests == []
    fs.pipe(f"{root}/surveys/2024-Q2.csv", b"a,b\n3,4\n")
    fs.pipe(f"{root}/notes.txt", b"not a landing file")  # matches no file pattern
    landed = tick(first.cursor)
    assert len(landed.run_requests) == 1
    assert "2024-Q2.csv" in landed.run_requests[0].tags["landing_files"]
    assert tick(landed.cursor).run_requests == []  # the same file again: none
    fs.pipe(f"{root}/surveys/2024-Q2.csv", b"a,b\n3,4\n5,6\n")  # sent again, changed
    again = tick(landed.cursor)
    assert len(again.run_requests) == 1
    assert again.run_requests[0].run_key != landed.run_requests[0].run_key
    assert tick(landed.cursor).run_requests[0].run_key == again.run_requests[0].run_key
    # sent back as it was first: the size seen before, but a change since the last listing
    fs.pipe(f"{root}/surveys/2024-Q2.csv", b"a,b\n3,4\n")
    back = tick(again.cursor)
    assert len(back.run_requests) == 1
    assert back.run_requests[0].run_key not in {
        landed.run_requests[0].run_key,
        again.run_requests[0].run_key,
    }
    if scheme == "memory":
        fs.rm(root, recursive=True)


@pytest.mark.parametrize("value", ["5", "100000", "soon"])
def test_a_sensor_interval_out_of_range_names_the_setting(value: str, monkeypatch):
    from medallion.orchestration import automation
    from medallion.settings import ConfigError

    job = automation.run_job(_any_asset())
    monkeypatch.setenv("MEDALLION_SENSOR_INTERVAL", "120")
    assert automation.landing_sensor(job).minimum_interval_seconds == 120
    monkeypatch.setenv("MEDALLION_SENSOR_INTERVAL", value)
    with pytest.raises(ConfigError, match="MEDALLION_SENSOR_INTERVAL must be"):
        automation.landing_sensor(job)


# --- retries and the failure alert ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEDALLION_RETRIES", "three"),
        ("MEDALLION_RETRIES", "-1"),
        ("MEDALLION_RETRIES", "21"),
        ("MEDALLION_RETRY_SECONDS", "nan"),
        ("MEDALLION_RETRY_SECONDS", "7200"),
    ],
)
def test_a_bad_retry_setting_names_itself(name: str, value: str, monkeypatch):
    from medallion.orchestration.automation import retry_or_fail, retry_settings
    from medallion.settings import ConfigError

    monkeypatch.setenv("MEDALLION_RETRIES", "2")
    monkeypatch.setenv("MEDALLION_RETRY_SECONDS", "5")
    assert retry_settings() == (2, 5.0)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} must be"):
        retry_settings()
    with pytest.raises(ConfigError, match=name):  # the step fails on the setting itself
        retry_or_fail(ConnectionRefusedError(111, "Connection refused"), 0)


def test_an_unreachable_webhook_is_logged_and_the_failure_kept(monkeypatch):
    from dagster import DagsterInstance, job, op

    from medallion.orchestration.alerts import alert_on_failure

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("MEDALLION_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hooks/medallion")

    @op
    def failing_step() -> None:
        raise RuntimeError("the live source is unreachable")

    @job(hooks={alert_on_failure})
    def failing_job() -> None:
        failing_step()

    instance = DagsterInstance.ephemeral()
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = _events(result, "STEP_FAILURE")[0].event_specific_data.error.to_string()
    assert "the live source is unreachable" in failure  # the step's own error, kept
    hooks = [
        event.event_type_value for event in result.all_events if "HOOK" in event.event_type_value
    ]
    assert hooks == ["HOOK_COMPLETED"]  # the hook ran and did not fail
    logs = [record.user_message for record in instance.all_logs(result.run_id)]
    assert any("The failure alert could not be sent" in message for message in logs)


class Webhook:
    """A local HTTP server that keeps every POST body."""

    def __init__(self) -> None:
        bodies: list[bytes] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/medallion"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


def _execute(built: Built, monkeypatch, selection: Any = None, **env: str) -> Any:
    from dagster import DagsterInstance

    from medallion.orchestration.automation import JOB_NAME

    # no alert reaches a webhook the developer configured (.dlt/secrets.toml) unless asked
    quiet = {"MEDALLION_ALERT_WEBHOOK_URL": "", "ALERTS__WEBHOOK_URL": ""}
    for key, value in {**built.env, **quiet, **env}.items():
        monkeypatch.setenv(key, value)
    with DagsterInstance.ephemeral() as instance:
        job = built.defs.resolve_job_def(JOB_NAME)
        return job.execute_in_process(
            instance=instance, raise_on_error=False, asset_selection=selection
        )


def _events(result: Any, kind: str) -> list[Any]:
    return [e for e in result.all_events if e.event_type_value == kind]


@pytest.mark.slow
def test_a_refused_source_is_retried_with_backoff_then_alerted_without_its_password(
    built: Built, webhook: Webhook, monkeypatch
):
    refused = "mysql+pymysql://reader:s3cret-pw@127.0.0.1:1/live"
    result = _execute(
        built,
        monkeypatch,
        SOURCES__LIVE__CREDENTIALS=refused,
        MEDALLION_RETRIES="2",
        MEDALLION_RETRY_SECONDS="0.2",
        MEDALLION_ALERT_WEBHOOK_URL=webhook.url,
    )
    assert not result.success
    retries = _events(result, "STEP_UP_FOR_RETRY")
    assert len(retries) == 2
    waits = [e.event_specific_data.seconds_to_wait for e in retries]
    assert waits == [0.2, 0.4]  # doubling
    assert len(_events(result, "STEP_FAILURE")) == 1
    assert len(webhook.bodies) == 1
    body = webhook.bodies[0].decode()
    assert "s3cret-pw" not in body
    message = json.loads(body)
    assert result.run_id in message["text"] and "medallion_run" in message["text"]
    assert "Cannot read the live database" in message["text"]
    assert "2003" in message["text"] or "refused" in message["text"].lower()
    assert "\n" not in message["text"]


@pytest.mark.slow
def test_a_structural_failure_is_not_retried_and_no_alert_without_a_url(
    built: Built, webhook: Webhook, monkeypatch
):
    result = _execute(built, monkeypatch, MEDALLION_MAX_BAD_ROW_SHARE="5", MEDALLION_RETRIES="3")
    assert not result.success
    assert _events(result, "STEP_UP_FOR_RETRY") == []
    assert webhook.bodies == []  # MEDALLION_ALERT_WEBHOOK_URL is not set
    with_url = _execute(
        built,
        monkeypatch,
        MEDALLION_MAX_BAD_ROW_SHARE="5",
        MEDALLION_ALERT_WEBHOOK_URL=webhook.url,
    )
    assert _events(with_url, "STEP_UP_FOR_RETRY") == []
    assert len(webhook.bodies) == 1
    text = json.loads(webhook.bodies[0])["text"]
    assert "MEDALLION_MAX_BAD_ROW_SHARE must be a share between 0 and 1" in text


@pytest.mark.slow
def test_the_target_is_the_command_lines_setting(built: Built, monkeypatch):
    """MEDALLION_TARGET=mysql reaches the run: the MySQL warehouse's own setting is read
    (and refused here, before anything is loaded)."""
    result = _execute(
        built, monkeypatch, MEDALLION_TARGET="mysql", MEDALLION_MYSQL_PORT="not-a-port"
    )
    assert not result.success
    failure = _events(result, "STEP_FAILURE")[0].event_specific_data.error
    assert "MEDALLION_MYSQL_PORT is not a port number" in failure.to_string()


@pytest.mark.slow
def test_part_of_the_graph_is_refused_with_what_to_select(built: Built, monkeypatch):
    """Materialising one asset (the UI's button on a single mart) is refused before
    anything is loaded, saying what to select instead."""
    from dagster import AssetKey

    mart = next(
        key
        for key in built.defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[-1] == "customer_segments"
    )
    assert isinstance(mart, AssetKey)
    result = _execute(built, monkeypatch, selection=[mart])
    assert not result.success
    failure = _events(result, "STEP_FAILURE")[0].event_specific_data.error.to_string()
    assert "were left out of the selection" in failure
    assert "medallion_run_job" in failure
    assert _events(result, "ASSET_MATERIALIZATION") == []


def test_the_transient_rule():
    from medallion.orchestration.automation import is_transient
    from medallion.quality import QualityFailed
    from medallion.settings import ConfigError

    assert is_transient(ConnectionRefusedError(111, "Connection refused"))
    try:
        try:
            raise OSError("(2013, 'Lost connection to MySQL server during query')")
        except OSError as exc:
            raise RuntimeError("The live pipeline failed at its extract step") from exc
    except RuntimeError as chained:
        assert is_transient(chained)
    assert not is_transient(ConfigError("MEDALLION_MYSQL_PORT is not a port number"))
    assert not is_transient(QualityFailed("raw_live.transactions: lost connection rows"))
    assert not is_transient(RuntimeError("Tables configured in include_tables not found"))


# --- the webserver ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_webserver_serves_the_asset_graph_over_graphql(built: Built, tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "medallion" / "orchestration" / "dagster.yaml", home)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "MEDALLION_"))},
        **built.env,
        "DAGSTER_HOME": str(home),
    }
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    query = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
    try:
        nodes = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": query}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    nodes = json.load(response)["data"]["assetNodes"]
                if nodes:
                    break
            except (OSError, KeyError, TypeError):
                pass
            time.sleep(1)
        assert nodes, f"no asset graph from the webserver: {server.poll()}"
        graph = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in nodes
        }
        assert "raw_live/transactions" in ancestors(graph, "marts/fct_transactions")
        assert "marts/customer_segments" in graph["powerbi/customer_segments_dashboard"]
        assert graph_keys(built).keys() <= graph.keys()
        look_at_the_page(f"http://127.0.0.1:{port}/asset-groups", tmp_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def look_at_the_page(url: str, tmp_path: Path) -> None:
    """Headless Chromium (the system's, `make chromium`) renders the UI's lineage page:
    the page's script ran and drew the groups; and takes the screenshot the docs show
    (docs/images/dagster-asset-graph.png is one such)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("Chromium is not installed: `make chromium` (apt-get install chromium)")
    common = [
        browser,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1600,1000",
        "--virtual-time-budget=20000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert "Global asset lineage" in dom
    for group in ("bronze", "silver", "gold", "powerbi"):
        assert f">{group}<" in dom, group
    assert "Join the Dagster community" not in dom  # nux off: no page from dagster.io
    shot = tmp_path / "asset-graph.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=False
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


# --- the slim CI build ------------------------------------------------------------------


def _medallion(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "medallion"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_the_slim_build_builds_only_the_changed_model_and_its_children(
    built: Built, tmp_path: Path
):
    state = tmp_path / "prod_state"
    state.mkdir()
    manifest = json.loads((Path(built.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    shutil.copy(Path(built.env["DBT_TARGET_PATH"]) / "manifest.json", state)
    change = tmp_path / "change"
    for name in ("models", "macros", "seeds", "snapshots", "tests"):
        shutil.copytree(PROJECT_DIR / name, change / name)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, change / name)
    model = change / "models" / "marts" / "customer_segments.sql"
    model.write_text(model.read_text() + "\n-- reviewed in a pull request\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "MEDALLION_"))},
        **built.env,
        "DBT_TARGET_PATH": str(tmp_path / "ci_target"),
        "COLUMNS": "250",
    }
    done = _medallion(["slim", "--state", str(state), "--project-dir", str(change)], env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

    # only it and its children, from the manifest's own graph
    uid = "model.medallion.customer_segments"
    children, todo = {uid}, [uid]
    while todo:
        for child in manifest["child_map"][todo.pop()]:
            if child.startswith(("model.", "snapshot.")) and child not in children:
                children.add(child)
                todo.append(child)
    assert f"Slim build: {len(children)} node(s) built" in done.stdout
    assert len(children) < len(
        [n for n in manifest["nodes"] if n.startswith(("model.", "snapshot.", "seed."))]
    )
    results = json.loads((tmp_path / "ci_target" / "run_results.json").read_text())["results"]
    built_nodes = {r["unique_id"] for r in results if not r["unique_id"].startswith("test.")}
    assert built_nodes == children
    assert {r["status"] for r in results} <= {"success", "pass"}
    tested = {r["unique_id"] for r in results if r["unique_id"].startswith("test.")}
    assert tested and all(
        set(manifest["nodes"][t]["depends_on"]["nodes"]) & children for t in tested
    )
    # the unchanged parents were read where the base build left them (this scratch
    # warehouse holds the base build, as CI's does): the changed mart holds the same rows
    # as the oracle's segments
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        segments = con.execute("select count(*) from marts.customer_segments").fetchone()[0]
    assert segments == len(Oracle(SOURCES).customer_segments)

    nothing = _medallion(["slim", "--state", str(tmp_path / "nowhere")], env)
    assert nothing.returncode != 0
    assert "No production manifest in" in nothing.stdout
    broken = tmp_path / "broken_state"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"nodes": {')  # cut short in a copy
    unreadable = _medallion(["slim", "--state", str(broken)], env)
    assert unreadable.returncode != 0
    assert "manifest.json is not a dbt manifest" in unreadable.stdout


# --- the users' CI workflow -------------------------------------------------------------


def test_the_ci_workflow_passes_its_linter_which_catches_a_broken_one(tmp_path: Path):
    import yaml

    workflow = PROJECT_DIR / ".github" / "workflows" / "dbt.yml"
    lint = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    checked = subprocess.run([*lint, str(workflow)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.read_text().replace("runs-on:", "runs_on:", 1))
    refused = subprocess.run([*lint, str(broken)], capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "runs_on" in refused.stdout

    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    scripts = {name: " ".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert "make lint" in scripts["lint"]
    assert "medallion build --force" in scripts["build-duckdb"]
    assert jobs["build-mariadb"]["services"]["mariadb"]["image"].startswith("mariadb:")
    assert "medallion build --target mysql --force" in scripts["build-mariadb"]
    assert 'medallion slim --state "$GITHUB_WORKSPACE/ci/base-target"' in scripts["slim"]

"""Secrets and telemetry: no password in any output, no library phoning home.

The pipeline runs against the real MariaDB with passwords made for this test: a source
login (only ``select`` on MySQL source databases written by ``medallion demo``'s
generator), a warehouse login (``MEDALLION_MYSQL_PASSWORD``), the BI account's
password and a wrong one. Every command a user runs (run, validate, docs, bi grant,
export, and runs that fail on a wrong password) is then searched, and so is everything
they left behind: dbt's logs and target folder with the docs site, the Great
Expectations Data Docs, dlt's pipeline folders, the export, every table of the
warehouse (dlt's compressed state decoded), and any file the run changed in the
project. Telemetry is checked on the libraries' own effective settings, in a
``medallion`` process started without the Makefile's variables.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, PROJECT_DIR, drop_databases, pipeline_env, run_cli

from medallion.demo import generate_demo

pytestmark = [pytest.mark.mysql, pytest.mark.slow]  # builds the whole project

SERVER_URL = f"mysql+pymysql://{MYSQL['user']}@{MYSQL['host']}:{MYSQL['port']}"


@dataclass
class Secrets:
    """The test's passwords (and its logins and prefix)."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("source", "warehouse", "bi", "wrong"):
            self.values[name] = f"{name.capitalize()}Pw{uuid.uuid4().hex}"

    @property
    def prefix(self) -> str:
        return f"t{self.tag}_"

    def user(self, role: str) -> str:
        return f"{role}_{self.tag}"

    def found_in(self, text: str) -> list[str]:
        """Which secrets ``text`` holds, whole or any 16 characters of their random part."""
        return [
            name
            for name, secret in self.values.items()
            if secret in text or any(secret[i : i + 16] in text for i in range(8, 24, 4))
        ]


@dataclass
class Scenario:
    secrets: Secrets
    tmp: Path
    env: dict[str, str]
    outputs: dict[str, str]
    started: float


def _admin(**kwargs: Any) -> pymysql.Connection:
    return pymysql.connect(**MYSQL, autocommit=True, **kwargs)


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory, mysql_server: dict[str, Any]
) -> Iterator[Scenario]:
    """Logins with known passwords; the MySQL demo sources; every command run once."""
    started = time.time()
    secrets = Secrets()
    tmp = tmp_path_factory.mktemp("secrets")
    prefix = secrets.prefix
    try:
        demo = generate_demo(
            tmp / "demo", seed=7, scale=0.05, mysql_url=SERVER_URL, database_prefix=f"{prefix}src_"
        )
        conn = _admin()
        try:
            with conn.cursor() as cursor:
                for role in ("source", "warehouse"):
                    cursor.execute(
                        "create user %s@'%%' identified by %s",
                        (secrets.user(role), secrets.values[role]),
                    )
                for database in ("archive", "live"):
                    cursor.execute(
                        f"grant select on `{prefix}src_{database}`.* to %s@'%%'",
                        (secrets.user("source"),),
                    )
                # the warehouse login creates databases and manages the BI account (a
                # grant on a `prefix\_%` pattern cannot be passed on to `prefix_marts`)
                cursor.execute(
                    "grant all privileges on *.* to %s@'%%' with grant option",
                    (secrets.user("warehouse"),),
                )
        finally:
            conn.close()

        def source_url(database: str, password: str) -> str:
            return (
                f"mysql+pymysql://{secrets.user('source')}:{password}@{MYSQL['host']}:"
                f"{MYSQL['port']}/{prefix}src_{database}"
            )

        env = pipeline_env(
            tmp,
            source_url("archive", secrets.values["source"]),
            source_url("live", secrets.values["source"]),
            demo.landing_dir,
        )
        env.update(
            {
                "MEDALLION_SCHEMA_PREFIX": prefix,
                "MEDALLION_MYSQL_USER": secrets.user("warehouse"),
                "MEDALLION_MYSQL_PASSWORD": secrets.values["warehouse"],
                "MEDALLION_BI_USER": secrets.user("bi"),
                "MEDALLION_BI_PASSWORD": secrets.values["bi"],
                "MEDALLION_DEMO_DIR": str(tmp / "demo"),
            }
        )
        wrong_source = {
            **env,
            "SOURCES__LIVE__CREDENTIALS": source_url("live", secrets.values["wrong"]),
        }
        wrong_warehouse = {**env, "MEDALLION_MYSQL_PASSWORD": secrets.values["wrong"]}
        out = tmp / "out"
        commands = {
            "run": (["run", "--target", "mysql"], env, 0),
            "docs": (["docs", "--target", "mysql"], env, 0),
            "bi grant": (["bi", "grant", "--pbids", str(out / "marts.pbids")], env, 0),
            "export": (["export", "--target", "mysql", "--out", str(out / "export")], env, 0),
            "ingest, wrong source password": (["ingest", "--target", "mysql"], wrong_source, 1),
            "build, wrong warehouse password": (["build", "--target", "mysql"], wrong_warehouse, 1),
            "validate, wrong warehouse password": (
                ["validate", "--target", "mysql"],
                wrong_warehouse,
                1,
            ),
            "bi grant, wrong warehouse password": (["bi", "grant"], wrong_warehouse, None),
        }
        outputs = {}
        for name, (args, command_env, expect) in commands.items():
            result = run_cli(args, command_env, expect=expect)
            if expect is None:
                assert result.returncode != 0, f"{name} succeeded with a wrong password"
            outputs[name] = result.stdout + "\n" + result.stderr
        yield Scenario(secrets, tmp, env, outputs, started)
    finally:
        drop_databases(prefix, users=tuple(secrets.user(r) for r in ("source", "warehouse", "bi")))


# --- reading every output ------------------------------------------------------------


def readable_forms(path: Path) -> Iterator[str]:
    """The text of a file as a reader would get it: raw bytes, decompressed, or the
    values of a Parquet file."""
    data = path.read_bytes()
    yield data.decode("utf-8", "replace")
    yield data.decode("latin-1")
    if data[:2] == b"\x1f\x8b":
        yield gzip.decompress(data).decode("utf-8", "replace")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        yield json.dumps(pq.read_table(path).to_pylist(), default=str)


def leaks_in_files(secrets: Secrets, roots: list[Path], since: float = 0.0) -> dict[str, list]:
    leaks: dict[str, list] = {}
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.stat().st_mtime < since:
                continue
            if any(
                part in (".venv", ".git", "__pycache__", ".pytest_cache") for part in path.parts
            ):
                continue
            for text in readable_forms(path):
                if found := secrets.found_in(text):
                    leaks[str(path)] = found
                    break
    return leaks


def decoded(value: Any) -> list[str]:
    """A warehouse value as text, and as dlt's compressed state (base64 of zlib)."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("latin-1")
    text = str(value)
    forms = [text]
    with contextlib.suppress(ValueError, zlib.error, UnicodeDecodeError):
        forms.append(zlib.decompress(base64.b64decode(text, validate=True)).decode())
    return forms


def test_no_command_prints_a_password(scenario: Scenario) -> None:
    leaks = {
        name: scenario.secrets.found_in(output)
        for name, output in scenario.outputs.items()
        if scenario.secrets.found_in(output)
    }
    assert not leaks, leaks
    # the failures are still explained: which source, what went wrong
    ingest = scenario.outputs["ingest, wrong source password"]
    assert "live" in ingest and "Access denied" in ingest, ingest[-2000:]
    assert "Access denied" in scenario.outputs["build, wrong warehouse password"]
    assert "Traceback" not in "".join(scenario.outputs.values())


def test_no_file_written_by_the_run_holds_a_password(scenario: Scenario) -> None:
    """dbt's logs and target (the docs site too), the Data Docs, dlt's pipeline folders,
    the export and the .pbids file, and whatever changed in the project folder."""
    tmp = scenario.tmp
    written = {path.name for path in tmp.rglob("*") if path.is_file()}
    # the places searched are really there (a search of nothing proves nothing)
    assert {"dbt.log", "manifest.json", "static_index.html", "index.html"} <= written
    assert {"state.json", "trace.pickle", "marts.pbids", "dim_customer.parquet"} <= written
    assert list(Path(scenario.env["MEDALLION_DUCKDB_PATH"]).parent.glob("data_docs*/index.html"))
    leaks = leaks_in_files(scenario.secrets, [tmp])
    leaks |= leaks_in_files(scenario.secrets, [PROJECT_DIR], since=scenario.started)
    dlt_home = [Path.home() / ".dlt", Path.home() / ".local" / "share" / "dlt"]
    leaks |= leaks_in_files(
        scenario.secrets, [p for p in dlt_home if p.is_dir()], since=scenario.started
    )
    assert not leaks, leaks


def test_no_table_of_the_warehouse_holds_a_password(scenario: Scenario) -> None:
    """Every value of every table the pipeline wrote (raw with dlt's state, staging,
    snapshots, marts, restricted, quarantine, audit)."""
    prefix = scenario.secrets.prefix
    conn = _admin()
    leaks, tables = [], 0
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema like %s and table_schema not like %s",
                (prefix.replace("_", "\\_") + "%", prefix.replace("_", "\\_") + "src\\_%"),
            )
            for schema, table in cursor.fetchall():
                tables += 1
                with conn.cursor(pymysql.cursors.SSCursor) as rows:
                    rows.execute(f"select * from `{schema}`.`{table}`")
                    for row in rows:
                        text = "\n".join(form for value in row for form in decoded(value))
                        if found := scenario.secrets.found_in(text):
                            leaks.append((schema, table, found))
                            break
    finally:
        conn.close()
    assert tables > 30
    assert not leaks, leaks


def test_the_search_finds_a_password_where_there_is_one(scenario: Scenario) -> None:
    """The search itself works: a file and a compressed state holding a secret are found."""
    secrets = scenario.secrets
    probe = scenario.tmp / "probe"
    probe.mkdir()
    (probe / "plain.log").write_text(f"user:{secrets.values['source']}@host")
    (probe / "packed.gz").write_bytes(gzip.compress(secrets.values["bi"].encode()))
    assert leaks_in_files(secrets, [probe]) == {
        str(probe / "plain.log"): ["source"],
        str(probe / "packed.gz"): ["bi"],
    }
    state = base64.b64encode(zlib.compress(json.dumps({"x": secrets.values["warehouse"]}).encode()))
    assert secrets.found_in("\n".join(decoded(state.decode()))) == ["warehouse"]
    assert secrets.found_in(secrets.values["wrong"][:-6] + "***") == ["wrong"]


def test_redact_hides_url_and_key_value_passwords() -> None:
    """DuckDB's MySQL scanner repeats its key=value connection string in its errors;
    URLs carry theirs between ':' and '@'."""
    from medallion.settings import redact

    secret = "pa55-w0rd"
    for text in (
        f"mysql+pymysql://reader:{secret}@db:3306/live refused",
        f"Failed to connect: host=db user=reader password={secret} database=live",
        f"host=db PASSWORD = '{secret} x' port=3306",
    ):
        shown = redact(text)
        assert secret not in shown and "***" in shown
    assert redact("host=db user=reader port=3306") == "host=db user=reader port=3306"


# --- telemetry -------------------------------------------------------------------------

TELEMETRY_VARIABLES = (
    "DBT_SEND_ANONYMOUS_USAGE_STATS",
    "RUNTIME__DLTHUB_TELEMETRY",
    "GX_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
)

# `medallion` is `medallion.cli:entry`, which runs `main`; this runs `main` in a
# process of its own, then reads the settings dbt, dlt and GX actually used in it.
TELEMETRY_PROBE = """
import json, os, sys
from medallion import cli
assert cli.main(["demo", "--scale", "0.05"]) == 0
assert cli.main(["ingest"]) == 0                      # dlt
assert cli.main(["validate", "--layer", "raw"]) == 0  # Great Expectations
assert cli.main(["docs"]) == 0                        # dbt (parses and compiles all)
from dbt import tracking
from dbt.flags import get_flags
from dlt.common.runtime import anon_tracker
from dlt.common.runtime.run_context import active
from medallion import quality
print("TELEMETRY " + json.dumps({
    "dbt_send_anonymous_usage_stats": bool(get_flags().SEND_ANONYMOUS_USAGE_STATS),
    "dbt_tracking": None if tracking.active_user is None else not tracking.active_user.do_not_track,
    "dlt_dlthub_telemetry": active().runtime_config.dlthub_telemetry,
    "dlt_tracker_endpoint": anon_tracker._ANON_TRACKER_ENDPOINT,
    "gx_analytics": [c.variables.analytics_enabled for c in quality._CONTEXTS.values()],
}))
"""


def test_telemetry_is_off_without_the_makefile_variables(tmp_path: Path) -> None:
    env = pipeline_env(tmp_path, "", "", "")
    for name in ("SOURCES__ARCHIVE__CREDENTIALS", "SOURCES__LIVE__CREDENTIALS"):
        env.pop(name)
    env.pop("SOURCES__FILES__BUCKET_URL")
    for name in TELEMETRY_VARIABLES:
        env.pop(name, None)
    env["MEDALLION_DEMO_DIR"] = str(tmp_path / "demo")
    result = subprocess.run(
        [sys.executable, "-c", TELEMETRY_PROBE],
        cwd=tmp_path,  # not the project folder: nothing read from the working directory
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("TELEMETRY "))
    settings = json.loads(line.removeprefix("TELEMETRY "))
    assert settings == {
        "dbt_send_anonymous_usage_stats": False,
        "dbt_tracking": False,
        "dlt_dlthub_telemetry": False,
        "dlt_tracker_endpoint": None,
        "gx_analytics": [False],
    }
    assert not set(TELEMETRY_VARIABLES) & set(env)

"""Publishing (``medallion/publish.py``): readers see the marts of the last good build,
all of them from the same build, and never a missing, half-built or failed mart.

DuckDB: the published marts are a file of their own, replaced whole by a rename; a
process holding it open read-only blocks nothing and keeps its snapshot. MySQL: dbt
builds in ``marts_build``, one ``RENAME TABLE`` swaps every mart into ``marts``; readers
querying in a loop during a build see no error and no empty mart. A run that fails
(a failing dbt test, a kill half-way through the build) leaves the published marts
byte for byte (DuckDB) or row for row (MySQL) as they were.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest
from pipeline_helpers import (
    MYSQL,
    PROJECT_DIR,
    change_one_live_sale,
    drop_databases,
    pipeline_env,
    query,
    run_cli,
)

from medallion.demo import generate_demo

pytestmark = pytest.mark.slow


def published_path(env: dict[str, str]) -> Path:
    warehouse = Path(env["MEDALLION_DUCKDB_PATH"])
    prefix = env.get("MEDALLION_SCHEMA_PREFIX", "")
    return warehouse.with_name(f"{warehouse.stem}_{prefix}marts.duckdb")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_rows(path: Path | str, schema: str) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        names = conn.execute(
            "select table_name from information_schema.tables where table_schema = ?"
            " and table_catalog = current_database()",
            [schema],
        ).fetchall()
        return {
            name: sorted(conn.execute(f'select * from "{schema}"."{name}"').fetchall(), key=repr)
            for (name,) in names
        }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sources = tmp_path_factory.mktemp("publish") / "sources"
    generate_demo(sources, seed=11, scale=0.25)
    return sources


def fresh_env(demo: Path, tmp: Path) -> dict[str, str]:
    sources = tmp / "sources"
    shutil.copytree(demo, sources)
    return pipeline_env(
        tmp,
        f"sqlite:///{sources / 'archive.sqlite'}",
        f"sqlite:///{sources / 'live.sqlite'}",
        sources / "landing",
    )


# --- DuckDB -------------------------------------------------------------------------------


def test_a_run_publishes_every_mart_and_a_reader_holding_the_file_blocks_nothing(
    demo: Path, tmp_path: Path
) -> None:
    env = fresh_env(demo, tmp_path)
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    published = published_path(env)

    first = run_cli(["run"], env)

    assert "Published 12 marts" in " ".join(first.stdout.split()), first.stdout[-3000:]
    assert schema_rows(published, "marts") == schema_rows(warehouse, "marts")
    inode = published.stat().st_ino

    # a reader (another process, as a BI tool) holds the published file open read-only
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"conn = duckdb.connect({str(published)!r}, read_only=True)\n"
            "print('open', flush=True)\n"
            "line = sys.stdin.readline()\n"
            "print(conn.execute('select quantity from marts.fct_transactions"
            " where transaction_id = ?', [int(line)]).fetchone()[0], flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        live = tmp_path / "sources" / "live.sqlite"
        transaction_id, before, quantity = change_one_live_sale(live, warehouse)

        second = run_cli(["run"], env)  # exit 0 with the reader still holding the file

        assert "Published 12 marts" in " ".join(second.stdout.split())
        reader.stdin.write(f"{transaction_id}\n")
        reader.stdin.flush()
        # it still reads the file it opened: the quantity before the change
        assert int(reader.stdout.readline()) == before
    finally:
        reader.kill()
        reader.wait()
    assert published.stat().st_ino != inode  # a new file, moved into place
    # a new connection sees the new marts
    assert query(
        published,
        f"select quantity from marts.fct_transactions where transaction_id = {transaction_id}",
    ) == [(quantity,)]
    assert schema_rows(published, "marts") == schema_rows(warehouse, "marts")
    assert not [p.name for p in published.parent.iterdir() if p.name.endswith(".tmp")]

    status = run_cli(["status"], env)
    assert "Published marts: 12 marts" in " ".join(status.stdout.split())


def copy_project(tmp: Path) -> Path:
    """The project (dbt files, the Python packages, the checks) in a folder of its own,
    so a test can add a dbt test to it without touching the repository."""
    project = tmp / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "pyproject.toml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for folder in ("models", "macros", "seeds", "snapshots", "quality", "ingestion", "medallion"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    shutil.copytree(PROJECT_DIR / "tests" / "singular", project / "tests" / "singular")
    shutil.copytree(PROJECT_DIR / ".dlt", project / ".dlt")
    return project


def run_project(project: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medallion.cli", *args],
        cwd=project,
        env={**env, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_failing_test_or_a_killed_build_leaves_the_published_marts_as_they_were(
    demo: Path, tmp_path: Path
) -> None:
    env = fresh_env(demo, tmp_path)
    warehouse = env["MEDALLION_DUCKDB_PATH"]
    published = published_path(env)
    run_cli(["run"], env)
    before = digest(published)
    live = tmp_path / "sources" / "live.sqlite"

    # a dbt test that fails, in a copy of the project: the marts are rebuilt in the
    # warehouse with the changed row, the run fails, nothing is published
    project = copy_project(tmp_path)
    (project / "tests" / "singular" / "assert_nothing_is_ever_sold.sql").write_text(
        "select * from {{ ref('fct_transactions') }} where transaction_type = 'Sale'\n"
    )
    transaction_id, _, quantity = change_one_live_sale(live, warehouse)
    failed = run_project(project, ["run"], env)

    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    assert "assert_nothing_is_ever_sold" in failed.stdout
    assert "Published" not in failed.stdout
    assert query(  # the build area has the change: the marts were rebuilt there
        warehouse,
        f"select quantity from marts.fct_transactions where transaction_id = {transaction_id}",
    ) == [(quantity,)]
    assert digest(published) == before

    # killed half-way through a build of another change
    change_one_live_sale(live, warehouse)
    killed = run_cli(["run"], {**env, "MEDALLION_FAULT_AT": "dbt:monthly_summary"}, expect=None)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert digest(published) == before

    # the next good run publishes the marts of its build
    run_cli(["run"], env)
    assert digest(published) != before
    assert schema_rows(published, "marts") == schema_rows(warehouse, "marts")


def test_a_build_of_a_selection_publishes_nothing_and_export_reads_the_published_marts(
    demo: Path, tmp_path: Path
) -> None:
    # under a schema prefix: dbt builds prefix_marts, the published file is the
    # environment's own (<warehouse>_<prefix>marts.duckdb) with a schema `marts`
    env = {**fresh_env(demo, tmp_path), "MEDALLION_SCHEMA_PREFIX": "pfx_"}
    run_cli(["run"], env)
    published = published_path(env)
    before = digest(published)
    assert schema_rows(published, "marts") == schema_rows(env["MEDALLION_DUCKDB_PATH"], "pfx_marts")

    selected = run_cli(["build", "--select", "dim_date"], env)

    assert "Published" not in selected.stdout and digest(published) == before
    # the published file is what export reads: remove it and export says so
    exported = run_cli(["export", "--out", str(tmp_path / "export")], env)
    assert "fct_transactions.parquet" in exported.stdout
    published.unlink()
    missing = run_cli(["export", "--out", str(tmp_path / "export2")], env, expect=2)
    assert "No published marts" in " ".join(missing.stdout.split())
    # a run with nothing to build publishes again what is missing
    again = run_cli(["run"], env)
    assert "dbt build skipped" in " ".join(again.stdout.split())
    assert "Published 12 marts" in " ".join(again.stdout.split()) and published.exists()


# --- MySQL --------------------------------------------------------------------------------


def mysql_marts(schema: str) -> dict[str, list[tuple]]:
    conn = pymysql.connect(**MYSQL)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
            names = [name for (name,) in cursor.fetchall()]
            found = {}
            for name in names:
                cursor.execute(f"select * from `{schema}`.`{name}`")
                found[name] = sorted(cursor.fetchall(), key=repr)
            return found
    finally:
        conn.close()


class Readers:
    """Threads querying every mart in a loop, a new connection per query (as a BI
    refresh does), recording each error and each empty mart they see."""

    def __init__(self, schema: str, marts: list[str], threads: int = 3) -> None:
        self.schema, self.marts = schema, marts
        self.errors: list[str] = []
        self.empty: list[str] = []
        self.reads = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        while not self._stop.is_set():
            for mart in self.marts:
                try:
                    conn = pymysql.connect(**MYSQL, connect_timeout=5)
                    try:
                        with conn.cursor() as cursor:
                            cursor.execute(f"select count(*) from `{self.schema}`.`{mart}`")
                            if cursor.fetchone()[0] == 0:
                                self.empty.append(mart)
                    finally:
                        conn.close()
                    self.reads += 1
                except pymysql.MySQLError as exc:
                    self.errors.append(f"{mart}: {exc}")

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.mark.mysql
def test_mysql_readers_see_no_error_and_no_empty_mart_and_a_failed_build_publishes_nothing(
    demo: Path, tmp_path: Path, mysql_prefix: str
) -> None:
    env = {**fresh_env(demo, tmp_path), "MEDALLION_SCHEMA_PREFIX": mysql_prefix}
    published, built = f"{mysql_prefix}marts", f"{mysql_prefix}marts_build"
    run_cli(["run", "--target", "mysql"], env)
    marts = sorted(mysql_marts(published))
    assert len(marts) == 12 and mysql_marts(published) == mysql_marts(built)

    with Readers(published, marts) as readers:
        started = time.monotonic()
        run_cli(["build", "--target", "mysql", "--force"], env)
        seconds = time.monotonic() - started
    assert readers.errors == [] and readers.empty == []
    assert readers.reads >= len(marts) * 3, (readers.reads, seconds)  # they read throughout
    assert mysql_marts(published) == mysql_marts(built)
    assert not [t for t in mysql_marts(published) if t.endswith(("__next", "__prev"))]

    # a change, then a build killed after the fact was rebuilt in marts_build: the
    # published marts are row for row as they were
    before = mysql_marts(published)
    live = tmp_path / "sources" / "live.sqlite"
    with sqlite3.connect(live) as conn:
        conn.execute(
            "update transactions set quantity = quantity + 7, "
            "amount = round((quantity + 7) * unit_price, 2), updated_at = '2025-07-01 09:00:00'"
            " where transaction_id = (select min(transaction_id) from transactions"
            " where quantity > 0)"
        )
    killed = run_cli(
        ["run", "--target", "mysql"],
        {**env, "MEDALLION_FAULT_AT": "dbt:monthly_summary"},
        expect=None,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    assert mysql_marts(built)["fct_transactions"] != before["fct_transactions"]
    assert mysql_marts(published) == before

    # the BI account's grant on the schema holds across publications
    bi = {"MEDALLION_BI_USER": f"{mysql_prefix}bi", "MEDALLION_BI_PASSWORD": "Reader-pw-1"}
    try:
        run_cli(["bi", "grant", "--pbids", str(tmp_path / "m.pbids")], {**env, **bi})
        run_cli(["run", "--target", "mysql"], env)
        assert mysql_marts(published) == mysql_marts(built) != before
        conn = pymysql.connect(
            host=MYSQL["host"],
            port=MYSQL["port"],
            user=bi["MEDALLION_BI_USER"],
            password=bi["MEDALLION_BI_PASSWORD"],
        )
        try:
            with conn.cursor() as cursor:
                for mart in marts:
                    cursor.execute(f"select count(*) from `{published}`.`{mart}`")
                    assert cursor.fetchone()[0] > 0, mart
        finally:
            conn.close()
    finally:
        drop_databases("-no-database-", users=(bi["MEDALLION_BI_USER"],))


def test_publish_refuses_the_warehouse_file_as_its_own_target(tmp_path: Path, monkeypatch) -> None:
    from medallion import publish
    from medallion.settings import ConfigError

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("MEDALLION_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("MEDALLION_MARTS_PATH", str(warehouse))
    with pytest.raises(ConfigError, match="a file of their own"):
        publish.publish("duckdb")
    monkeypatch.delenv("MEDALLION_MARTS_PATH")
    assert publish.published_path() == tmp_path / "w_marts.duckdb"
    monkeypatch.setenv("MEDALLION_SCHEMA_PREFIX", "dev_")  # an environment of its own
    assert publish.published_path() == tmp_path / "w_dev_marts.duckdb"
    monkeypatch.setenv("MEDALLION_MARTS_PATH", "relative/m.duckdb")
    assert publish.published_path() == Path(os.getcwd()) / "relative" / "m.duckdb"

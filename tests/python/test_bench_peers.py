"""`medallion bench --peers` on a small table against the real MariaDB: every peer runs
for real (the wire, `medallion ingest --only archive`, plain dlt with connectorx, DuckDB's
MySQL scanner from its side environment), each landing is checked against the source's
rows and sum(amount) computed here row by row, and peers that land a row too few, a
changed amount or amounts as doubles are caught and reported as failed."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, run_cli, stops_running

from medallion.bench_peers import (
    PEER_RUNS,
    PEER_TABLE,
    PEERS,
    SHORT_TABLE_ROWS,
    BenchFailed,
    Peer,
    PeerSource,
    Truth,
    command_peer,
    failed_peers,
    measure_peers,
    peer_runs,
    peer_table,
    peers_markdown,
)
from medallion.settings import MySQLWarehouse

pytestmark = pytest.mark.mysql

ROWS = 20_000  # archive + live transaction lines asked of the demo


# A peer that copies the table with pymysql into DuckDB through Arrow, spoiled by SPOIL:
# "drop_row" leaves the last row out, "cent" adds a cent to one amount, "double" lands the
# amounts as doubles (what pandas' read_sql does), "none" copies faithfully.
PEER_SCRIPT = """\
import os, sys
import duckdb, pyarrow as pa, pymysql
from decimal import Decimal
out, host, port, user, database, table, spoil = sys.argv[1:8]
conn = pymysql.connect(host=host, port=int(port), user=user,
                       password=os.environ.get("MYSQL_PWD", ""), database=database)
with conn.cursor() as cursor:
    cursor.execute(f"select transaction_id, amount from `{table}` order by transaction_id")
    rows = list(cursor.fetchall())
if spoil == "drop_row":
    rows = rows[:-1]
if spoil == "cent":
    rows[0] = (rows[0][0], (rows[0][1] or Decimal(0)) + Decimal("0.01"))
amounts = [r[1] for r in rows]
if spoil == "double":
    amounts = pa.array([None if a is None else float(a) for a in amounts], pa.float64())
else:
    amounts = pa.array(amounts, pa.decimal128(12, 2))
arrow = pa.table({"transaction_id": [r[0] for r in rows], "amount": amounts})
db = duckdb.connect(out)
db.execute(f'create table "{table}" as select * from arrow')
db.close()
"""
SPOILS = ("drop_row", "cent", "double")


def oracle(database: str) -> tuple[int, Decimal]:
    """Rows and total amount of the source, added up here row by row."""
    conn = pymysql.connect(**MYSQL, database=database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"select amount from `{PEER_TABLE}`")
            amounts = [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()
    return len(amounts), sum((a for a in amounts if a is not None), Decimal(0))


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory, module_prefix: str) -> dict[str, Any]:
    """One `medallion bench --peers-only` at 20,000 lines, as a user runs it: every
    built-in peer, the script above faithful and spoiled three ways as `--peer`s, three
    alternating rounds (a small table); the databases kept for the oracle (the fixture
    drops them)."""
    tmp = tmp_path_factory.mktemp("peers")
    script = tmp / "peer_pymysql_copy.py"
    script.write_text(PEER_SCRIPT)
    command = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} "
        "{duckdb} {host} {port} {user} {database} {table}"
    )
    given = [f"pymysql_copy={command} none"] + [f"wrong_{s}={command} {s}" for s in SPOILS]
    out = tmp / "peers.json"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__", "MEDALLION_", "DBT_"))
    }
    done = run_cli(
        ["bench", "--peers-only", "--rows", str(ROWS), "--seed", "7", "--keep"]
        + ["--db-prefix", module_prefix, "--out", str(out), "--markdown"]
        + [arg for spec in given for arg in ("--peer", spec)],
        env,
        expect=None,
        timeout=900,
    )
    result = json.loads(out.read_text())
    shutil.rmtree(result["settings"]["work_dir"], ignore_errors=True)
    (size,) = result["sizes"]
    return {
        "done": done,
        "json": result,
        "result": size["peers"],
        "truth": Truth(size["peers"]["rows"], Decimal(size["peers"]["amount_sum"])),
        "archive": f"{module_prefix}s0_archive",
        "peers_db": f"{module_prefix}s0_peers",
    }


def by_name(peers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in peers["result"]["peers"]}


def test_the_peers_table_holds_the_archive_rows_and_amounts(peers: dict) -> None:
    """Every archive row is in the peers' table (its zero dates replaced, nothing
    dropped), and the truth the peers are checked against is the oracle's."""
    rows, total = oracle(peers["peers_db"])
    assert (rows, total) == oracle(peers["archive"])
    assert rows > 10_000
    assert peers["truth"].rows == rows
    assert peers["truth"].amount_sum == total
    assert peers["result"]["rows"] == rows
    assert Decimal(peers["result"]["amount_sum"]) == total


def test_every_real_peer_ran_and_landed_the_same_data(peers: dict) -> None:
    rows = by_name(peers)
    for name in [peer.name for peer in PEERS] + ["pymysql_copy"]:
        row = rows[name]
        assert row["ok"], f"{name}: {row['error']}"
        assert row["error"] is None
        assert len(row["runs_seconds"]) == 3  # a small table: three rounds, all timed
        assert row["seconds"] == min(row["runs_seconds"]) > 0
        assert row["checked"] is (name != "wire")
    assert peers["json"]["kind"] == "peers"
    assert peers["json"]["sizes"][0]["archive_transaction_rows"] == peers["truth"].rows


def test_figures_are_quotients_of_the_times(peers: dict) -> None:
    result = peers["result"]
    rows = by_name(peers)
    wire, project = rows["wire"]["seconds"], rows["project"]["seconds"]
    for row in rows.values():
        if not row["ok"]:
            assert row["seconds"] is None and row["rows_per_second"] is None
            continue
        assert row["rows_per_second"] == pytest.approx(result["rows"] / row["seconds"])
        assert row["share_of_wire"] == pytest.approx(wire / row["seconds"])
        assert row["speed_vs_project"] == pytest.approx(project / row["seconds"])
    assert rows["wire"]["share_of_wire"] == pytest.approx(1.0)
    assert rows["project"]["speed_vs_project"] == pytest.approx(1.0)


def test_wrong_peers_fail_loudly(peers: dict) -> None:
    rows = by_name(peers)
    truth = peers["truth"]
    expected = {
        "wrong_drop_row": f"{truth.rows - 1:,} rows where the source has {truth.rows:,}",
        "wrong_cent": f"where the source's is {truth.amount_sum}",
        "wrong_double": "amount landed as DOUBLE, not a decimal",
    }
    for name, words in expected.items():
        row = rows[name]
        assert not row["ok"]
        assert row["seconds"] is None  # never timed as if it had worked
        assert row["error"].startswith("landed wrong data: ")
        assert words in row["error"]
    assert "rows where" not in rows["wrong_cent"]["error"]  # same rows, one cent off
    assert sorted(peers["result"]["failed"]) == sorted(expected)
    failed = failed_peers({"sizes": [{"peers": peers["result"]}]})
    assert len(failed) == 3 and all("landed wrong data" in line for line in failed)
    # the printed table: the real peers first, fastest first; the failed ones last
    table = peer_table(peers["result"])
    assert [line[1] for line in table[-3:]] == ["FAILED"] * 3
    seconds = [float(line[1]) for line in table[:-3]]
    assert seconds == sorted(seconds)
    assert "FAILED" in peers_markdown({"sizes": [{"peers": peers["result"]}]})
    # and the command says so: a non-zero exit naming each failed peer and why
    done = peers["done"]
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    output = " ".join(done.stdout.split())
    assert "Peers that failed or landed wrong data" in output
    for name in expected:
        assert f"{name} at {truth.rows:,} rows: landed wrong data" in output


def test_a_peer_that_crashes_is_failed_with_its_reason(
    peers: dict, tmp_path: Path, mysql_server: dict
) -> None:
    """A peer exiting non-zero is reported with its log's error line, not timed."""
    crash = Peer(
        "crash",
        "a peer that crashes",
        lambda source, folder: [sys.executable, "-c", "raise RuntimeError('no such table')"],
        lambda source, folder, base: dict(base),
        lambda folder: (folder / "none.duckdb", "main"),
    )
    result = measure_peers(
        PeerSource(MySQLWarehouse(**MYSQL), peers["peers_db"]),
        peers["truth"],
        tmp_path / "work",
        tmp_path / "logs",
        (crash,),
        runs=1,
    )
    (row,) = result["peers"]
    assert not row["ok"] and row["seconds"] is None
    assert "exited 1" in row["error"] and "RuntimeError: no such table" in row["error"]
    assert os.path.exists(tmp_path / "logs" / "peer-crash-0.log")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("ingestr", "--peer takes NAME=COMMAND"),
        ("Ingestr=ingestr ingest", "--peer takes NAME=COMMAND"),
        ("ingestr=", "--peer takes NAME=COMMAND"),
        ("project=medallion ingest", "a built-in peer has that name"),
        ("sling=sling run --tgt-object {schema}.{table}", "unknown placeholder"),
        ("sling=sling run --src-stream {table.name}", "unknown placeholder"),
        ("ingestr=ingestr ingest --dest 'duckdb:///{duckdb}", "cannot split"),
    ],
)
def test_a_wrong_peer_command_is_refused_before_anything_runs(spec: str, words: str) -> None:
    with pytest.raises(BenchFailed, match=words):
        command_peer(spec)


def test_a_peer_command_gets_the_source_and_its_file(tmp_path: Path) -> None:
    peer = command_peer(
        "ingestr=ingestr ingest --source-uri {mysql_url} --source-table {table} "
        "--dest-uri duckdb:///{duckdb} --dest-table main.{table}"
    )
    server = MySQLWarehouse("db.example", 3307, "reader", "secret")
    source = PeerSource(server, "sales")
    command = peer.command(source, tmp_path)
    assert command == [
        "ingestr",
        "ingest",
        "--source-uri",
        "mysql://reader@db.example:3307/sales",
        "--source-table",
        "transactions",
        "--dest-uri",
        f"duckdb:///{tmp_path / 'peer.duckdb'}",
        "--dest-table",
        "main.transactions",
    ]
    assert "secret" not in " ".join(command)
    assert peer.env(source, tmp_path, {})["MYSQL_PWD"] == "secret"
    assert peer.landing is not None and peer.landing(tmp_path) == (
        tmp_path / "peer.duckdb",
        "main",
    )


def test_a_peer_that_lands_no_table_is_told_so(tmp_path: Path) -> None:
    """A peer that exits 0 but wrote no file, or a file without the table, failed."""
    import duckdb

    from medallion.bench_peers import check_landed

    truth = Truth(3, Decimal("1.50"))
    missing = check_landed(tmp_path / "none.duckdb", "main", "transactions", truth)
    assert missing is not None and missing.startswith("landed nothing")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    wrong = check_landed(empty, "main", "transactions", truth)
    assert wrong is not None and wrong.startswith("landed no readable main.transactions")
    right = tmp_path / "right.duckdb"
    with duckdb.connect(str(right)) as conn:
        conn.execute(
            "create table transactions as select * from (values (1, 0.50::decimal(12, 2)), "
            "(2, 1.00::decimal(12, 2)), (3, null::decimal(12, 2))) as t(id, amount)"
        )
    assert check_landed(right, "main", "transactions", truth) is None


def test_a_short_table_gets_one_round_more_than_a_long_one() -> None:
    assert peer_runs(636_014) == peer_runs(SHORT_TABLE_ROWS) == PEER_RUNS + 1 == 3
    assert peer_runs(SHORT_TABLE_ROWS + 1) == peer_runs(6_362_768) == PEER_RUNS == 2


def test_a_peer_that_hangs_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    """A peer still running at the timeout is killed with the process it started in the
    background, failed with the reason, and not run again; the next peer still runs."""
    started = tmp_path / "started.pid"
    hang = Peer(
        "hang",
        "a peer that never ends",
        lambda source, folder: [
            "sh",
            "-c",
            f"sleep 300 & echo $! > {shlex.quote(str(started))}; wait",
        ],
        lambda source, folder, base: dict(base),
        lambda folder: (folder / "none.duckdb", "main"),
    )
    quick = Peer(
        "quick",
        "a peer that lands nothing, at once",
        lambda source, folder: [sys.executable, "-c", "pass"],
        lambda source, folder, base: dict(base),
        None,
    )
    result = measure_peers(
        PeerSource(MySQLWarehouse(**MYSQL), "unused"),
        Truth(1, Decimal("0")),
        tmp_path / "work",
        tmp_path / "logs",
        (hang, quick),
        runs=2,
        timeout=1.0,
    )
    hung, fine = result["peers"]
    assert not hung["ok"] and hung["runs_seconds"] == []
    assert hung["error"].startswith("timed out after 1 s (MEDALLION_PEER_TIMEOUT")
    assert not (tmp_path / "logs" / "peer-hang-1.log").exists()  # not run a second time
    assert fine["ok"] and len(fine["runs_seconds"]) == 2
    assert result["failed"] == ["hang"]
    assert stops_running(int(started.read_text()))


@pytest.mark.parametrize("value", ["0", "-5", "ten", "inf", "nan", "1e400"])
def test_a_wrong_peer_timeout_is_refused(value: str, monkeypatch) -> None:
    from medallion.bench_peers import peer_timeout
    from medallion.settings import ConfigError

    monkeypatch.setenv("MEDALLION_PEER_TIMEOUT", value)
    with pytest.raises(ConfigError, match="MEDALLION_PEER_TIMEOUT must be a number"):
        peer_timeout()


def test_the_peer_timeout_has_a_default_and_takes_seconds(monkeypatch) -> None:
    from medallion.bench_peers import PEER_TIMEOUT_SECONDS, peer_timeout

    monkeypatch.delenv("MEDALLION_PEER_TIMEOUT", raising=False)
    assert peer_timeout() == PEER_TIMEOUT_SECONDS == 1800
    monkeypatch.setenv("MEDALLION_PEER_TIMEOUT", " 2.5 ")
    assert peer_timeout() == 2.5


def test_a_wrong_peer_timeout_stops_the_bench_before_anything_runs(tmp_path: Path) -> None:
    env = dict(os.environ, MEDALLION_PEER_TIMEOUT="soon", MEDALLION_BENCH_CACHE=str(tmp_path))
    done = run_cli(["bench", "--peers-only", "--rows", "1000", "--db-prefix", "x_"], env, expect=2)
    output = " ".join(done.stdout.split())
    assert "Configuration error: MEDALLION_PEER_TIMEOUT must be a number of seconds" in output
    assert "'soon'" in output
    assert "writing the demo sources" not in output

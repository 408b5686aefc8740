"""The table of recorded benchmark runs (``medallion bench --history``) and the summary
rows of the MySQL and Spark targets, on the real files of ``bench/results/``: fast, no
warehouse, no MySQL, no JVM."""

from __future__ import annotations

import json
from pathlib import Path

from medallion import bench_mysql, bench_spark
from medallion.bench import HISTORY_HEADER, history_markdown, history_row
from medallion.cli import main

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
RECORDED = RESULTS / "20261206T162832Z.json"
WITH_MYSQL = RESULTS / "20261207T055148Z.json"  # MySQL at 1M rows, no Spark
WITH_SPARK = RESULTS / "20261207T112118Z.json"  # Spark at 1M rows, no MySQL


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_a_recorded_run_gives_its_key_figures() -> None:
    # The figures docs/performance.md quotes for this run, read from the file itself.
    row = history_row(json.loads(RECORDED.read_text()))
    assert row == (
        "2026-12-06 16:28",
        "`b5cb6b8`",
        "10M",
        "49.5% (56.9%)",
        "45.1 s",
        "87.5 s",
        "132.7 s",
        "1%: 49.1 s (37.0%)",
        "26.8 s",
        "861 MiB",
    )


def test_runs_without_optional_figures_show_a_dash() -> None:
    # The 22 November run predates the CPU figures; the 200k run skipped `make run` and
    # re-ran once, after 0% changes; its commit was clean, the first one's was not.
    first = history_row(json.loads((RESULTS / "20261122T064911Z.json").read_text()))
    assert first[1] == "`d656d48+dirty`"
    assert first[3] == "5.7%"  # no bound recorded
    small = history_row(json.loads((RESULTS / "20261202T011846Z-connectorx-200k.json").read_text()))
    assert small[2] == "200k"
    assert small[7].startswith("0%: ")
    assert small[8] == "-"


def test_the_table_has_one_row_per_file_oldest_first() -> None:
    lines = history_markdown(RESULTS).splitlines()
    files = sorted(RESULTS.glob("*.json"))
    assert _cells(lines[0]) == list(HISTORY_HEADER)
    assert len(_cells(lines[1])) == len(HISTORY_HEADER)
    body = lines[2:]
    assert len(body) == len(files)
    assert all(len(_cells(line)) == len(HISTORY_HEADER) for line in body)
    started = [_cells(line)[0] for line in body]
    assert started == sorted(started)
    # the last row is the newest file's run, its commit read from the file itself
    newest = max(files, key=lambda f: json.loads(f.read_text())["started_at"])
    commit = json.loads(newest.read_text())["machine"]["git_commit"][:7]
    assert _cells(body[-1])[1].startswith(f"`{commit}")


def test_the_table_reads_another_folder(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(RECORDED.read_text())
    lines = history_markdown(tmp_path).splitlines()
    assert len(lines) == 3
    assert _cells(lines[2])[3] == "49.5% (56.9%)"


def test_the_command_prints_the_table(capsys) -> None:
    assert main(["bench", "--history", "--history-dir", str(RESULTS)]) == 0
    out = capsys.readouterr().out
    assert "| 2026-12-06 16:28 | `b5cb6b8` | 10M | 49.5% (56.9%) |" in out


def test_the_mysql_and_spark_summary_rows_of_recorded_runs() -> None:
    with_mysql = json.loads(WITH_MYSQL.read_text())
    with_spark = json.loads(WITH_SPARK.read_text())
    assert bench_mysql.summary_rows(with_mysql) == [
        ("[1,000,000] MySQL warehouse: full ingest (s)", "60.9", ""),
        ("[1,000,000] MySQL warehouse: dbt build (s)", "273.1", ""),
        ("[1,000,000] MySQL build / DuckDB build", "5.39x", "<= 10x"),
        (
            "[1,000,000] MySQL slowest: test:relationships_int_customers_merged_customer_id"
            "__survivor_customer_id__ref_int_customer_id_map_ (s)",
            "60.5",
            "",
        ),
        ("[1,000,000] MySQL slowest: model:fct_transactions (s)", "54.7", ""),
        ("[1,000,000] MySQL slowest: model:int_transactions_ranked (s)", "23.4", ""),
    ]
    assert bench_spark.summary_rows(with_spark) == [
        ("[1,000,000] Spark: ingest into the lake (s)", "52.9", ""),
        ("[1,000,000] Spark: dbt build (s)", "685.4", ""),
        (
            "[1,000,000] Spark: of which start-up, JVM + metastore / register_lake (s)",
            "48.8 / 23.9",
            "",
        ),
        ("[1,000,000] Spark build / DuckDB build", "4.89x", ""),
        ("[1,000,000] the same without Spark's start-up", "4.37x", ""),
        ("[1,000,000] Spark: driver memory, load average before / after", "6g, 10.5 / 9.4", ""),
        ("[1,000,000] Spark slowest: model:fct_transactions (s)", "31.9", ""),
        ("[1,000,000] Spark slowest: model:int_transactions_unioned (s)", "23.5", ""),
        ("[1,000,000] Spark slowest: model:int_transactions_ranked (s)", "19.8", ""),
    ]
    # a target not measured in a run gives no row
    assert bench_mysql.summary_rows(with_spark) == []
    assert bench_spark.summary_rows(with_mysql) == []


def test_failed_nodes_come_before_the_slowest() -> None:
    for module, recorded, key, name in [
        (bench_mysql, WITH_MYSQL, "mysql", "MySQL"),
        (bench_spark, WITH_SPARK, "spark", "Spark"),
    ]:
        results = json.loads(recorded.read_text())
        passed = module.summary_rows(results)
        results["sizes"][-1][key]["build"]["failures"] = ["model:a", "test:b"]
        failed = module.summary_rows(results)
        row = (f"[1,000,000] {name} dbt nodes failed", "model:a, test:b", "none")
        assert failed == [*passed[:-3], row, *passed[-3:]]

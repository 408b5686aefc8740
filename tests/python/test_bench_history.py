"""The table of recorded benchmark runs (``medallion bench --history``), on the real files
of ``bench/results/``: fast, no warehouse, no MySQL."""

from __future__ import annotations

import json
from pathlib import Path

from medallion.bench import HISTORY_HEADER, history_markdown, history_row
from medallion.cli import main

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
RECORDED = RESULTS / "20261206T162832Z.json"


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

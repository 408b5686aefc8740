"""The MySQL warehouse's server settings, checked at run start (medallion/mysql_settings.py).

Against the real MariaDB of the machine: its buffer pool is read independently
(``@@global.innodb_buffer_pool_size``) and the threshold is put above and below it, so
the one-line warning must appear and disappear with it. The run-start line is checked
through the real CLI, in a run that then fails quickly on a missing source.
"""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
from pipeline_helpers import MYSQL, pipeline_env, run_cli

from medallion.mysql_settings import MIB, check_server, minimums, too_small
from medallion.settings import ConfigError

pytestmark = pytest.mark.mysql


def buffer_pool_mib() -> int:
    connection = pymysql.connect(**MYSQL)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select @@global.innodb_buffer_pool_size")
            (value,) = cursor.fetchone()
    finally:
        connection.close()
    return int(value) // MIB


def test_a_buffer_pool_below_the_minimum_is_named_in_one_line(
    mysql_server: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = buffer_pool_mib()
    monkeypatch.setenv("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", str(actual + 1))
    lines = check_server()
    assert len(lines) == 1, lines
    assert "innodb_buffer_pool_size" in lines[0]
    assert f"is {actual:,} MiB, below the {actual + 1:,} MiB" in lines[0], lines[0]
    assert "DBA" in lines[0] and "docs/mysql-warehouse.md" in lines[0]
    assert "\n" not in lines[0]


def test_a_buffer_pool_at_the_minimum_or_a_check_turned_off_says_nothing(
    mysql_server: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", str(buffer_pool_mib()))
    assert check_server() == []
    monkeypatch.setenv("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", "0")
    assert check_server() == []


def test_only_settings_below_their_minimum_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", "1024")
    checked = minimums()
    assert too_small({"innodb_buffer_pool_size": 1024 * MIB}, checked) == []
    (line,) = too_small({"innodb_buffer_pool_size": 128 * MIB}, checked)
    assert "innodb_buffer_pool_size is 128 MiB, below the 1,024 MiB" in line
    # a variable the server does not report (another product) is not guessed at
    assert too_small({}, checked) == []


def test_a_threshold_that_is_not_a_number_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", "1GB")
    with pytest.raises(ConfigError, match="MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB.*'1GB'"):
        check_server()


def test_a_mysql_run_names_the_small_setting_at_its_start(
    tmp_path: Path, mysql_prefix: str
) -> None:
    """The threshold above the server's value: the run's first lines say so, before the
    sources are read (which then fails: the archive database does not exist)."""
    missing = tmp_path / "missing.sqlite"
    env = pipeline_env(tmp_path, f"sqlite:///{missing}", f"sqlite:///{missing}", tmp_path)
    env["MEDALLION_SCHEMA_PREFIX"] = mysql_prefix
    env["MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB"] = str(buffer_pool_mib() + 1)
    result = run_cli(["run", "--target", "mysql"], env, expect=None)
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert "Warning: MySQL setting innodb_buffer_pool_size is" in output, output[-3000:]
    # the first line of the run, before the warehouse and the sources are read
    assert output.startswith("Warning: MySQL setting innodb_buffer_pool_size"), output[:500]
    assert "archive database file does not exist" in output, output[-3000:]

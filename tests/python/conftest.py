"""Shared fixtures: the real MariaDB of the machine, with databases made per test; and
the order in which pytest-xdist's workers take the modules."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
from pipeline_helpers import MYSQL, drop_databases


@pytest.fixture(scope="session")
def mysql_server() -> dict[str, Any]:
    """The real MariaDB of the machine; the suite fails (not skips) if it is down."""
    try:
        pymysql.connect(**MYSQL).close()
    except pymysql.MySQLError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"MariaDB is not reachable at 127.0.0.1:3306 ({exc}); `make mariadb`")
    return dict(MYSQL)


@pytest.fixture
def mysql_prefix(mysql_server: dict[str, Any]) -> Iterator[str]:
    """A unique database-name prefix; every database with it is dropped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    drop_databases(prefix)


@pytest.fixture(scope="module")
def module_prefix(mysql_server: dict[str, Any]) -> Iterator[str]:
    """``mysql_prefix`` for a module's shared warehouse: dropped after the module."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    drop_databases(prefix)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On pytest-xdist's workers (``make test``: ``-n 2 --dist loadfile
    --no-loadscope-reorder``), the modules that build the whole project go first: the
    workers take one module at a time in this order, so the long ones start early and
    the short ones fill in at the end, instead of a long module starting last while
    the other worker waits. Within a module, and in a run without workers, the order
    stays as written."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)  # stable: False first

"""Shared fixtures: the real MariaDB of the machine, with databases made per test."""

from __future__ import annotations

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

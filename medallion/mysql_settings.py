"""The MySQL/MariaDB server settings a warehouse build depends on, checked at run start.

The build sets what it may for its own session (``macros/cross_db/session_settings.sql``:
the in-memory size of temporary tables, as a pre-hook of every model). What only the
server's administrator can change is read here before a ``--target mysql`` run, and
each setting below what a build of millions of lines needs is named in one line
(docs/mysql-warehouse.md says why each matters and what to set). A small setting does
not stop the run: the build still finishes, only slower.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .report import labelled
from .settings import ConfigError, MySQLWarehouse

MIB = 1024**2

# The InnoDB buffer pool holds the tables a build reads and writes; below 1 GiB a build
# of millions of lines reads them from disk again and again. MariaDB's default is 128
# MiB. MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB changes the threshold (0 turns the check off).
DEFAULT_MIN_BUFFER_POOL_MIB = 1024


@dataclass(frozen=True)
class Minimum:
    variable: str
    minimum: int
    who: str
    why: str


def minimums() -> list[Minimum]:
    """The server settings checked at run start and the least each should be."""
    raw = os.environ.get("MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB", str(DEFAULT_MIN_BUFFER_POOL_MIB))
    if not raw.strip().isdigit():
        raise ConfigError(
            f"MEDALLION_MYSQL_MIN_BUFFER_POOL_MIB is not a whole number of MiB: {raw!r}"
        )
    return [
        Minimum(
            "innodb_buffer_pool_size",
            int(raw) * MIB,
            "the DBA (a server setting)",
            "the tables a build reads and writes are read from disk again and again",
        ),
    ]


def read_variables(connection: Any, names: list[str]) -> dict[str, int]:
    """The named variables as this session sees them (a session value where one is set)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "show variables where variable_name in (" + ", ".join(["%s"] * len(names)) + ")",
            names,
        )
        return {name.lower(): int(value) for name, value in cursor.fetchall()}


def too_small(values: dict[str, int], checked: list[Minimum]) -> list[str]:
    """One line for each setting below its minimum: what it is, what it should be."""
    lines = []
    for item in checked:
        value = values.get(item.variable)
        if value is None or item.minimum <= 0 or value >= item.minimum:
            continue
        lines.append(
            f"MySQL setting {item.variable} is {value // MIB:,} MiB, below the "
            f"{item.minimum // MIB:,} MiB a build of millions of lines needs ({item.why}); "
            f"set by {item.who}: see docs/mysql-warehouse.md"
        )
    return lines


def check_server(server: MySQLWarehouse | None = None) -> list[str]:
    """The too-small settings of the MySQL warehouse, each as one line (none: [])."""
    checked = minimums()
    connection = (server or MySQLWarehouse.from_environment()).connect()
    try:
        values = read_variables(connection, [item.variable for item in checked])
    finally:
        connection.close()
    return too_small(values, checked)


def warn_small_settings(out: Any) -> list[str]:
    """At run start: print each too-small setting of the MySQL warehouse in one line. A
    server that cannot be reached is left to the ingestion step, which says so."""
    import pymysql

    try:
        lines = check_server()
    except pymysql.err.MySQLError:
        return []
    for line in lines:
        out.print(labelled("[yellow]Warning:[/yellow]", line))
    return lines

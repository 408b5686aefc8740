"""One writer at a time: the warehouse lock taken by every command that opens the warehouse.

Two runs interleaving on one warehouse would corrupt each other (one replacing a table
the other is reading, dlt states racing). The second one is refused at once, with a
message naming who holds the lock and where, and a non-zero exit.

The lock must never outlive its holder, or a run killed by the OOM killer (or a power
cut) would block every run after it. So it is held by the operating system or the
server on our behalf, and released by them when the process dies, however it dies:

- DuckDB: ``fcntl.flock`` on ``<warehouse file>.lock`` beside the warehouse file. The
  kernel drops the lock when the process's file descriptors close, on exit or SIGKILL.
  The file itself stays (an empty-looking leftover is harmless); it holds the holder's
  pid, host, command and start time, for the message.
- MySQL: a named lock, ``GET_LOCK('medallion:<schema prefix>', 0)``, on a connection of
  its own held open for the whole command. The server releases it when that connection
  ends, which a killed process's connection does. The name is the schema prefix because
  the prefix is what decides which databases are written; host and port need not be in
  it since named locks live in the server (two spellings of one server, ``localhost``
  and ``127.0.0.1``, still meet the same lock). MariaDB cannot tell another session's
  client pid without performance_schema, so the holder writes who it is into
  ``<prefix>medallion_meta.run_lock``, which the refused run reads (a row is believed
  only if its connection id is the lock's current owner).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .settings import (
    MySQLWarehouse,
    check_target,
    describe_warehouse,
    schema_prefix,
    warehouse_path,
)


class WarehouseUnavailable(RuntimeError):
    """The warehouse to lock cannot be reached (down, or refusing the credentials)."""


class WarehouseLocked(Exception):
    """Another process holds the warehouse; the message names it and the warehouse."""


def _holder_text(pid: object, host: object, command: object, started: object) -> str:
    return f"pid {pid} on {host} (medallion {command}, since {started})"


def lock_file(path: Path | None = None) -> Path:
    """The lock file of a DuckDB warehouse: ``<warehouse file>.lock`` beside it."""
    path = path or warehouse_path()
    return path.with_name(path.name + ".lock")


@contextmanager
def _duckdb_lock(command: str) -> Iterator[None]:
    import fcntl

    path = lock_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise WarehouseLocked(
                f"The warehouse {describe_warehouse('duckdb')} is in use by {holder}: "
                f"one run at a time (lock file {path}). Wait for it to finish, then run again."
            ) from None
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        text = _holder_text(os.getpid(), socket.gethostname(), command, started)
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock (the kernel does the same if we are killed)


def mysql_lock_name(prefix: str | None = None) -> str:
    """The server-wide name of a MySQL warehouse's lock (at most 64 characters)."""
    name = f"medallion:{schema_prefix() if prefix is None else prefix}"
    if len(name) > 64:
        name = "medallion:" + hashlib.sha256(name.encode()).hexdigest()[:40]
    return name


@contextmanager
def _mysql_lock(command: str) -> Iterator[None]:
    import pymysql

    server = MySQLWarehouse.from_environment()
    name = mysql_lock_name()
    meta = f"`{schema_prefix()}medallion_meta`"
    try:
        conn = server.connect(autocommit=True)
    except pymysql.MySQLError as exc:
        raise WarehouseUnavailable(
            f"Cannot reach the warehouse {server.describe()} to lock it (MEDALLION_MYSQL_*): "
            f"{exc.args[-1]}"
        ) from None
    try:
        with conn.cursor() as cursor:
            cursor.execute("select get_lock(%s, 0), connection_id()", (name,))
            got, own_id = cursor.fetchone()
            if got != 1:
                cursor.execute("select is_used_lock(%s)", (name,))
                owner = cursor.fetchone()[0]
                holder = f"MySQL connection {owner}"
                try:
                    cursor.execute(
                        f"select pid, host, command, started_at from {meta}.run_lock"
                        " where lock_name = %s and connection_id = %s",
                        (name, owner),
                    )
                    row = cursor.fetchone()
                except pymysql.MySQLError:
                    row = None
                if row:
                    holder = _holder_text(*row) + f", {holder}"
                raise WarehouseLocked(
                    f"The warehouse {describe_warehouse('mysql')} is in use by {holder}: "
                    f"one run at a time (MySQL lock {name!r}). Wait for it to finish, "
                    "then run again."
                )
            cursor.execute(f"create database if not exists {meta}")
            cursor.execute(
                f"create table if not exists {meta}.run_lock (lock_name varchar(64) primary"
                " key, connection_id bigint, pid int, host varchar(255), command varchar(64),"
                " started_at datetime)"
            )
            cursor.execute(
                f"replace into {meta}.run_lock values (%s, %s, %s, %s, %s, %s)",
                (
                    name,
                    own_id,
                    os.getpid(),
                    socket.gethostname(),
                    command,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
                ),
            )
        yield
    finally:
        conn.close()  # ends the session: the server releases the named lock


@contextmanager
def warehouse_lock(target: str, command: str) -> Iterator[None]:
    """Hold the target warehouse for the duration of one command, or refuse at once."""
    if check_target(target) == "mysql":
        with _mysql_lock(command):
            yield
    else:
        with _duckdb_lock(command):
            yield

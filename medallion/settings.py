"""Where things are and which sources to read.

Every setting has one home: dlt's own config (``.dlt/config.toml``, ``.dlt/secrets.toml``
and environment variables such as ``SOURCES__ARCHIVE__CREDENTIALS``) for the sources,
``MEDALLION_*`` environment variables for the warehouse. This module resolves them once,
so the CLI, the pipelines and dbt all agree, and so that a mistake names the setting to
fix instead of surfacing as a stack trace from a driver.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Privacy first: nothing phones home unless the user asks for it explicitly.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}

RAW_SCHEMAS = {"archive": "raw_archive", "live": "raw_live", "files": "raw_files"}

TARGETS = ("duckdb", "mysql", "spark")

# The collation of every MySQL database and connection of the project (dlt's and dbt's,
# see profiles.yml): binary, so strings compare, group and sort as on DuckDB.
MYSQL_COLLATION = "utf8mb4_bin"

SETTING_NAMES = {
    "archive": "SOURCES__ARCHIVE__CREDENTIALS",
    "live": "SOURCES__LIVE__CREDENTIALS",
    "files": "SOURCES__FILES__BUCKET_URL",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the setting to fix."""


def prepare_environment() -> None:
    """Switch telemetry off and point dlt at the project's ``.dlt`` folder.

    Called before dlt or dbt is imported, because both read their settings at import.
    """
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_DIR))
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR))
    os.environ.setdefault("DBT_PROJECT_DIR", str(PROJECT_DIR))


def redact(text: str) -> str:
    """Hide the password of every URL in ``text``, and of every ``password=...`` of a
    key=value connection string (DuckDB's MySQL scanner repeats one in its errors), so
    errors can be shown safely."""
    text = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", str(text))
    return re.sub(r"(?i)(\bpassword\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s;'\"]+)", r"\1***", text)


def warehouse_path() -> Path:
    """The DuckDB warehouse file shared by dlt and dbt (``MEDALLION_DUCKDB_PATH``)."""
    raw = os.environ.get("MEDALLION_DUCKDB_PATH") or str(
        PROJECT_DIR / "warehouse" / "medallion.duckdb"
    )
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


def _local_or_url(env: str, default: Path) -> str:
    """A folder setting that may also be a URL (``s3://...``): a URL as it is, a path
    made absolute (Spark and dlt may run from another working directory)."""
    raw = os.environ.get(env) or str(default)
    if "://" in raw:
        return raw
    path = Path(raw).expanduser()
    return str(path if path.is_absolute() else (Path.cwd() / path).resolve())


def lake_url() -> str:
    """Where dlt writes the raw layer as Parquet for the Spark target
    (``MEDALLION_LAKE_URL``): a folder, default ``warehouse/lake`` beside the DuckDB
    file, or an ``s3://``, ``gs://``, ``abfss://`` URL (dlt's filesystem destination,
    through fsspec). One folder per raw schema, one per table under it."""
    return _local_or_url("MEDALLION_LAKE_URL", warehouse_path().parent / "lake")


def spark_warehouse() -> str:
    """Spark's warehouse folder (``MEDALLION_SPARK_WAREHOUSE``, default
    ``warehouse/spark`` beside the DuckDB file): the tables dbt builds, as Parquet, and
    the Hive metastore (Derby) that names them."""
    return _local_or_url("MEDALLION_SPARK_WAREHOUSE", warehouse_path().parent / "spark")


def schema_prefix() -> str:
    """``MEDALLION_SCHEMA_PREFIX``: put before every schema (database, on MySQL) the
    project writes, raw and dbt alike, so several environments can share one server."""
    prefix = os.environ.get("MEDALLION_SCHEMA_PREFIX", "")
    # lower case: MySQL's database names are case-sensitive, DuckDB's schemas are not
    if prefix and not re.fullmatch(r"[a-z0-9_]+", prefix):
        raise ConfigError(
            "MEDALLION_SCHEMA_PREFIX may hold only lower-case letters, digits and '_', "
            f"got {prefix!r}"
        )
    return prefix


def built_schema(name: str, target: str) -> str:
    """The schema (without the prefix) dbt builds one folder's models in. On MySQL and
    Spark the marts are built apart, in ``marts_build``, and published into ``marts``
    for readers (``publish``); on DuckDB the published marts are a file of their own, so
    the build's schema keeps its name."""
    apart = check_target(target) in ("mysql", "spark")
    return "marts_build" if name == "marts" and apart else name


def raw_schema(source: str) -> str:
    """The raw schema (dlt dataset) of one source, with the environment's prefix."""
    return schema_prefix() + RAW_SCHEMAS[source]


@dataclass(frozen=True)
class MySQLWarehouse:
    """The MySQL warehouse server, as ``profiles.yml`` reads it (``MEDALLION_MYSQL_*``)."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_environment(cls) -> MySQLWarehouse:
        port = os.environ.get("MEDALLION_MYSQL_PORT") or "3306"
        if not port.isdigit():
            raise ConfigError(f"MEDALLION_MYSQL_PORT is not a port number: {port!r}")
        return cls(
            host=os.environ.get("MEDALLION_MYSQL_HOST") or "127.0.0.1",
            port=int(port),
            user=os.environ.get("MEDALLION_MYSQL_USER") or "root",
            password=os.environ.get("MEDALLION_MYSQL_PASSWORD", ""),
        )

    def connect(self, **kwargs: Any) -> Any:
        """A PyMySQL connection to the server (no database), 4-byte Unicode."""
        import pymysql

        options = {"charset": "utf8mb4", "connect_timeout": 10, **kwargs}
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, **options
        )

    def url(self) -> str:
        """A SQLAlchemy URL for dlt: no database (each dataset is one), 4-byte Unicode."""
        from sqlalchemy.engine import URL

        return URL.create(
            "mysql+pymysql",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            query={"charset": "utf8mb4"},
        ).render_as_string(hide_password=False)

    def describe(self) -> str:
        return f"MySQL {self.user}@{self.host}:{self.port}"


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ConfigError(f"Unknown warehouse target {target!r}: use one of {', '.join(TARGETS)}")
    return target


def describe_warehouse(target: str) -> str:
    """One line naming where a target's warehouse is (never with a password)."""
    prefix = schema_prefix()
    if check_target(target) == "mysql":
        where = MySQLWarehouse.from_environment().describe()
    elif target == "spark":
        where = f"Spark, warehouse {spark_warehouse()}, lake {lake_url()}"
    else:
        where = str(warehouse_path())
    return where + (f" (schema prefix {prefix!r})" if prefix else "")


def demo_dir() -> Path:
    """Where ``medallion demo`` writes its sources when none are configured."""
    return Path(os.environ.get("MEDALLION_DEMO_DIR") or PROJECT_DIR / "data" / "demo")


_SQL_URL = re.compile(r"^[a-z][a-z0-9+]*://")


def check_sql_url(name: str, url: str) -> str:
    """Validate a SQLAlchemy URL enough to give a clear message before any driver does."""
    setting = SETTING_NAMES[name]
    if not _SQL_URL.match(url):
        raise ConfigError(
            f"{setting} is not a SQLAlchemy URL (expected e.g. "
            f"mysql+pymysql://user:password@host:3306/database), got {redact(url)!r}"
        )
    parts = urlsplit(url)
    if parts.scheme.startswith("mysql"):
        if not parts.hostname:
            raise ConfigError(f"{setting} names no host: {redact(url)!r}")
        if not parts.path.strip("/"):
            raise ConfigError(f"{setting} names no database: {redact(url)!r}")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ConfigError(f"{setting} has a malformed port: {redact(url)!r}") from exc
    elif parts.scheme.startswith("sqlite") and not parts.path.strip("/"):
        raise ConfigError(f"{setting} names no SQLite file: {redact(url)!r}")
    return url


@dataclass
class SourceSettings:
    """The three sources of one run, and whether they are the generated demo."""

    archive_url: str
    live_url: str
    bucket_url: str
    is_demo: bool = False
    notes: list[str] = field(default_factory=list)


def configured_number(
    env: str, key: str, kind: Any, default: Any, expected: str = "a number"
) -> tuple[Any, str]:
    """A number setting and where it came from: the environment variable ``env``, else
    ``key`` (``section.name``) in ``.dlt/config.toml``, else ``default``. A value that
    ``kind`` refuses fails, naming where it was set and what was ``expected``."""
    import dlt

    if os.environ.get(env):
        origin, value = env, os.environ[env]
    elif dlt.config.get(key) is not None:
        origin, value = f".dlt/config.toml {key}", dlt.config.get(key)
    else:
        return default, "default"
    try:
        return kind(value), origin
    except (TypeError, ValueError):
        raise ConfigError(f"{origin} must be {expected}, got {value!r}") from None


MAX_DAYS = 3650.0


def configured_days(env: str, key: str, default: float, zero_means: str) -> tuple[float, str]:
    """A number of days from 0 to ``MAX_DAYS`` and where it came from, looked up as
    ``configured_number`` does; ``zero_means`` says what 0 does, in the error that
    refuses anything else (nan and inf included)."""
    days, origin = configured_number(env, key, float, default)
    if not 0 <= days <= MAX_DAYS:
        raise ConfigError(
            f"{origin} must be 0 ({zero_means}) or a number of days up to "
            f"{MAX_DAYS:g}, got {days!r}"
        )
    return days, origin


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: Any) -> float:
    """A duration in seconds: a number of seconds (``3600``) or one written with units,
    ``1h``, ``30m``, ``2d``, ``1h30m``, ``90s``. Anything else raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ValueError(value) from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not 0 <= seconds < float("inf"):
        raise ValueError(value)
    return seconds


def _lookup(path: str) -> str | None:
    """Read one value from dlt's providers (env, secrets.toml, config.toml)."""
    import dlt

    value = dlt.secrets.get(path)
    if value is None:
        value = dlt.config.get(path)
    if value is None:
        return None
    if isinstance(value, dict):  # credentials given as a TOML table
        from dlt.common.configuration.specs import ConnectionStringCredentials

        creds = ConnectionStringCredentials()
        creds.update(value)
        return creds.to_native_representation()
    return str(value).strip() or None


def resolve_sources() -> SourceSettings:
    """Return the configured sources, or the demo sources when none is configured.

    Configuring some sources but not others is refused: silently mixing a real
    archive with a demo live database would produce plausible-looking nonsense.
    """
    found = {
        "archive": _lookup("sources.archive.credentials"),
        "live": _lookup("sources.live.credentials"),
        "files": _lookup("sources.files.bucket_url"),
    }
    if not any(found.values()):
        root = demo_dir()
        return SourceSettings(
            archive_url=f"sqlite:///{root / 'archive.sqlite'}",
            live_url=f"sqlite:///{root / 'live.sqlite'}",
            bucket_url=str(root / "landing"),
            is_demo=True,
        )
    missing = [SETTING_NAMES[k] for k, v in found.items() if not v]
    if missing:
        raise ConfigError(
            "Some sources are configured but not all; also set "
            + ", ".join(missing)
            + " (in the environment or .dlt/secrets.toml)."
        )
    return SourceSettings(
        archive_url=check_sql_url("archive", found["archive"]),
        live_url=check_sql_url("live", found["live"]),
        bucket_url=found["files"],
    )

"""When a run starts and when it is tried again: the daily schedule, the landing-file
sensor, and the retry rule for transient source errors.

Settings (environment, like the warehouse's):

* ``MEDALLION_SCHEDULE`` (cron, default ``0 2 * * *``) and ``MEDALLION_SCHEDULE_TIMEZONE``
  (an IANA name, default ``UTC``): when the daily run starts.
* ``MEDALLION_SENSOR_INTERVAL`` (seconds, 10 to 86400, default 60): how often the
  landing folder is listed.
* ``MEDALLION_RETRIES`` (default 3) and ``MEDALLION_RETRY_SECONDS`` (default 30): a run
  that failed on a transient source error (a refused or lost connection) is tried again
  up to that many times, waiting 30 s, then 60 s, then 120 s. A structural failure (a
  setting, a missing table, a check the policy says stops the run) is never retried:
  running it again would fail the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RetryRequested,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from ..settings import ConfigError, configured_number

DEFAULT_SCHEDULE = "0 2 * * *"
JOB_NAME = "medallion_run_job"

# A source or warehouse server that blipped: MySQL's client errors 2002/2003 (cannot
# connect), 2006 (gone away), 2013 (lost the connection during a query), 2055 (lost at
# a system error), and the operating system's refused, reset or timed-out connection.
TRANSIENT = re.compile(
    r"\b(2002|2003|2006|2013|2055)\b|connection refused|lost connection|gone away"
    r"|connection reset|connection aborted|timed out",
    re.IGNORECASE,
)


def schedule_settings() -> tuple[str, str]:
    """The daily run's cron and timezone, checked: a mistake names the setting."""
    from dagster._utils.schedules import is_valid_cron_string

    cron = os.environ.get("MEDALLION_SCHEDULE") or DEFAULT_SCHEDULE
    if not is_valid_cron_string(cron):
        raise ConfigError(f"MEDALLION_SCHEDULE is not a cron schedule: {cron!r}")
    timezone = os.environ.get("MEDALLION_SCHEDULE_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"MEDALLION_SCHEDULE_TIMEZONE is not a timezone name such as Europe/Paris: {timezone!r}"
        ) from None
    return cron, timezone


def retry_settings() -> tuple[int, float]:
    """How many times a transient failure is retried, and the first wait in seconds."""
    retries, origin = configured_number("MEDALLION_RETRIES", "orchestration.retries", int, 3)
    if not 0 <= retries <= 20:
        raise ConfigError(f"{origin} must be a number of retries from 0 to 20, got {retries}")
    seconds, origin = configured_number(
        "MEDALLION_RETRY_SECONDS", "orchestration.retry_seconds", float, 30.0
    )
    if not 0 <= seconds <= 3600:  # also refuses nan
        raise ConfigError(f"{origin} must be a number of seconds from 0 to 3600, got {seconds}")
    return retries, seconds


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or during."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def is_transient(error: BaseException) -> bool:
    """A refused or lost connection, anywhere in the error's chain; never a setting or a
    check the policy stops on, whatever its message says."""
    from ..quality import QualityFailed

    if isinstance(error, ConfigError | QualityFailed):
        return False
    return any(
        isinstance(exc, ConnectionError | TimeoutError) or TRANSIENT.search(str(exc))
        for exc in _chain(error)
    )


def retry_or_fail(error: Exception, retry_number: int) -> NoReturn:
    """Ask Dagster to run the step again after a growing wait when the error is transient
    and retries are left; otherwise fail with the error itself."""
    retries, first_wait = retry_settings()
    if is_transient(error) and retry_number < retries:
        raise RetryRequested(
            max_retries=retries, seconds_to_wait=first_wait * 2**retry_number
        ) from error
    raise error


def run_job(run_asset: Any) -> Any:
    """The job the schedule and the sensor start: the whole run."""
    return define_asset_job(
        JOB_NAME,
        selection=AssetSelection.assets(run_asset),
        description="medallion run: every raw table, dbt node and check",
    )


def daily_schedule(job: Any) -> ScheduleDefinition:
    cron, timezone = schedule_settings()
    return ScheduleDefinition(
        name="daily_run",
        job=job,
        cron_schedule=cron,
        execution_timezone=timezone,
        description=f"The daily run at {cron} ({timezone}); MEDALLION_SCHEDULE changes it.",
        default_status=DefaultScheduleStatus.STOPPED,
    )


def landing_files() -> dict[str, int]:
    """The landing folder's files the files pipeline loads (``file_patterns``), path ->
    size, through fsspec: a local folder or any fsspec URL (``s3://``, ``az://``...)."""
    from fsspec.core import url_to_fs

    from ingestion.pipelines import file_patterns

    from ..settings import resolve_sources

    bucket = resolve_sources().bucket_url
    fs, root = url_to_fs(bucket)
    if not fs.exists(root):
        return {}
    found: dict[str, int] = {}
    for pattern in file_patterns():
        for path, info in fs.glob(f"{root.rstrip('/')}/{pattern}", detail=True).items():
            if info.get("type", "file") == "file":
                found[path] = int(info.get("size") or 0)
    return found


def sensor_interval() -> int:
    """Seconds between two listings of the landing folder, checked: below 10 s the
    listing itself (of a bucket) is most of the work; above a day a file waits longer
    than the daily run."""
    interval, origin = configured_number(
        "MEDALLION_SENSOR_INTERVAL", "orchestration.sensor_interval", int, 60
    )
    if not 10 <= interval <= 86400:
        raise ConfigError(f"{origin} must be a number of seconds from 10 to 86400, got {interval}")
    return interval


def run_key(seen: str, new: dict[str, int]) -> str:
    """The run's key: the files that changed and the listing they changed from. The same
    tick evaluated twice (the same cursor) asks for the same run, which Dagster starts
    once; a file that changes back to a size it had before, later, comes from another
    listing, so it is a new run."""
    text = seen + "\n" + json.dumps(new, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def landing_sensor(job: Any) -> Any:
    """A run when a landing file is new or changed (a path not seen, or another size, as
    the files pipeline tells a file loaded before); the same files again request none.
    The first evaluation records what is there and requests nothing: the next scheduled
    run loads it."""
    interval = sensor_interval()

    @sensor(
        name="landing_files",
        job=job,
        minimum_interval_seconds=interval,
        default_status=DefaultSensorStatus.STOPPED,
        description="A run when a new file lands in the landing folder "
        "(SOURCES__FILES__BUCKET_URL).",
    )
    def landing_files_sensor(context: SensorEvaluationContext) -> Any:
        files = landing_files()
        cursor = json.dumps(files, sort_keys=True)
        if context.cursor is None:
            return SensorResult(
                skip_reason=SkipReason(f"{len(files)} landing file(s) recorded"), cursor=cursor
            )
        seen = json.loads(context.cursor)
        new = {path: size for path, size in files.items() if seen.get(path) != size}
        if not new:
            return SensorResult(skip_reason=SkipReason("no new landing file"), cursor=cursor)
        names = ", ".join(sorted(new))
        key = run_key(context.cursor, new)
        return SensorResult(
            run_requests=[RunRequest(run_key=key, tags={"landing_files": names[:200]})],
            cursor=cursor,
        )

    return landing_files_sensor

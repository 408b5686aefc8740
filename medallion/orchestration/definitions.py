"""Everything Dagster loads (``[tool.dagster]`` in pyproject.toml): ``dagster dev`` and
``dagster asset materialize --select '*'`` find it from the project root."""

from __future__ import annotations

from dagster import Definitions

from .assets import build_run_asset, exposure_specs
from .automation import daily_schedule, landing_sensor, run_job

run_asset = build_run_asset()
job = run_job(run_asset)

defs = Definitions(
    assets=[run_asset, *exposure_specs()],
    jobs=[job],
    schedules=[daily_schedule(job)],
    sensors=[landing_sensor(job)],
)

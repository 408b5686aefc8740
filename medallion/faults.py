"""Test-only fault injection: make the process kill itself at a chosen point of a run.

``MEDALLION_FAULT_AT=<stage>[:<n>]`` with ``<stage>`` one of ``extract``, ``normalize``,
``load`` (dlt's three steps) or ``dbt``, sends SIGKILL to the process itself the ``n``-th
time (default 1) that stage reports progress:

- ``extract``, ``normalize``, ``load``: the ``n``-th progress update of that dlt step,
  counted over the whole run (all pipelines). dlt reports through the pipeline's progress
  collector while the step is under way (rows buffered, files normalised, load jobs
  completed), so the kill lands in the middle of the step, never between two steps.
- ``dbt``: when the ``n``-th dbt node (model, seed, snapshot, test; source freshness
  counts too) finishes, while the other nodes of the build are still running;
  ``dbt:<node name>`` (e.g. ``dbt:dim_customer``) when that node finishes, whatever the
  number of nodes before it.

SIGKILL, not an exception: nothing runs after it (no ``finally``, no ``atexit``, no
flush), as when the machine loses power or the OOM killer strikes. It exists for
``tests/python/test_crash_safety.py`` and must never be set in production. When the
variable is unset nothing is installed: the pipelines get dlt's default (no) progress
collector and dbt no callback, so the hook costs nothing.
"""

from __future__ import annotations

import os
import re
import signal
from typing import Any

FAULT_ENV = "MEDALLION_FAULT_AT"
DLT_STAGES = ("extract", "normalize", "load")
STAGES = (*DLT_STAGES, "dbt")


def armed() -> tuple[str, int | str] | None:
    """The stage and the count (or, for dbt, the node name) at which to die, or None
    (the normal case)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return None
    stage, _, count = spec.partition(":")
    named = stage == "dbt" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", count)
    if stage not in STAGES or (count and not count.isdigit() and not named):
        raise ValueError(
            f"{FAULT_ENV} must be one of {', '.join(STAGES)}[:<n>] or dbt:<node name>, got {spec!r}"
        )
    return stage, count if named else int(count or 1)


def die() -> None:
    """SIGKILL this process, now."""
    os.kill(os.getpid(), signal.SIGKILL)


_seen: dict[str, int] = {}


def _tick(stage: str, at: int) -> None:
    _seen[stage] = _seen.get(stage, 0) + 1
    if _seen[stage] >= at:
        die()


def dlt_progress() -> Any:
    """The ``progress=`` of every dlt pipeline: None (dlt's null collector) unless a dlt
    stage is armed, else a collector that dies at the armed update."""
    fault = armed()
    if fault is None or fault[0] not in DLT_STAGES:
        return None
    from dlt.common.runtime.collector import NullCollector

    stage, at = fault

    class FaultCollector(NullCollector):
        current = ""

        def _start(self, step: str) -> None:
            self.current = step.split(" ", 1)[0].lower()  # "Extract x", "Normalize x in y"

        def _stop(self) -> None:
            self.current = ""

        def update(self, name: str, inc: int = 1, *args: Any, **kwargs: Any) -> None:
            if self.current == stage and inc > 0 and name != "Resources":
                _tick(stage, at)

    return FaultCollector()


def dbt_callbacks() -> list[Any]:
    """dbtRunner callbacks: none unless ``dbt`` is armed, else one that dies when the
    armed node finishes."""
    fault = armed()
    if fault is None or fault[0] != "dbt":
        return []
    _, at = fault

    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        if isinstance(at, str):  # the node of that name (e.g. dim_customer) has finished
            if event.data.node_info.node_name == at:
                die()
        else:
            _tick("dbt", at)

    return [on_event]

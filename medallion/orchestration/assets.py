"""The asset graph, read from dbt's manifest, and the one asset step that runs it.

* **Raw tables** (group ``bronze``): every table of the dbt sources ``archive``, ``live``
  and ``files``, the tables the three dlt pipelines write, keyed
  ``raw_<source>/<table>``; dbt's sources get the same keys (``Translator``), so the
  lineage runs from each raw table to each mart.
* **dbt nodes**: every seed, model and snapshot of the manifest (``dagster-dbt``), its
  tests as asset checks; the Power BI exposures as assets downstream of their marts.
* **Checks** with the severity the policy gives them (``medallion.policy``): source
  freshness, volume against the recent runs, the raw and the gold expectations.

One multi-asset, ``medallion_run``, materialises all of it by calling
``medallion.run.run``: the same steps, in the same order, with the same audit and the
same warehouse lock as ``medallion run``. Its events are read from the run's audit
afterwards, so a run that stopped still reports what it did and which check stopped it.
"""

import io
import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    multi_asset,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dbt.asset_utils import build_dbt_specs, get_asset_check_key_for_test
from pydantic import Field

from ..settings import PROJECT_DIR, RAW_SCHEMAS, ConfigError, prepare_environment
from .alerts import alert_on_failure
from .automation import retry_or_fail, retry_settings

prepare_environment()  # telemetry off, dlt and dbt pointed at the project, before either loads

# Folders of the dbt project -> the asset group they appear in.
GROUPS = {
    "staging": "silver",
    "intermediate": "silver",
    "snapshots": "silver",
    "marts": "gold",
    "quarantine": "quarantine",
    "audit": "audit",
    "restricted": "restricted",
}
PROJECT_INPUTS = ("models", "macros", "seeds", "snapshots", "tests", "dbt_project.yml")
DBT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}  # not tests/python


def raw_key(source: str, table: str) -> AssetKey:
    """The key of one raw table: the dlt dataset (without the schema prefix) and table."""
    return AssetKey([RAW_SCHEMAS[source], table])


class Translator(DagsterDbtTranslator):
    """dagster-dbt's translator, with dbt's raw sources keyed as the raw tables and every
    node grouped by its layer."""

    def get_asset_spec(self, manifest, unique_id, project):  # type: ignore[override]
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            if props["source_name"] in RAW_SCHEMAS:
                return spec.replace_attributes(
                    key=raw_key(props["source_name"], props["name"]), group_name="bronze"
                )
            return spec
        if props["resource_type"] == "seed":
            return spec.replace_attributes(group_name="seeds")
        folder = props["fqn"][1] if props["resource_type"] == "model" else "snapshots"
        return spec.replace_attributes(group_name=GROUPS.get(folder, "silver"))


TRANSLATOR = Translator(DagsterDbtTranslatorSettings(enable_asset_checks=True))


def target_dir() -> Path:
    """dbt's target folder (``DBT_TARGET_PATH``), where the manifest is written."""
    return Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")


def manifest_path() -> Path:
    """dbt's manifest, parsed again (``dbt parse``) when it is missing or older than a
    file of the project: the graph always shows the project as it is on disk."""
    from ..transform import run_dbt

    manifest = target_dir() / "manifest.json"
    if manifest.exists():
        built = manifest.stat().st_mtime
        inputs = [PROJECT_DIR / name for name in PROJECT_INPUTS]
        files = [f for p in inputs for f in ([p] if p.is_file() else p.rglob("*"))]
        read = [f for f in files if f.suffix in DBT_SUFFIXES and f.is_file()]
        if all(f.stat().st_mtime <= built for f in read):
            return manifest
    run_dbt(["parse"], target=os.environ.get("MEDALLION_TARGET") or "duckdb")
    return manifest


@cache
def manifest() -> dict[str, Any]:
    return json.loads(manifest_path().read_text())


def dbt_specs() -> tuple[list[AssetSpec], list[AssetCheckSpec]]:
    """Every seed, model and snapshot, and every dbt test as an asset check."""
    specs, checks = build_dbt_specs(
        manifest=manifest(),
        translator=TRANSLATOR,
        select="fqn:*",
        exclude="",
        selector="",
        io_manager_key=None,
        project=None,
    )
    return list(specs), list(checks)


def raw_sources() -> list[dict[str, Any]]:
    """The manifest's source tables the dlt pipelines write (sources archive, live, files)."""
    return sorted(
        (node for node in manifest()["sources"].values() if node["source_name"] in RAW_SCHEMAS),
        key=lambda node: (node["source_name"], node["name"]),
    )


def has_freshness(node: dict[str, Any]) -> bool:
    freshness = node.get("freshness") or {}
    return any((freshness.get(k) or {}).get("count") for k in ("warn_after", "error_after"))


def raw_specs() -> list[AssetSpec]:
    return [
        AssetSpec(
            key=raw_key(node["source_name"], node["name"]),
            description=node.get("description") or None,
            group_name="bronze",
            kinds={"dlt"},
            metadata={"dlt pipeline": f"medallion_{node['source_name']}"},
        )
        for node in raw_sources()
    ]


def mart_key(name: str) -> AssetKey:
    """The asset key dbt's translator gives the model ``name``."""
    return TRANSLATOR.get_asset_spec(manifest(), f"model.medallion.{name}", None).key


def quality_datasets(layer: str) -> dict[str, tuple[AssetKey, str]]:
    """Each dataset of a layer's expectation file (``quality/<layer>.json``) -> the asset
    its check is attached to and the check's name. A query dataset is attached to the
    first model it reads."""
    from ..quality import load_layer

    models = {n["name"] for n in manifest()["nodes"].values() if n["resource_type"] == "model"}
    attached: dict[str, tuple[AssetKey, str]] = {}
    for dataset in load_layer(layer).datasets:
        schema, table = dataset.name.split(".", 1)
        if dataset.sql is None and layer == "raw":
            source = next(s for s, name in RAW_SCHEMAS.items() if name == schema)
            attached[dataset.name] = (raw_key(source, table), "expectations")
        elif dataset.sql is None:
            attached[dataset.name] = (mart_key(table), "expectations")
        else:
            read = [m for m in re.findall(r"\.(\w+)", dataset.sql) if m in models]
            if read:
                attached[dataset.name] = (mart_key(read[0]), f"expectations_{table}")
    return attached


def quality_check_specs() -> list[AssetCheckSpec]:
    """Freshness and volume of every raw table, and the raw and gold expectations."""
    checks = []
    for node in raw_sources():
        key = raw_key(node["source_name"], node["name"])
        if not node["name"].startswith("_"):  # the pipeline's own tables have no volume check
            checks.append(
                AssetCheckSpec(
                    "volume",
                    asset=key,
                    description="Rows (and amount) against the recent runs (anomaly_factor).",
                )
            )
        if has_freshness(node):
            checks.append(
                AssetCheckSpec(
                    "freshness",
                    asset=key,
                    description="dbt source freshness: age of the newest load.",
                )
            )
    for layer in ("raw", "gold"):
        for dataset, (key, name) in quality_datasets(layer).items():
            checks.append(
                AssetCheckSpec(
                    name,
                    asset=key,
                    description=f"The {layer} expectations of {dataset} (quality/{layer}.json).",
                )
            )
    return checks


def exposure_specs() -> list[AssetSpec]:
    """The Power BI reports (dbt exposures), downstream of the marts they read."""
    nodes = manifest()["nodes"]
    return [
        AssetSpec(
            key=AssetKey(["powerbi", exposure["name"]]),
            description=exposure.get("description") or None,
            group_name="powerbi",
            kinds={"powerbi"},
            deps=[
                TRANSLATOR.get_asset_spec(manifest(), uid, None).key
                for uid in exposure["depends_on"]["nodes"]
                if uid in nodes
            ],
            owners=[exposure["owner"]["email"]] if exposure["owner"].get("email") else [],
        )
        for exposure in manifest()["exposures"].values()
    ]


class RunSettings(Config):
    """The ``medallion run`` flags a Dagster run can set (launchpad or run config)."""

    target: str = Field(
        "",
        description="warehouse: duckdb or mysql (empty: MEDALLION_TARGET, else duckdb)",
    )
    full_refresh: bool = Field(False, description="reload every source whole")
    force: bool = Field(False, description="dbt build even when nothing changed")
    strict: bool = Field(False, description="any warning fails the run")


class LogOutput:
    """The ``Output`` the run prints to (``medallion.report``): Dagster's log, as text."""

    def __init__(self, log: Any) -> None:
        self.log = log

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from rich.console import Console

        console = Console(file=io.StringIO(), width=110, record=True, color_system=None)
        console.print(*objects, **kwargs)
        text = console.export_text().rstrip()
        if text:
            self.log.info(text)


# --- what a run did, as Dagster events -----------------------------------------------------


def raw_events(audit: Any) -> Iterator[MaterializeResult | AssetCheckResult]:
    """The raw tables loaded, then their freshness, volume and expectations."""
    known = {
        (RAW_SCHEMAS[node["source_name"]], node["name"]): node["source_name"]
        for node in raw_sources()
    }
    checked = {spec.key for spec in quality_check_specs()}
    for name, row in sorted(audit.tables.items()):
        schema, _, table = name.partition(".")
        if row.layer != "raw" or (schema, table) not in known or row.rows_loaded is None:
            continue
        yield MaterializeResult(
            asset_key=raw_key(known[(schema, table)], table),
            metadata={
                "rows extracted": row.rows_extracted,
                "rows loaded": row.rows_loaded,
                **({"note": row.note} if row.note else {}),
            },
        )
    for fresh in audit.freshness:
        schema, _, table = fresh.table.partition(".")
        if (schema, table) not in known:
            continue
        key = raw_key(known[(schema, table)], table)
        if AssetCheckKey(key, "freshness") not in checked:
            continue
        yield AssetCheckResult(
            asset_key=key,
            check_name="freshness",
            passed=fresh.status == "pass",
            severity=_severity(fresh.status in ("error", "runtime error")),
            description=fresh.describe(),
            metadata={"status": fresh.status},
        )
    for anomaly in audit.anomalies:
        schema, _, table = anomaly.table.partition(".")
        if (schema, table) not in known:
            continue
        row = audit.tables[anomaly.table]
        yield AssetCheckResult(
            asset_key=raw_key(known[(schema, table)], table),
            check_name="volume",
            passed=not anomaly.flagged,
            severity=AssetCheckSeverity.WARN,  # an anomaly is reported, never stops a run
            description=anomaly.reason or None,
            metadata={"rows": row.table_rows},
        )
    yield from quality_events(audit, "raw")


def quality_events(audit: Any, layer: str) -> Iterator[AssetCheckResult]:
    """One check result per dataset of a layer's expectations, failed critical (ERROR) or
    warning (WARN) as ``quality.LayerReport.apply_policy`` judged it."""
    report = audit.quality.get(layer)
    if report is None:
        return
    attached = quality_datasets(layer)
    from ..settings import schema_prefix

    prefix = schema_prefix()
    for outcome in report.outcomes:
        name = outcome.dataset[len(prefix) :] if outcome.dataset.startswith(prefix) else None
        key, check = attached.get(name or outcome.dataset, (None, None))
        if key is None:
            continue
        critical, warning = outcome.failed("critical"), outcome.failed("warning")
        yield AssetCheckResult(
            asset_key=key,
            check_name=check,
            passed=not critical and not warning,
            severity=_severity(bool(critical)),
            description="; ".join(f.describe() for f in critical + warning)[:2000] or None,
            metadata={
                "expectations": outcome.checked,
                "passed": outcome.passed,
                "failed critical": len(critical),
                "failed warning": len(warning),
            },
        )


def dbt_events(audit: Any, check_keys: set[Any]) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Each node dbt built (seed, model, snapshot) and each test it ran: a test that
    warned (within ``max_bad_row_share``, or of severity warn) is a WARN, one that failed
    an ERROR."""
    for result in audit.dbt_results:
        node = result.node
        status = str(result.status)
        if node.resource_type in ("model", "seed", "snapshot"):
            if status == "success":
                yield MaterializeResult(
                    asset_key=TRANSLATOR.get_asset_spec(manifest(), node.unique_id, None).key,
                    metadata={"seconds": round(float(result.execution_time or 0), 3)},
                )
        elif node.resource_type == "test" and status in ("pass", "warn", "fail", "error"):
            key = get_asset_check_key_for_test(manifest(), TRANSLATOR, node.unique_id, None)
            if key is None or key not in check_keys:
                continue
            failures = getattr(result, "failures", None)
            yield AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=status == "pass",
                severity=_severity(status in ("fail", "error")),
                metadata={"status": status, **({"failures": failures} if failures else {})},
            )


def _severity(error: bool) -> AssetCheckSeverity:
    return AssetCheckSeverity.ERROR if error else AssetCheckSeverity.WARN


# --- the asset step -------------------------------------------------------------------------


def build_run_asset() -> Any:
    """``medallion_run``: every raw table and dbt node, with every check, in one step."""
    model_specs, test_checks = dbt_specs()
    specs = raw_specs() + model_specs
    checks = test_checks + quality_check_specs()
    check_keys = {check.key for check in checks}
    every_key = {spec.key for spec in specs}

    # can_subset: a build that is skipped (nothing changed) or a run that stops reports
    # only what it did; a selection of part of the graph is refused below.
    @multi_asset(
        name="medallion_run",
        specs=specs,
        check_specs=checks,
        can_subset=True,
        hooks={alert_on_failure},
        description="`medallion run`: ingest, check the load, build, check the marts, "
        "publish, record (medallion/run.py).",
    )
    def medallion_run(context: AssetExecutionContext, config: RunSettings):
        from ..lock import warehouse_lock
        from ..run import RunOptions, run
        from ..run_audit import RunAudit
        from ..transform import release_warehouse

        left_out = every_key - set(context.selected_asset_keys)
        if left_out:
            raise ConfigError(
                f"medallion_run is one `medallion run`: it builds every raw table, dbt node "
                f"and check together, but {len(left_out)} of its assets were left out of "
                "the selection. Select them all: the job medallion_run_job, or "
                "`dagster asset materialize --select '*'`."
            )
        retry_settings()  # a bad retry setting fails here, before anything is loaded
        options = RunOptions(
            target=config.target or os.environ.get("MEDALLION_TARGET") or "duckdb",
            full_refresh=config.full_refresh,
            force=config.force,
            strict=config.strict,
        )
        audit = RunAudit(
            target=options.target,
            command=f"dagster run {context.run.run_id} ({options.command_line()})",
        )
        error: Exception | None = None
        try:
            with warehouse_lock(options.target, "dagster run"):
                try:
                    run(options, LogOutput(context.log), audit=audit)
                finally:  # the DuckDB file is closed before another run may take the lock
                    release_warehouse()
        except Exception as exc:  # the events of what was done are reported first
            error = exc
        yield from raw_events(audit)
        yield from dbt_events(audit, check_keys)
        yield from quality_events(audit, "gold")
        if error is not None:
            raise retry_or_fail(error, context.retry_number)

    return medallion_run

"""Data-quality checkpoints: Great Expectations on the raw layer and on the gold marts.

The expectation suites live in the repository (``quality/raw.json``, ``quality/gold.json``):
each file binds datasets (a warehouse table, or a small SQL query for a rule that spans
tables) to GX expectation suites, written in GX's own suite format. Every expectation
carries GX's ``severity``: ``critical`` stops the run (``QualityFailed``: the table, the
expectation, the count of bad rows and the rule), ``warning`` is reported in the summary
and the run goes on. A critical row-level expectation that fails on no more than
``max_bad_row_share`` of the rows is a warning (``policy``: those rows are routed).

How the data reaches GX: each dataset is read from the warehouse into a pandas DataFrame
(DuckDB natively, through Arrow; MySQL through SQLAlchemy), normalised to one set of
dtypes, and validated by GX's pandas engine. One engine means every expectation behaves
the same on both warehouses (a regex, a type, a null), and no SQL dialect package is
needed: GX has no DuckDB dialect of its own, and the third-party one (``duckdb-engine``)
lags DuckDB 2.0. The cost is memory: a dataset is held whole while it is validated.

GX runs in an ephemeral, in-memory context (no ``gx/`` folder, no cloud, no analytics);
the only thing it writes is the Data Docs site, rebuilt on every run beside the
warehouse: ``<warehouse dir>/data_docs/index.html``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .report import labelled
from .settings import (
    PROJECT_DIR,
    ConfigError,
    MySQLWarehouse,
    built_schema,
    describe_warehouse,
    schema_prefix,
    warehouse_path,
)

SUITES_DIR = PROJECT_DIR / "quality"
LAYERS = ("raw", "gold")
SEVERITIES = ("critical", "warning")
DOCS_SITE = "medallion"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}

Progress = Callable[[str], None]


class QualityFailed(Exception):
    """A critical expectation failed; the message names each table, expectation and the
    count of bad rows."""


# --- the suites in the repository -------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """What one validation reads: a table (``schema.table``, schema without the prefix) or
    a query whose ``{schema}`` and ``{dbt var}`` placeholders are filled in at run time."""

    name: str
    suites: tuple[str, ...]
    sql: str | None = None
    optional: bool = False

    @property
    def is_table(self) -> bool:
        return self.sql is None


@dataclass
class LayerSpec:
    layer: str
    description: str
    datasets: list[Dataset]
    suites: dict[str, dict[str, Any]]


def suite_file(layer: str) -> Path:
    return SUITES_DIR / f"{layer}.json"


def load_layer(layer: str) -> LayerSpec:
    """Read and check one layer's file: every expectation states its severity, every
    dataset names suites that exist, every table is ``schema.table``."""
    if layer not in LAYERS:
        raise ConfigError(f"Unknown quality layer {layer!r}: use one of {', '.join(LAYERS)}")
    path = suite_file(layer)
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"The expectation suites of {layer} are missing: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None

    suites: dict[str, dict[str, Any]] = {}
    for suite in content.get("suites", []):
        name = suite.get("name")
        if not name or name in suites:
            raise ConfigError(f"{path}: every suite needs a unique name (got {name!r})")
        for number, expectation in enumerate(suite.get("expectations", []), start=1):
            severity = expectation.get("severity")
            if severity not in SEVERITIES:
                raise ConfigError(
                    f"{path}: expectation {number} of suite {name!r} "
                    f"({expectation.get('type')}) needs a severity, one of "
                    f"{', '.join(SEVERITIES)} (got {severity!r})"
                )
        suites[name] = suite

    datasets = []
    for entry in content.get("validations", []):
        name = entry.get("dataset", "")
        names = tuple(entry.get("suites", []))
        unknown = [s for s in names if s not in suites]
        if unknown or not names:
            raise ConfigError(f"{path}: dataset {name!r} names unknown suites {unknown or names}")
        sql = entry.get("sql")
        if isinstance(sql, list):
            sql = "\n".join(sql)
        if sql is None and not re.fullmatch(r"[a-z_]+\.[A-Za-z0-9_]+", name):
            raise ConfigError(f"{path}: a table dataset is named schema.table, got {name!r}")
        datasets.append(Dataset(name, names, sql, bool(entry.get("optional", False))))
    return LayerSpec(layer, content.get("description", ""), datasets, suites)


def dbt_vars() -> dict[str, Any]:
    """The thresholds of docs/contracts/gold.md, as ``dbt_project.yml`` sets them (the
    dbt build uses the same defaults: ``medallion build`` passes no ``--vars``)."""
    import yaml

    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    return dict(project.get("vars") or {})


def expectation_parameters() -> dict[str, Any]:
    """Values for the suites' ``{"$PARAMETER": name}``: every dbt var, and ``tomorrow``
    (UTC, naive like the warehouse's timestamps) for "not in the future" checks."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {**dbt_vars(), "tomorrow": now + dt.timedelta(days=1)}


# --- reading the warehouse --------------------------------------------------------------


def schema_name(name: str) -> str:
    """A schema of the project, with the environment's prefix (validated by
    ``settings.schema_prefix``: letters, digits and ``_`` only, so safe in SQL)."""
    return schema_prefix() + name


def frame_from_arrow(table: Any) -> Any:
    """One set of dtypes whichever warehouse the rows came from, so that a suite's
    ``type_list`` means the same everywhere: integers ``Int64`` (nullable), decimals and
    floats ``float64``, text ``object`` holding ``str``, timestamps and dates
    ``datetime64[us]`` (UTC, naive), booleans ``boolean``."""
    import pandas as pd
    import pyarrow as pa

    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_decimal(kind) or pa.types.is_floating(kind):
            column = column.cast(pa.float64())
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_large_string(kind) or getattr(pa.types, "is_string_view", bool)(kind):
            column = column.cast(pa.string())
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=table.column_names)

    def mapper(kind: Any) -> Any:
        if pa.types.is_integer(kind):
            return pd.Int64Dtype()
        if pa.types.is_boolean(kind):
            return pd.BooleanDtype()
        return None

    frame = table.to_pandas(types_mapper=mapper)
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_string(kind):
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


class Warehouse:
    """Read-only access to one warehouse target: tables and queries as DataFrames."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._conn: Any = None
        self._engine: Any = None

    def describe(self) -> str:
        if self.target == "mysql":
            return MySQLWarehouse.from_environment().describe()
        if self.target == "spark":
            return describe_warehouse("spark")
        return str(warehouse_path())

    def open(self) -> None:
        if self.target == "spark":
            # Spark's tables and the lake, read as Parquet by DuckDB (``spark_control``)
            import duckdb

            from .spark_control import connect

            try:
                self._conn = connect()
            except duckdb.Error as exc:
                raise QualityFailed(f"Cannot open Spark's control file: {exc}") from None
        elif self.target == "duckdb":
            import duckdb

            path = warehouse_path()
            if not path.exists():
                raise ConfigError(f"No warehouse at {path}: run `medallion run` first.")
            try:
                try:
                    self._conn = duckdb.connect(str(path), read_only=True)
                except duckdb.ConnectionException:
                    # This process already has the file open read-write (dlt or dbt ran
                    # in it); DuckDB then shares that instance, in its configuration.
                    self._conn = duckdb.connect(str(path))
            except duckdb.Error as exc:
                raise QualityFailed(f"Cannot open the warehouse {path}: {exc}") from None
        elif self.target == "mysql":
            import sqlalchemy

            server = MySQLWarehouse.from_environment()
            self._engine = sqlalchemy.create_engine(
                server.url(),
                connect_args={"connect_timeout": 10},
                poolclass=sqlalchemy.pool.NullPool,
            )
            try:
                self._scalar("select 1")
            except sqlalchemy.exc.SQLAlchemyError as exc:
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                raise QualityFailed(
                    f"Cannot reach the MySQL warehouse at {server.host}:{server.port} "
                    f"(MEDALLION_MYSQL_*): {reason}"
                ) from None
        else:
            raise ConfigError(
                f"Unknown warehouse target {self.target!r}: use duckdb, mysql or spark"
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def quote(self, identifier: str) -> str:
        if self.target == "mysql":
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def schema(self, name: str) -> str:
        """A schema as this target's build names it (the marts are checked where dbt
        built them, before they are published)."""
        return schema_name(built_schema(name, self.target))

    def relation(self, dataset: str) -> str:
        schema, table = dataset.split(".", 1)
        return f"{self.quote(self.schema(schema))}.{self.quote(table)}"

    def has_table(self, dataset: str) -> bool:
        schema, table = dataset.split(".", 1)
        sql = (
            "select count(*) from information_schema.tables"
            f" where table_schema = '{self.schema(schema)}' and table_name = '{table}'"
        )
        return bool(self._scalar(sql))

    def _scalar(self, sql: str) -> Any:
        if self._conn is not None:
            return self._conn.execute(sql).fetchall()[0][0]
        import sqlalchemy

        with self._engine.connect() as connection:
            return connection.execute(sqlalchemy.text(sql)).scalar()

    def frame(self, sql: str) -> Any:
        """Run ``sql`` and return its rows as a DataFrame (see ``frame_from_arrow``)."""
        if self._conn is not None:
            return frame_from_arrow(self._conn.sql(sql).to_arrow_table())
        import pandas as pd
        import pyarrow as pa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = pd.read_sql_query(sql, self._engine, dtype_backend="pyarrow")
        return frame_from_arrow(pa.Table.from_pandas(raw, preserve_index=False))

    def dataset_sql(self, dataset: Dataset, variables: dict[str, Any]) -> str:
        if dataset.is_table:
            return f"select * from {self.relation(dataset.name)}"
        names = {
            schema: self.quote(self.schema(schema))
            for schema in re.findall(r"\{([a-z_]+)\}", dataset.sql or "")
            if schema not in variables
        }
        return (dataset.sql or "").format_map({**variables, **names})


# --- results ----------------------------------------------------------------------------


@dataclass
class Failure:
    """One expectation that did not hold on one dataset."""

    dataset: str
    suite: str
    expectation: str
    severity: str
    unexpected: int | None
    rows: int | None
    detail: str = ""
    kind: str = ""  # the GX expectation type
    structural: bool = False  # the suite's meta.structural (a key column)
    rule: str = ""  # the policy rule that decided its severity (policy.judge)
    examples: str = ""  # a few failing values, as printed

    def describe(self) -> str:
        if self.unexpected is not None:
            of = f" of {self.rows:,}" if self.rows is not None else ""
            count = f"{self.unexpected:,}{of} rows bad"
        else:
            count = "failed"
        detail = f" ({self.detail})" if self.detail else ""
        rule = f" (rule: {self.rule})" if self.rule else ""  # not [...]: rich markup
        return f"{self.dataset}: {self.expectation}: {count}{detail}{rule}"


@dataclass
class DatasetOutcome:
    """The validations of one dataset: its suites and their counts."""

    dataset: str
    suites: tuple[str, ...]
    checked: int = 0
    passed: int = 0
    failures: list[Failure] = field(default_factory=list)
    note: str = ""

    def failed(self, severity: str) -> list[Failure]:
        return [f for f in self.failures if f.severity == severity]


@dataclass
class LayerReport:
    """One layer's validation run: per dataset outcomes, its time and its Data Docs."""

    layer: str
    warehouse: str
    outcomes: list[DatasetOutcome]
    seconds: float
    docs_index: Path

    @property
    def critical(self) -> list[Failure]:
        return [f for o in self.outcomes for f in o.failed("critical")]

    @property
    def warnings(self) -> list[Failure]:
        return [f for o in self.outcomes for f in o.failed("warning")]

    @property
    def checked(self) -> int:
        return sum(o.checked for o in self.outcomes)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    def headline(self) -> str:
        return (
            f"Data quality {self.layer}: {self.passed:,} of {self.checked:,} checks passed, "
            f"{len(self.critical)} critical failed, {len(self.warnings)} warning(s)"
        )

    def table(self) -> Any:
        """The summary as a rich Table, in the CLI's style."""
        from rich.table import Table

        table = Table(
            title=f"Data quality: {self.layer} ({self.seconds:.1f} s)", title_justify="left"
        )
        table.add_column("table")
        table.add_column("suites")
        table.add_column("checks", justify="right")
        table.add_column("passed", justify="right")
        table.add_column("failed critical", justify="right")
        table.add_column("failed warning", justify="right")
        table.add_column("note")
        for outcome in self.outcomes:
            critical = len(outcome.failed("critical"))
            warning = len(outcome.failed("warning"))
            table.add_row(
                outcome.dataset,
                ", ".join(outcome.suites),
                str(outcome.checked),
                str(outcome.passed),
                f"[bold red]{critical}[/bold red]" if critical else "0",
                f"[yellow]{warning}[/yellow]" if warning else "0",
                outcome.note,
            )
        return table

    def print(self, console: Any) -> None:
        console.print(self.table())
        for failure in self.warnings:
            console.print(labelled("[yellow]Warning:[/yellow]", failure.describe()))
        for failure in self.critical:
            console.print(labelled("[bold red]Critical:[/bold red]", failure.describe()))
        console.print(self.headline())
        console.print(f"Data Docs: {self.docs_index}", markup=False)

    def apply_policy(self, share: float) -> None:
        """The policy (``policy.judge``) on every critical failure: a row-level one
        whose failing rows are within ``share`` of the table becomes a warning (the
        pipeline routes those rows); the rest stay critical, each naming its rule."""
        from .policy import judge

        for failure in self.critical:
            verdict = judge(
                failure.kind, failure.unexpected, failure.rows, share, failure.structural
            )
            failure.rule = verdict.rule
            if not verdict.stops:
                failure.severity = "warning"

    def raise_for_critical(self, consequence: str = "") -> None:
        """Raise ``QualityFailed`` naming every critical failure, if there is one."""
        if not self.critical:
            return
        lines = "\n  ".join(f.describe() for f in self.critical)
        consequence = f" {consequence}" if consequence else ""
        raise QualityFailed(
            f"{len(self.critical)} critical data-quality check(s) failed on the "
            f"{self.layer} layer ({self.warehouse}):\n  {lines}\n"
            f"Details in the Data Docs: {self.docs_index}.{consequence}"
        )


def _expectation_label(config: Any) -> str:
    kwargs = dict(config.kwargs)
    target = kwargs.get("column") or ", ".join(
        kwargs.get("column_list")
        or [c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
    )
    condition = kwargs.get("row_condition")
    where = ""
    if condition:
        where = (
            f" where {condition}"
            if isinstance(condition, str)
            else f" where {_condition(condition)}"
        )
    return f"{config.type}({target}){where}" if target else str(config.type)


def _condition(condition: Any) -> str:
    data = condition if isinstance(condition, dict) else condition.dict()
    column = data.get("column", {})
    column = column.get("name") if isinstance(column, dict) else getattr(column, "name", column)
    operator = data.get("operator")
    operator = getattr(operator, "value", operator)
    return f"{column} {operator} {data.get('parameter')!r}"


def _failure_detail(result: Any, columns: set[str]) -> str:
    kwargs = result.expectation_config.kwargs
    named = [kwargs.get(k) for k in ("column", "column_A", "column_B")] + list(
        kwargs.get("column_list") or []
    )
    missing = [c for c in named if c and c not in columns]
    if missing:
        return f"no column {', '.join(missing)}"
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "").strip().splitlines()
        return "could not be evaluated: " + (message[-1] if message else "error")
    details = result.result or {}
    parts = []
    mismatched = (details.get("details") or {}).get("mismatched")
    observed = details.get("observed_value")
    if mismatched:
        if result.expectation_config.kwargs.get("exact_match") is False:
            mismatched = {"missing": mismatched.get("missing") or []}
        parts.append(
            "; ".join(f"{key}: {', '.join(map(str, v))}" for key, v in mismatched.items() if v)
        )
    elif observed is not None and details.get("unexpected_count") is None:
        parts.append(f"observed {_show(observed)}")
    shown = _examples(details)
    if shown:
        parts.append(f"e.g. {shown}")
    notes = (result.expectation_config.meta or {}).get("notes")
    if notes:
        parts.append(str(notes))
    return "; ".join(parts)


def _examples(details: dict[str, Any]) -> str:
    """Up to five failing values with their counts (``'Lost' x3, ''  x1``)."""
    counts = [
        (item.get("value"), item.get("count"))
        for item in details.get("partial_unexpected_counts") or []
        if _show(item.get("value")) != "null"
    ]
    return ", ".join(f"{_show(value)} x{count}" for value, count in counts[:5])


def _show(value: Any) -> str:
    """A value as a person reads it: 19.74, not np.float64(19.740000000000002)."""
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if hasattr(value, "item") and not hasattr(value, "isoformat"):
        value = value.item()
    if value is None or str(value) in ("<NA>", "NaT", "nan"):
        return "null"
    if hasattr(value, "isoformat"):
        return str(value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return repr(value)


def _record(outcome: DatasetOutcome, suite: str, results: list[Any], columns: set[str]) -> None:
    for result in results:
        outcome.checked += 1
        config = result.expectation_config
        if result.success:
            outcome.passed += 1
            continue
        severity = str(getattr(config, "severity", None) or "critical")
        severity = getattr(config.severity, "value", severity)
        details = result.result or {}
        unexpected = details.get("unexpected_count")
        outcome.failures.append(
            Failure(
                dataset=outcome.dataset,
                suite=suite,
                expectation=_expectation_label(config),
                severity=severity,
                unexpected=None if unexpected is None else int(unexpected),
                rows=details.get("element_count"),
                detail=_failure_detail(result, columns),
                kind=str(config.type),
                structural=bool((config.meta or {}).get("structural")),
                examples=_examples(details),
            )
        )


# --- Great Expectations -----------------------------------------------------------------


def data_docs_dir(target: str) -> Path:
    """Where the Data Docs site of a warehouse is written: beside the DuckDB file, in
    ``data_docs/`` (``data_docs-<prefix>`` with a schema prefix); for MySQL, in
    ``data_docs-mysql-<host>-<port>[-<prefix>]`` beside where the DuckDB file would be;
    for Spark in ``data_docs-spark[-<prefix>]`` there."""
    prefix = schema_name("")
    if target == "mysql":
        server = MySQLWarehouse.from_environment()
        name = f"data_docs-mysql-{server.host}-{server.port}" + (f"-{prefix}" if prefix else "")
    elif target == "spark":
        name = "data_docs-spark" + (f"-{prefix}" if prefix else "")
    else:
        name = "data_docs" + (f"-{prefix}" if prefix else "")
    return warehouse_path().parent / re.sub(r"[^A-Za-z0-9_.-]", "_", name)


_CONTEXTS: dict[Path, Any] = {}


def _quiet_gx() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.render"):
        logging.getLogger(name).setLevel(logging.ERROR)


def gx_context(docs_dir: Path) -> Any:
    """The process's GX context for one Data Docs folder: ephemeral (stores in memory),
    analytics off, no progress bars, one local Data Docs site. The site's folder is
    cleared the first time, so it shows this process's runs (``medallion run`` shows
    both layers) and never a stale page."""
    if docs_dir in _CONTEXTS:
        return _CONTEXTS[docs_dir]
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _quiet_gx()
    for generated in ("index.html", "expectations", "validations", "static"):
        path = docs_dir / generated
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={
            DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.data_sources.add_pandas("warehouse")
    _CONTEXTS[docs_dir] = context
    return context


def _suite(context: Any, spec: dict[str, Any]) -> Any:
    import great_expectations as gx

    with contextlib.suppress(Exception):
        return context.suites.get(spec["name"])
    suite = gx.ExpectationSuite(
        name=spec["name"],
        expectations=spec.get("expectations", []),
        meta=spec.get("meta") or {},
    )
    return context.suites.add(suite)


def _checkpoint(context: Any, layer: str, dataset: Dataset, spec: LayerSpec) -> Any:
    """The GX checkpoint of one dataset: its DataFrame asset, one validation definition
    per suite, results in SUMMARY format. (GX's checkpoint takes one DataFrame per run,
    so a layer is the set of its datasets' checkpoints, run with one run id.)"""
    import great_expectations as gx

    name = f"{layer}:{dataset.name}"
    with contextlib.suppress(Exception):
        return context.checkpoints.get(name)
    source = context.data_sources.get("warehouse")
    asset = source.add_dataframe_asset(dataset.name)
    batch = asset.add_batch_definition_whole_dataframe("whole table")
    definitions = [
        context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{dataset.name} / {suite}",
                data=batch,
                suite=_suite(context, spec.suites[suite]),
            )
        )
        for suite in dataset.suites
    ]
    return context.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=definitions, result_format=RESULT_FORMAT)
    )


@contextlib.contextmanager
def _opened(warehouse: Warehouse) -> Iterator[Warehouse]:
    warehouse.open()
    try:
        yield warehouse
    finally:
        warehouse.close()


def validate_layer(
    layer: str,
    target: str = "duckdb",
    progress: Progress | None = None,
    share: float | None = None,
) -> LayerReport:
    """Run the checkpoints of one layer (``raw`` or ``gold``) on the target's warehouse,
    rebuild the Data Docs, and return the report with the policy applied (``share``:
    ``max_bad_row_share``, the configured one when None). Raises nothing for failed
    expectations: the caller decides (``LayerReport.raise_for_critical``)."""
    from great_expectations.core.run_identifier import RunIdentifier

    from .policy import max_bad_row_share

    if share is None:
        share, _ = max_bad_row_share()  # a bad setting fails before any validation
    progress = progress or (lambda message: None)
    spec = load_layer(layer)
    started = time.perf_counter()
    parameters = expectation_parameters()
    docs_dir = data_docs_dir(target)
    warehouse = Warehouse(target)
    run_id = RunIdentifier(run_name=layer, run_time=dt.datetime.now(dt.UTC))
    outcomes: list[DatasetOutcome] = []
    with _opened(warehouse):
        context = gx_context(docs_dir)
        for dataset in spec.datasets:
            shown = _display_name(dataset)
            outcome = DatasetOutcome(shown, dataset.suites)
            outcomes.append(outcome)
            if dataset.is_table and not warehouse.has_table(dataset.name):
                _missing(outcome, dataset)
                continue
            progress(f"validating {shown}")
            try:
                frame = warehouse.frame(warehouse.dataset_sql(dataset, parameters))
            except Exception as exc:  # a query the warehouse refused: the dataset fails
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                outcome.checked += 1
                outcome.failures.append(
                    Failure(shown, "", "the dataset can be read", "critical", None, None, reason)
                )
                continue
            checkpoint = _checkpoint(context, layer, dataset, spec)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = checkpoint.run(
                    batch_parameters={"dataframe": frame},
                    expectation_parameters=parameters,
                    run_id=run_id,
                )
            for validation in result.run_results.values():
                suite = validation.suite_name
                _record(outcome, suite, validation.results, set(frame.columns))
            del frame
    progress("building the Data Docs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context.build_data_docs(site_names=[DOCS_SITE])
    _local_logo(docs_dir)
    report = LayerReport(
        layer=layer,
        warehouse=warehouse.describe(),
        outcomes=outcomes,
        seconds=time.perf_counter() - started,
        docs_index=docs_dir / "index.html",
    )
    report.apply_policy(share)
    return report


_GX_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[\w.-]+\.png"
    r"(\?[^\"')\s]*)?"
)


def _local_logo(docs_dir: Path) -> None:
    """GX's pages load its logo from GX's own server, stamped with the build time: a
    request home each time someone opens the docs. Point it at the copy the site ships.
    (Bootstrap, jQuery and the fonts still come from public CDNs when the page is
    viewed.)"""
    logo = docs_dir / "static" / "images" / "logo-long.png"
    for page in [*docs_dir.rglob("*.html"), *docs_dir.rglob("*.css")]:
        text = page.read_text(encoding="utf-8")
        local = Path(os.path.relpath(logo, page.parent)).as_posix()
        replaced = _GX_LOGO.sub(local, text)
        if replaced != text:
            page.write_text(replaced, encoding="utf-8")


def _display_name(dataset: Dataset) -> str:
    if not dataset.is_table:
        return dataset.name
    schema, table = dataset.name.split(".", 1)
    return f"{schema_name(schema)}.{table}"


def _missing(outcome: DatasetOutcome, dataset: Dataset) -> None:
    """A table that does not exist: a warning when the dataset is optional (a kind of
    landing file that has not arrived yet; staging reads it as empty), else critical."""
    severity = "warning" if dataset.optional else "critical"
    reason = (
        "no file of this kind has landed yet" if dataset.optional else "run the ingestion first"
    )
    outcome.checked += 1
    outcome.note = "table not found"
    outcome.failures.append(
        Failure(outcome.dataset, "", "the table exists", severity, None, None, reason)
    )

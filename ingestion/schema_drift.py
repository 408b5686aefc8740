"""Schema drift at a source database, settled before anything of it is extracted.

Every table resource carries the column types dlt reflected from the source; the
pipeline's stored schema holds the types raw was created with. Comparing the two
before the extract decides what the run does (docs/operations.md, "Schema drift"):

* **a new column**: dlt adds it to raw (``columns: evolve``); staging selects its
  columns by name, so the models ignore it until someone maps it. A warning.
* **a widened type** (``varchar(20)`` to ``varchar(50)``, ``decimal(12,2)`` to
  ``decimal(14,2)``, ``smallint`` to ``int`` or ``bigint``, a ``NOT NULL`` column
  that now allows NULL): every value raw holds still fits, so raw's column is widened
  here (``ALTER TABLE`` on the raw table and its ``_staging`` twin, which dlt's merge
  loads first), the stored schema takes the new type, and the run goes on. A warning.
  Without this, dlt's frozen ``data_type`` contract stops the live pipeline at its
  extract step ("Contract on `data_type` with `contract_mode=freeze` is violated").
* **a column that now refuses NULL**: raw keeps allowing it (its values still fit);
  the resource is told so, nothing is altered. No warning.
* **any other change** (text where a number was, a narrowed or re-scaled decimal)
  and **a contract column missing** from a source table: structural; the run stops
  before anything of that database is loaded, the message naming the database, the
  table, the column and both types. dlt's own default would load such values into a
  ``<column>__v_<type>`` variant column staging never reads: a silent loss.

The data-type contract stays frozen (``sql_sources.SCHEMA_CONTRACT``): what is
settled here never reaches it, and whatever this module does not know still stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# The source contract's columns (docs/contracts/sources.md) of the tables the models
# read; ``test_schema_drift`` checks this against the page.
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "company_name",
        "address_line_1",
        "address_line_2",
        "city",
        "state",
        "postal_code",
        "country",
        "is_active",
        "created_at",
        "updated_at",
    ),
    "products": (
        "product_code",
        "product_name",
        "product_line",
        "product_family",
        "msrp",
        "updated_at",
    ),
    "transactions": (
        "transaction_id",
        "order_number",
        "order_line_number",
        "customer_id",
        "product_code",
        "quantity",
        "unit_price",
        "amount",
        "status",
        "territory",
        "transaction_date",
        "updated_at",
    ),
}

# The column properties dlt's frozen data-type contract compares (its TColumnType).
TYPE_PROPERTIES = ("data_type", "precision", "scale", "timezone", "nullable")


class SchemaDriftError(Exception):
    """A source column changed in a way raw cannot follow; the message names it."""


@dataclass(frozen=True)
class IngestWarning:
    """What the ingestion followed and reports as a warning: a schema drift (a new
    column, a widened type), a landing file without records."""

    table: str  # the raw table, e.g. raw_live.transactions
    check: str  # "schema drift: type widened", "no records in the file", ...
    detail: str  # e.g. "amount: decimal(12,2) -> decimal(14,2)", the file's name

    def describe(self) -> str:
        """For the ingestion summary's note on the table's line."""
        return f"{self.check.removeprefix('schema drift: ')}: {self.detail}"


def type_text(hints: dict[str, Any]) -> str:
    """A dlt column type as a person reads it: ``decimal(12,2)``, ``text(20)``,
    ``bigint``, with `` not null`` when it refuses NULL."""
    text = str(hints.get("data_type") or "?")
    precision, scale = hints.get("precision"), hints.get("scale")
    if precision is not None:
        text += f"({precision}" + (f",{scale})" if scale is not None else ")")
    return text + ("" if hints.get("nullable", True) else " not null")


def _is_widening(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether every value of type ``old`` fits type ``new`` unchanged (NULL apart)."""
    if old.get("data_type") != new.get("data_type"):
        return False
    if old.get("timezone") != new.get("timezone"):
        return False
    old_p, new_p = old.get("precision"), new.get("precision")
    if old.get("data_type") == "decimal":
        old_s, new_s = old.get("scale") or 0, new.get("scale") or 0
        if old_p is None or new_p is None:
            return old_p == new_p and old_s == new_s
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    return new_p is None or (old_p is not None and new_p >= old_p)


# A type property absent from the incoming hints means "none" (``varchar(20)`` become
# ``text`` loses its precision); an absent nullability means "as before".
_TYPE_ONLY = ("data_type", "precision", "scale", "timezone")


def _differs(old: dict[str, Any], new: dict[str, Any], properties: Iterable[str]) -> bool:
    return any(
        new.get(prop) != old.get(prop)
        if prop in _TYPE_ONLY
        else prop in new and new[prop] != old.get(prop)
        for prop in properties
    )


@dataclass
class _Plan:
    drifts: list[IngestWarning]
    widen: dict[str, dict[str, dict[str, Any]]]  # table -> column -> new hints
    keep_nullable: dict[str, list[str]]  # table -> columns that now refuse NULL
    errors: list[str]


def _plan(
    database: str,
    dataset: str,
    resources: list[Any],
    stored: dict[str, Any],
    normalize: Callable[[str], str],
) -> _Plan:
    """What the drift of ``resources`` against raw's ``stored`` tables asks for. Raw
    holds dlt's normalised names (``discountCode`` lands as ``discount_code``): the
    source's names are compared through ``normalize``, and named as the source has them."""
    plan = _Plan([], {}, {}, [])
    for resource in resources:
        by_source = resource.columns if isinstance(resource.columns, dict) else {}
        if not by_source:
            continue
        table = normalize(resource.name)
        source_names = {normalize(name): name for name in by_source}
        incoming = {normalize(name): hints for name, hints in by_source.items()}
        raw_table = f"{dataset}.{table}"
        missing = [c for c in CONTRACT_COLUMNS.get(table, ()) if c not in incoming]
        for column in missing:
            had = (stored.get(table) or {}).get("columns", {}).get(column)
            plan.errors.append(
                f"the {database} database: table `{table}` has no column `{column}`, a "
                "column of the source contract (docs/contracts/sources.md)"
                + (f"; raw has it as {type_text(had)}" if had else "")
            )
        existing = (stored.get(table) or {}).get("columns", {})
        if not any(hints.get("data_type") for hints in existing.values()):
            continue  # a table raw does not hold yet: created as it comes
        for column, new in incoming.items():
            old = existing.get(column)
            if old is None and new.get("data_type"):
                plan.drifts.append(
                    IngestWarning(
                        raw_table,
                        "schema drift: column added",
                        f"{source_names[column]} {type_text(new)} (loaded into raw as "
                        f"{column}; the models ignore "
                        "it until someone maps it)",
                    )
                )
                continue
            if old is None or not old.get("data_type"):
                continue  # a column raw has not typed yet (no value so far): dlt's call
            if not _differs(old, new, TYPE_PROPERTIES):
                continue
            type_changed = _differs(old, new, _TYPE_ONLY)
            if type_changed and not _is_widening(old, new):
                plan.errors.append(
                    f"the {database} database: table `{table}`, column "
                    f"`{source_names[column]}` changed "
                    f"type from {type_text(old)} (as raw holds it, {raw_table}) to "
                    f"{type_text(new)} at the source: its values cannot be read as before"
                )
                continue
            relaxed = old.get("nullable") is False and new.get("nullable") is True
            if type_changed or relaxed:
                merged = {k: v for k, v in old.items() if k not in _TYPE_ONLY}
                merged.update({p: new[p] for p in TYPE_PROPERTIES if p in new})
                if new.get("nullable") is False and old.get("nullable", True):
                    merged["nullable"] = True  # raw keeps allowing NULL
                plan.widen.setdefault(table, {})[column] = merged
                plan.drifts.append(
                    IngestWarning(
                        raw_table,
                        "schema drift: type widened",
                        f"{column}: {type_text(old)} -> {type_text(merged)} (raw widened)",
                    )
                )
            elif new.get("nullable") is False and old.get("nullable", True):
                plan.keep_nullable.setdefault(resource.name, []).append(source_names[column])
    return plan


def settle(
    database: str, pipeline: Any, resources: list[Any], target: str = "duckdb"
) -> list[IngestWarning]:
    """Compare the ``resources`` about to be extracted with the pipeline's stored
    schema; widen raw where a source type widened, refuse what cannot be followed
    (``SchemaDriftError``, before anything is extracted) and return the drifts the
    run follows, each a warning. ``database`` names the source in messages;
    ``target`` is the warehouse (``duckdb`` or ``mysql``)."""
    stored: dict[str, Any] = {}
    if pipeline.default_schema_name:
        stored = pipeline.default_schema.tables
        normalize = pipeline.default_schema.naming.normalize_identifier
    else:  # nothing loaded yet: dlt's default naming, which the first load will use
        from dlt.common.normalizers.naming.snake_case import NamingConvention

        normalize = NamingConvention().normalize_identifier
    plan = _plan(database, pipeline.dataset_name, resources, stored, normalize)
    if plan.errors:
        raise SchemaDriftError(
            "Schema drift that cannot be followed (structural; nothing of the "
            f"{database} database was loaded):\n  "
            + "\n  ".join(plan.errors)
            + "\nMap the change in the staging model, or restore the column at the source, "
            "then run again (docs/operations.md, 'Schema drift')."
        )
    for resource in resources:
        for column in plan.keep_nullable.get(resource.name, []):
            resource.apply_hints(columns={column: {"name": column, "nullable": True}})
    if plan.widen:
        _widen_raw(pipeline, plan.widen, is_mysql=target == "mysql")
        schema = pipeline.default_schema
        for table, columns in plan.widen.items():
            for column, hints in columns.items():
                schema.tables[table]["columns"][column] = hints
        schema._bump_version()
        pipeline.schemas.save_schema(schema)
    return plan.drifts


# --- the warehouse's raw columns ---------------------------------------------------------

_INTEGER_TYPES = ((8, "tinyint"), (16, "smallint"), (32, "integer"), (64, "bigint"))


def _duckdb_type(hints: dict[str, Any], current: str) -> str | None:
    """The DuckDB type of widened ``hints``, None when ``current`` already holds them
    (DuckDB's VARCHAR has no length)."""
    data_type, precision = hints.get("data_type"), hints.get("precision")
    if data_type == "decimal" and precision is not None:
        return f"decimal({precision},{hints.get('scale') or 0})"
    if data_type == "bigint":
        size = next((n for bits, n in _INTEGER_TYPES if (precision or 64) <= bits), "bigint")
        return None if current.lower() == size else size
    return None


def _mysql_type(hints: dict[str, Any], current: str) -> str:
    """The MySQL type of widened ``hints``, from the column's ``current`` type."""
    data_type, precision = hints.get("data_type"), hints.get("precision")
    if data_type == "decimal" and precision is not None:
        return f"decimal({precision},{hints.get('scale') or 0})"
    if data_type == "text" and current.lower().startswith("varchar("):
        return f"varchar({precision})" if precision is not None else "longtext"
    if data_type == "bigint":
        size = next((n for bits, n in _INTEGER_TYPES if (precision or 64) <= bits), "bigint")
        return "int" if size == "integer" else size
    return current


def _widen_raw(pipeline: Any, widen: dict[str, dict[str, dict[str, Any]]], is_mysql: bool) -> None:
    """``ALTER TABLE`` raw's columns (and those of dlt's ``_staging`` twin, if any) to
    the widened types. Idempotent: a run that fails after it widens them again."""
    with pipeline.sql_client() as client:
        for dataset in (client.dataset_name, client.dataset_name + "_staging"):
            for table, columns in widen.items():
                for column, hints in columns.items():
                    current = _current_type(client, dataset, table, column, is_mysql)
                    if current is None:
                        continue  # no such raw table (yet)
                    try:
                        _widen_column(client, dataset, table, column, hints, current, is_mysql)
                    except Exception as exc:  # the warehouse refused the wider type
                        reason = str(exc).strip().splitlines() or [type(exc).__name__]
                        raise SchemaDriftError(
                            f"Schema drift that raw cannot follow: {dataset}.{table} column "
                            f"`{column}` could not be widened from {current[0]} to "
                            f"{type_text(hints)} ({reason[0][:200]}); no row of this "
                            "database was loaded (docs/operations.md, 'Schema drift')."
                        ) from exc


def _widen_column(
    client: Any,
    dataset: str,
    table: str,
    column: str,
    hints: dict[str, Any],
    current: tuple[str, bool],
    is_mysql: bool,
) -> None:
    qualified = f"{_quote(dataset, is_mysql)}.{_quote(table, is_mysql)}"
    name = _quote(column, is_mysql)
    nullable = hints.get("nullable", True)
    if is_mysql:
        client.execute_sql(
            f"alter table {qualified} modify column {name} "
            f"{_mysql_type(hints, current[0])}" + (" null" if nullable else " not null")
        )
        return
    new_type = _duckdb_type(hints, current[0])
    if new_type is not None:
        client.execute_sql(f"alter table {qualified} alter column {name} type {new_type}")
    if nullable and not current[1]:
        client.execute_sql(f"alter table {qualified} alter column {name} drop not null")


def _quote(name: str, is_mysql: bool) -> str:
    return "`" + name.replace("`", "``") + "`" if is_mysql else '"' + name.replace('"', '""') + '"'


def _current_type(
    client: Any, dataset: str, table: str, column: str, is_mysql: bool
) -> tuple[str, bool] | None:
    """The raw column's type as the warehouse names it and whether it allows NULL."""
    type_column = "column_type" if is_mysql else "data_type"
    rows = client.execute_sql(
        f"select {type_column}, is_nullable from information_schema.columns"
        " where table_schema = %s and table_name = %s and column_name = %s",
        dataset,
        table,
        column,
    )
    if not rows:
        return None
    return str(rows[0][0]), str(rows[0][1]).upper() == "YES"

"""The Parquet files between extract and load into DuckDB (``ingestion/staging_parquet``):
written without dictionary pages (but for ``_dlt_load_id``) and without statistics,
landing the same values and types as with dlt's defaults; dlt's own writer is put back
afterwards, also after a failure; and ``medallion ingest`` into DuckDB writes them so.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fixtures import write_sqlite_source
from pipeline_helpers import MEDALLION, PROJECT_DIR, pipeline_env

from ingestion.staging_parquet import staging_parquet

UTC = dt.UTC
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "territory": "EMEA",
        "amount": Decimal("119.63"),
        "happened_at": dt.datetime(2022, 1, 1, 3, 8, 56, tzinfo=UTC),
    },
    {"id": 2, "territory": "EMEA", "amount": Decimal("-0.01"), "happened_at": None},
    {
        "id": 3,
        "territory": None,
        "amount": Decimal("9999999999.99"),
        "happened_at": dt.datetime(1970, 1, 1, tzinfo=UTC),
    },
    {
        "id": 4,
        "territory": "Japan",
        "amount": None,
        "happened_at": dt.datetime(2038, 1, 19, tzinfo=UTC),
    },
]
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("territory", pa.string()),
        ("amount", pa.decimal128(12, 2)),
        ("happened_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _copy(folder: Path, staged: bool) -> tuple[Path, Path]:
    """Extract, normalise and load ``ROWS`` as an Arrow table into a DuckDB file; return
    the file and the Parquet file the load read (dlt keeps it with the loaded package)."""
    pipeline = dlt.pipeline(
        pipeline_name="staging_parquet_test",
        destination=dlt.destinations.duckdb(str(folder / "warehouse.duckdb")),
        dataset_name="raw",
        pipelines_dir=str(folder / ".dlt"),
    )
    table = pa.Table.from_pylist(ROWS, schema=SCHEMA)
    resource = dlt.resource([table], name="transactions", write_disposition="replace")
    if staged:
        with staging_parquet():
            pipeline.extract(resource)
            pipeline.normalize()
    else:
        pipeline.extract(resource)
        pipeline.normalize()
    pipeline.load().raise_on_failed_jobs()
    (written,) = (folder / ".dlt").rglob("completed_jobs/transactions.*.parquet")
    return folder / "warehouse.duckdb", written


def _column_facts(path: Path) -> dict[str, tuple[bool, bool]]:
    """Per column of a Parquet file: (has a dictionary page, has statistics)."""
    metadata = pq.ParquetFile(path).metadata
    facts = {}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            facts[chunk.path_in_schema] = (
                chunk.dictionary_page_offset is not None,
                chunk.is_stats_set,
            )
    return facts


def _landed(warehouse: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select id, territory, amount, happened_at at time zone 'UTC' from raw.transactions "
            "order by id"
        ).fetchall()
        types = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'transactions' order by column_name"
        ).fetchall()
    return rows, types


def test_staged_files_are_plain_without_statistics_and_land_the_same(tmp_path: Path) -> None:
    staged_warehouse, staged_file = _copy(tmp_path / "staged", staged=True)
    default_warehouse, default_file = _copy(tmp_path / "default", staged=False)

    staged = _column_facts(staged_file)
    assert staged == {
        "id": (False, False),
        "territory": (False, False),
        "amount": (False, False),
        "happened_at": (False, False),
        "_dlt_load_id": (True, False),  # the constant column keeps its one-value dictionary
    }
    # dlt's defaults, outside the context: what the staging writer turns off
    assert all(
        has_dictionary and has_stats
        for has_dictionary, has_stats in _column_facts(default_file).values()
    )

    rows, types = _landed(staged_warehouse)
    expected = [
        (
            row["id"],
            row["territory"],
            row["amount"],
            None if row["happened_at"] is None else row["happened_at"].replace(tzinfo=None),
        )
        for row in ROWS
    ]
    assert rows == expected
    assert (rows, types) == _landed(default_warehouse)
    assert ("amount", "DECIMAL(12,2)") in types


def test_dlt_writer_is_put_back_after_a_failure() -> None:
    from dlt.common.data_writers import writers

    spec = writers.ArrowToParquetWriter.writer_spec()
    with pytest.raises(RuntimeError, match="inside"), staging_parquet():
        assert writers.WRITER_SPECS[spec] is not writers.ArrowToParquetWriter
        raise RuntimeError("inside")
    assert writers.WRITER_SPECS[spec] is writers.ArrowToParquetWriter


def test_ingest_into_duckdb_writes_staged_files(tmp_path: Path) -> None:
    archive = write_sqlite_source(
        tmp_path / "archive.sqlite",
        {
            "transactions": [
                {
                    "transaction_id": 1,
                    "order_number": "SO1",
                    "order_line_number": 1,
                    "customer_id": 7,
                    "product_code": "P1",
                    "quantity": 2,
                    "unit_price": Decimal("59.80"),
                    "amount": Decimal("119.60"),
                    "status": "Shipped",
                    "territory": "EMEA",
                    "transaction_date": "2022-01-01 03:08:56",
                    "updated_at": "2022-01-01 03:08:56",
                }
            ]
        },
    )
    (tmp_path / "landing").mkdir()
    env = pipeline_env(tmp_path, archive, archive, tmp_path / "landing")
    done = subprocess.run(
        [MEDALLION, "ingest", "--only", "archive"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = list((tmp_path / "warehouse").rglob("completed_jobs/transactions.*.parquet"))
    assert len(files) == 1
    facts = _column_facts(files[0])
    assert facts.pop("_dlt_load_id") == (True, False)
    assert facts and set(facts.values()) == {(False, False)}
    with duckdb.connect(env["MEDALLION_DUCKDB_PATH"], read_only=True) as conn:
        assert conn.execute(
            "select transaction_id, amount, typeof(amount) from raw_archive.transactions"
        ).fetchall() == [(1, Decimal("119.60"), "DECIMAL(12,2)")]

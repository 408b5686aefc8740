"""How dlt writes the Parquet files between extract and load into DuckDB.

Those files are local, read once by the load (``INSERT ... SELECT * FROM
read_parquet``) and deleted after it. pyarrow's defaults, which dlt 1.31 keeps and
does not let a project change, suit files that are kept and queried: every column
dictionary-encoded and min/max statistics on every page. Here both are work nobody
reads: dictionary encoding hashes every value of every column (most of the time of
writing the file, see docs/performance.md), and DuckDB's load neither prunes by
statistics nor keeps the encoding. ``staging_parquet()`` makes dlt's Arrow-to-Parquet
writer write plain pages without statistics, dictionary-encoding only dlt's
``_dlt_load_id``, the one constant column (one value per file instead of one per row).
The values, the Arrow schema and so the raw tables are the same; the file is larger
(about twice, uncompressed) for as long as the load takes.

Not for the Spark target, whose lake *is* these files: its Parquet keeps pyarrow's
defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# what the writer adds to dlt's own keyword arguments
WRITER_OPTIONS: dict[str, Any] = {
    "use_dictionary": ["_dlt_load_id"],
    "write_statistics": False,
}


def _writer_class() -> type:
    """dlt's Arrow-to-Parquet writer with ``WRITER_OPTIONS``, built on first use."""
    from dlt.common.data_writers.writers import ArrowToParquetWriter

    class StagingParquetWriter(ArrowToParquetWriter):
        """``ArrowToParquetWriter`` whose pyarrow writer takes ``WRITER_OPTIONS`` too."""

        def _create_writer(self, schema: Any) -> Any:
            import pyarrow.parquet as pq

            settings = self.parquet_format  # dlt's [data_writer] settings, as dlt passes them
            return pq.ParquetWriter(
                self._f,
                schema,
                flavor=settings.flavor,
                version=settings.version,
                compression=settings.compression,
                data_page_size=settings.data_page_size,
                coerce_timestamps=settings.coerce_timestamps,
                allow_truncated_timestamps=settings.allow_truncated_timestamps,
                use_compliant_nested_type=settings.use_compliant_nested_type,
                write_page_index=settings.write_page_index,
                **WRITER_OPTIONS,
            )

    return StagingParquetWriter


_WRITER: type | None = None


@contextmanager
def staging_parquet() -> Iterator[None]:
    """Within it, dlt writes Arrow items to Parquet with ``WRITER_OPTIONS`` (dlt picks
    its writer class by the file and item format, in ``WRITER_SPECS``; the original is
    put back on leaving, so other pipelines of the process keep dlt's). The swap holds
    for the whole process while it lasts: ``pipelines.ingest`` runs its pipelines one
    after another, never beside a pipeline into another target."""
    global _WRITER
    from dlt.common.data_writers import writers

    if _WRITER is None:
        _WRITER = _writer_class()
    spec = writers.ArrowToParquetWriter.writer_spec()
    original = writers.WRITER_SPECS[spec]
    writers.WRITER_SPECS[spec] = _WRITER
    try:
        yield
    finally:
        writers.WRITER_SPECS[spec] = original

"""dlt source for the landing folder: CSV files that arrive over time, each loaded once.

Files are listed through dlt's ``filesystem`` resource (fsspec underneath, so a local
path, ``s3://``, ``az://`` or ``gs://`` all work). Each file is parsed here because real
files are messy and the raw layer must keep every row of them:

* encoding: UTF-8 with or without a byte-order mark, else Windows-1252 (a superset of
  Latin-1 for text), and the encoding used is kept;
* delimiter: ``,``, ``;``, tab or ``|``, sniffed from the header line;
* quoted fields with embedded newlines and Windows line ends are read by ``csv``;
* a record with too many or too few fields is kept, with its fields joined in
  ``_raw_record`` and the reason in ``_parse_error``, for staging to quarantine.

Every value lands as text; typing (``1.234,50`` and the like) is staging's job. Every
row carries ``_file_name`` and ``_row_number`` (the record's position in its file,
header excluded), which are also the merge key, so a re-load can never duplicate rows.
Which files were loaded is kept in the pipeline state, so a re-run reads only new ones.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import dlt

from medallion.settings import ConfigError

from .lazy import LazyModule

pa = LazyModule("pyarrow")  # for the rows of a new file only (precheck)

DELIMITERS = [",", ";", "\t", "|"]
ROWS_PER_BATCH = 50_000

META_COLUMNS: dict[str, dict[str, Any]] = {
    "_file_name": {"data_type": "text", "nullable": False},
    "_row_number": {"data_type": "bigint", "nullable": False},
    "_file_modified_at": {"data_type": "timestamp", "nullable": True},
    "_file_encoding": {"data_type": "text", "nullable": True},
    "_parse_error": {"data_type": "text", "nullable": True},
    "_raw_record": {"data_type": "text", "nullable": True},
}


def table_name_for(pattern: str) -> str:
    """``surveys/*.csv`` -> ``surveys``; ``fiscal_calendar*.csv`` -> ``fiscal_calendar``.

    A pattern that names no table (``*.csv``, ``*/x.csv``) is a configuration error."""
    head = pattern.strip("/").split("/")[0]
    head = re.split(r"[*?\[]", head)[0]
    head = re.sub(r"\.[A-Za-z0-9]+$", "", head).strip("_-. ")
    if not re.search(r"[0-9a-zA-Z]", head):
        raise ConfigError(
            "sources.files.file_patterns (SOURCES__FILES__FILE_PATTERNS): the pattern "
            f"{pattern!r} names no table; begin it with the table's name, as in "
            "'surveys/*.csv' or 'surveys*.csv'"
        )
    return re.sub(r"[^0-9a-zA-Z]+", "_", head).lower()


def table_names(patterns: list[str]) -> list[str]:
    """The raw table of each file pattern, in order; two patterns that map to the same
    table are a configuration error (the pipeline and the check before it refuse them
    alike), told in one line that names the setting and the patterns."""
    names = [table_name_for(p) for p in patterns]
    clashes = [
        " and ".join(repr(p) for p, n in zip(patterns, names, strict=True) if n == name)
        + f" load the same table, {name}"
        for name in sorted({n for n in names if names.count(n) > 1})
    ]
    if clashes:
        raise ConfigError(
            "sources.files.file_patterns (SOURCES__FILES__FILE_PATTERNS): "
            f"{'; '.join(clashes)}; give each table one pattern"
        )
    return names


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes, preferring UTF-8 (BOM or not) and falling back to cp1252."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line into the most fields."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normalise_header(names: list[str]) -> list[str]:
    """Header names as column names: trimmed, lower case, unique."""
    seen: dict[str, int] = {}
    result = []
    for position, name in enumerate(names, start=1):
        column = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
        column = column or f"column_{position}"
        if column in seen:
            seen[column] += 1
            column = f"{column}_{seen[column]}"
        else:
            seen[column] = 1
        result.append(column)
    return result


def parse_csv(
    data: bytes, file_name: str, modified_at: Any = None
) -> Iterator[list[dict[str, Any]]]:
    """Yield the file's records as batches of dicts (all values text, plus metadata)."""
    text, encoding = decode(data)
    if not text.strip():
        return
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = normalise_header(next(reader))
    except StopIteration:
        return
    batch: list[dict[str, Any]] = []
    row_number = 0
    for fields in reader:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank line, not a record
        row_number += 1
        row: dict[str, Any] = {
            "_file_name": file_name,
            "_row_number": row_number,
            "_file_modified_at": modified_at,
            "_file_encoding": encoding,
            "_parse_error": None,
            "_raw_record": None,
        }
        if len(fields) == len(header):
            row.update(zip(header, fields, strict=True))
        else:
            row.update(dict.fromkeys(header))
            row["_parse_error"] = f"expected {len(header)} fields, found {len(fields)}"
            row["_raw_record"] = delimiter.join(fields)
        batch.append(row)
        if len(batch) >= ROWS_PER_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _to_arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """All data columns as strings: the raw layer never guesses a type."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for key in columns:
        columns[key] = [row.get(key) for row in rows]
    arrays = {}
    for key, values in columns.items():
        if key == "_row_number":
            arrays[key] = pa.array(values, pa.int64())
        elif key == "_file_modified_at":
            arrays[key] = pa.array(values, pa.timestamp("us", tz="UTC"))
        else:
            arrays[key] = pa.array(values, pa.string())
    return pa.table(arrays)


def landing_resource(bucket_url: str, pattern: str, empty_files: list[str] | None = None) -> Any:
    """One raw table per file pattern, loading every file not loaded before.

    A new file that holds no record (empty, or a header only) loads nothing; its name is
    appended to ``empty_files`` so the run's summary can say so instead of staying silent.
    """
    table = table_name_for(pattern)

    @dlt.resource(
        name=table,
        write_disposition="merge",
        primary_key=["_file_name", "_row_number"],
        columns=META_COLUMNS,
        # a new column in a file evolves the raw table; every value is text, so a type
        # never drifts (README, "Schema drift")
        schema_contract={"tables": "evolve", "columns": "evolve", "data_type": "freeze"},
    )
    def landing_files() -> Iterator[pa.Table]:
        from dlt.sources.filesystem import filesystem

        state = dlt.current.resource_state().setdefault("files", {})
        listed: list[Any] = []
        for entry in filesystem(bucket_url=bucket_url, file_glob=pattern):
            listed.extend(entry if isinstance(entry, list) else [entry])
        for item in sorted(listed, key=lambda i: i["relative_path"]):
            name = item["relative_path"]
            signature = {"size": item["size_in_bytes"]}
            if state.get(name, {}).get("size") == signature["size"]:
                continue
            rows = 0
            for batch in parse_csv(item.read_bytes(), name, item["modification_date"]):
                rows += len(batch)
                yield _to_arrow(batch)
            state[name] = {**signature, "rows": rows}
            if rows == 0 and empty_files is not None:
                empty_files.append(name)

    return landing_files


def landing_resources(
    bucket_url: str, patterns: list[str], empty_files: dict[str, list[str]] | None = None
) -> list[Any]:
    """The resources of the landing folder, one per configured file pattern
    (``empty_files``, if given, collects per table the new files without a record)."""
    names = table_names(patterns)
    if empty_files is not None:
        for name in names:
            empty_files.setdefault(name, [])
    return [
        landing_resource(bucket_url, p, None if empty_files is None else empty_files[n])
        for p, n in zip(patterns, names, strict=True)
    ]

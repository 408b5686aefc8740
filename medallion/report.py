"""The summary tables a run prints: one for the ingestion, one for each dbt command.

They only format; whoever runs a step decides where they are printed (``run`` prints them
to the console the command line hands it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from rich.markup import escape
from rich.table import Table


class Output(Protocol):
    """Where a step prints as it goes: a rich ``Console`` in the command line."""

    def print(self, *objects, **kwargs) -> None: ...


def labelled(label: str, text: str) -> str:
    """``label`` (Rich markup: a colour, a style) then ``text`` shown as it is.

    A value in a message (a file pattern such as ``[ab]*.csv``, a server's error, a
    path) may hold square brackets, which Rich would read as markup and drop; escaped,
    the line says exactly what the value was."""
    return f"{label} {escape(text)}"


def ingest_table(reports: Iterable, seconds: float) -> Table:
    table = Table(title=f"Ingestion ({seconds:.1f} s)", title_justify="left")
    table.add_column("table")
    table.add_column("rows extracted", justify="right")
    table.add_column("rows loaded", justify="right")
    table.add_column("time (s)", justify="right")
    table.add_column("note")
    for report in sorted(reports, key=lambda r: (r.schema, r.table)):
        table.add_row(
            f"{report.schema}.{report.table}",
            f"{report.extracted:,}",
            f"{report.loaded:,}",
            f"{report.seconds:.2f}",
            report.note,
        )
    return table


def dbt_table(outcome, note: str = "") -> Table:
    title = f"dbt {outcome.command} ({outcome.seconds:.1f} s{note})"
    table = Table(title=title, title_justify="left")
    table.add_column("node type")
    table.add_column("status")
    table.add_column("count", justify="right")
    for (kind, status), count in sorted(outcome.counts.items()):
        table.add_row(kind, status, str(count))
    return table

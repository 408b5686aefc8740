"""The data-quality policy: what a failed check does to a run, written once.

Every check is one of two kinds:

* **structural**: the run cannot be trusted, and it stops before publishing: a source
  unreachable, a table or a contract column missing, a value of a type that cannot be
  read, a key column entirely null, a duplicated merge key, a table without rows.
* **row-level**: some rows break a rule the pipeline knows how to handle: each such row
  is standardised (trim, case), routed to quarantine with a reason, or kept and flagged
  where the contract keeps it (the unknown member). The check is a *warning*: counted,
  reported with the table, the check, the count and examples, and the run goes on and
  publishes; unless its failing rows exceed ``max_bad_row_share`` of the table's rows
  (``[checks] max_bad_row_share`` in ``.dlt/config.toml``, ``MEDALLION_MAX_BAD_ROW_SHARE``;
  default 1%): then the run stops before the build, naming the table, the check and
  the share, and the marts keep their last good values.

The raw expectations (``quality.LayerReport.apply_policy``) and the dbt tests (the
generic tests' ``max_share`` argument, ``macros/generic_tests/row_share_config.sql``,
which reads the same setting through ``MEDALLION_MAX_BAD_ROW_SHARE``) both follow it.
``medallion run --strict`` makes any warning fail the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .settings import ConfigError, configured_number

DEFAULT_MAX_BAD_ROW_SHARE = 0.01
SHARE_SETTING = "MEDALLION_MAX_BAD_ROW_SHARE"
SHARE_KEY = "checks.max_bad_row_share"

# Great Expectations' expectations that judge rows one by one: a failure counts rows.
ROW_LEVEL_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
    }
)


def max_bad_row_share() -> tuple[float, str]:
    """The configured share (0..1) and where it was set; a value outside 0..1 fails,
    naming where it was set."""
    share, origin = configured_number(SHARE_SETTING, SHARE_KEY, float, DEFAULT_MAX_BAD_ROW_SHARE)
    if not 0 <= share <= 1:  # also refuses nan
        raise ConfigError(f"{origin} must be a share between 0 and 1 (0.01 is 1%), got {share}")
    return share, origin


def export_share(share: float) -> None:
    """Hand the share to dbt (its share-based tests read ``MEDALLION_MAX_BAD_ROW_SHARE``),
    so both halves of a run judge by the same number whatever set it."""
    os.environ[SHARE_SETTING] = repr(float(share))


def percent(share: float) -> str:
    """A share as a person reads it: 0.02%, 1%, 12.5%."""
    return f"{100 * share:.2f}".rstrip("0").rstrip(".") + "%"


@dataclass(frozen=True)
class Verdict:
    """What one failed check does to the run, and the rule that says so."""

    stops: bool
    rule: str


def judge(
    kind: str,
    failing_rows: int | None,
    table_rows: int | None,
    share: float,
    structural: bool = False,
) -> Verdict:
    """The verdict on one failed check that would otherwise stop the run.

    ``kind`` is the expectation type; ``failing_rows`` of ``table_rows`` failed it;
    ``structural``: the suite says so (``meta.structural``: a key column, whose rows
    could not be merged or told apart)."""
    if structural or kind not in ROW_LEVEL_EXPECTATIONS or failing_rows is None or not table_rows:
        return Verdict(True, "structural check")
    if kind == "expect_column_values_to_not_be_null" and failing_rows >= table_rows:
        return Verdict(True, "structural check: the column is entirely null")
    bad = failing_rows / table_rows
    if bad > share:
        return Verdict(
            True,
            f"max_bad_row_share: {percent(bad)} of the rows fail, more than {percent(share)}",
        )
    return Verdict(
        False, f"row-level: {percent(bad)} of the rows, within max_bad_row_share {percent(share)}"
    )

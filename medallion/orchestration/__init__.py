"""Dagster over the same steps as ``medallion run`` (docs/orchestration.md).

``definitions.py`` only gathers the definitions; ``assets.py`` reads the asset graph
from dbt's manifest and runs the pipeline through ``medallion.run``; ``automation.py``
holds the schedule, the landing-file sensor and the retry rule; ``alerts.py`` the
failure hook. Nothing here runs a step of its own: the command line and Dagster call
the same functions.
"""

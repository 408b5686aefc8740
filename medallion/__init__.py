"""The operator package: the ``medallion`` command line (``cli``), the run's steps in order
(``run``), dbt (``transform``, ``build_state``), the checks (``quality``), the run audit
(``run_audit``), serving (``serve``), the warehouse lock, demo sources and the benchmark."""

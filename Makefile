# The two commands of the README: `make run` and `make test`. Both set up everything.
# `make check` is the quick loop between them: lint, the fast tests, one build.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Privacy: no library phones home, whoever calls make.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false
export GX_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: setup run test check lint docs mariadb clean help bench orchestrate materialize chromium

help:
	@echo "make run    set up and run the whole pipeline on the embedded defaults"
	@echo "make check  the quick loop (minutes): lint, the fast tests, dbt build on the demo"
	@echo "make test   set up and run every test (pytest, dbt, sqlfluff, ruff)"
	@echo "make docs   generate the dbt docs site"
	@echo "make bench  benchmark against the real MariaDB (BENCH_ARGS='--rows 1M,10M')"
	@echo "make orchestrate  the Dagster UI (dagster dev) on http://127.0.0.1:3000"
	@echo "make materialize  every Dagster asset once, from the command line"
	@echo "make clean  remove the venv, the warehouse and generated sources"

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@# byte-compiled as pip compiles installed packages (an editable install is not,
	@# and is never compiled under PYTHONDONTWRITEBYTECODE): 0.06 s less per ingest
	$(BIN)/python -m compileall -q medallion ingestion
	@# the Spark target (docs/spark.md) runs on Java: a JRE from the system's packages
	@command -v java >/dev/null 2>&1 || apt-get install -y -q openjdk-17-jre-headless \
		|| echo "No Java and none installed: the Spark target needs one (docs/spark.md)"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/medallion run

# MySQL paths are tested against the real server of every machine.
mariadb:
	@if ! mysqladmin --protocol=tcp -h127.0.0.1 -uroot status >/dev/null 2>&1; then \
		echo "starting MariaDB"; \
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; \
		for i in $$(seq 1 30); do \
			mysqladmin --protocol=tcp -h127.0.0.1 -uroot status >/dev/null 2>&1 && break; sleep 1; \
		done; \
	fi

# test_orchestration.py looks at the Dagster UI with headless Chromium from the
# system's packages: installed here when missing (Debian/Ubuntu; sudo unless root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing chromium (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# sqlfluff compiles every model with dbt against a scratch warehouse of its own.
LINT_DIR := $(shell mktemp -u /tmp/medallion-lint.XXXXXX)
lint: setup
	$(BIN)/ruff check ingestion medallion tests/python
	$(BIN)/ruff format --check ingestion medallion tests/python
	MEDALLION_DUCKDB_PATH=$(LINT_DIR)/lint.duckdb DBT_TARGET_PATH=$(LINT_DIR)/target \
		DBT_LOG_PATH=$(LINT_DIR)/logs $(BIN)/sqlfluff lint models snapshots tests/singular
	rm -rf $(LINT_DIR)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

# Every test, on PYTEST_WORKERS processes (pytest-xdist). --dist loadfile keeps a
# module's tests on one worker, so a module's shared warehouse is built once; the
# modules that build the whole project are handed out first (tests/python/conftest.py).
PYTEST_WORKERS ?= 2
test: setup mariadb lint chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The quick loop: lint, the tests that build no whole project and need no MariaDB (not
# marked slow or mysql; CHECK_MARKERS='not slow' adds the MariaDB ones), then `medallion
# run` (ingest, dbt build, checks) on fresh demo sources in a scratch folder, whatever
# sources .dlt/ configures.
CHECK_MARKERS ?= not slow and not mysql
CHECK_DIR := $(shell mktemp -u /tmp/medallion-check.XXXXXX)
check: setup mariadb lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "$(CHECK_MARKERS)"
	$(BIN)/medallion demo --out $(CHECK_DIR)/demo
	SOURCES__ARCHIVE__CREDENTIALS=sqlite:///$(CHECK_DIR)/demo/archive.sqlite \
		SOURCES__LIVE__CREDENTIALS=sqlite:///$(CHECK_DIR)/demo/live.sqlite \
		SOURCES__FILES__BUCKET_URL=$(CHECK_DIR)/demo/landing \
		MEDALLION_DUCKDB_PATH=$(CHECK_DIR)/warehouse/medallion.duckdb \
		DBT_TARGET_PATH=$(CHECK_DIR)/target DBT_LOG_PATH=$(CHECK_DIR)/logs \
		$(BIN)/medallion run
	rm -rf $(CHECK_DIR)

# The benchmark (README, Performance): not part of `make test`; minutes at 1M rows.
BENCH_ARGS ?=
bench: setup mariadb
	$(BIN)/medallion bench --peers $(BENCH_ARGS)

docs: setup
	$(BIN)/medallion docs

# Dagster (docs/orchestration.md): its instance (run history, schedules' state) lives in
# DAGSTER_HOME, whose dagster.yaml switches telemetry off; the UI listens on 127.0.0.1.
DAGSTER_HOME ?= $(CURDIR)/.dagster
DAGSTER_PORT ?= 3000
DAGSTER_MODULE := medallion.orchestration.definitions
$(DAGSTER_HOME)/dagster.yaml: medallion/orchestration/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

orchestrate: setup $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT)

materialize: setup $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster asset materialize -m $(DAGSTER_MODULE) --select '*'

clean:
	rm -rf $(VENV) warehouse/*.duckdb* warehouse/.dlt warehouse/lake warehouse/spark data target logs .dagster

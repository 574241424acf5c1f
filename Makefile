# The two commands: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format schema graphiql screenshots bench bench-mixed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/focusgql serve

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check focusgql tests bench scripts
	$(BIN)/ruff format --check focusgql tests bench scripts
	$(BIN)/mypy focusgql tests scripts
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix focusgql tests bench scripts
	$(BIN)/ruff format focusgql tests bench scripts

bench: $(STAMP)
	$(BIN)/python bench/ticks.py $(ARGS)

# The dashboard's real traffic (ticks + activity every second + tab switches);
# e.g. `make bench-mixed ARGS=--quick`, or ARGS="--activity-over http".
bench-mixed: $(STAMP)
	$(BIN)/python bench/mixed.py $(ARGS)

schema: $(STAMP)
	$(BIN)/focusgql export-schema > schema.graphql

# GraphiQL's files in focusgql/static/vendor/graphiql, from the npm registry at the
# versions pinned in the script (needs npm; run the GraphiQL tests after).
graphiql: $(STAMP)
	$(BIN)/python scripts/vendor_graphiql.py

# docs/dashboard-desktop.png and docs/dashboard-phone.png, taken by the browser
# tests themselves (same server, Chromium and playwright-core setup).
screenshots: $(STAMP)
	FOCUSGQL_SCREENSHOTS=$(CURDIR)/docs $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/e2e/test_dashboard.py::test_a_session_in_the_dashboard \
		tests/e2e/test_dashboard_states.py::test_the_page_fits_a_phone

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

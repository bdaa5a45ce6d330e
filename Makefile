# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REFERENCE_DATA ?= $(abspath ../shared/data)
export MATCHING_REFERENCE_DATA ?= $(REFERENCE_DATA)

.PHONY: install run sample lint typecheck test test-fast clean

$(BIN)/matching: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of PyTorch first (a local wheel); anything else would pull GBs of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/matching

sample: install
	$(BIN)/matching sample --out data/sample/world

# Build the sample world, load it into the default SQLite database, and ingest the real offers when
# the reference data is present.
run: install
	$(BIN)/matching model build
	$(BIN)/matching db upgrade
	$(BIN)/matching rome info
	$(BIN)/matching sample --out data/sample/world --load
	$(BIN)/matching index build --world data/sample/world --out var/index
	$(BIN)/matching train
	# the sample world lives in early 2025: rank as of its cut-off week so that offers are still open
	$(BIN)/matching alerts run --as-of 2025-03-10
	@if [ -f "$(MATCHING_REFERENCE_DATA)/offers_ft_api_v2/offers.json" ]; then \
	  $(BIN)/matching ingest offers "$(MATCHING_REFERENCE_DATA)/offers_ft_api_v2/offers.json" \
	    --rome-dir "$(MATCHING_REFERENCE_DATA)/rome_v460" \
	    --communes "$(MATCHING_REFERENCE_DATA)/communes/laposte_hexasmal_latlon.csv"; \
	else echo "reference data not found at $(MATCHING_REFERENCE_DATA): skipping the real offers"; fi
	@echo "tokens: .venv/bin/matching token create --role jobseeker --subject P0000002 (or counsellor / admin)"
	$(BIN)/matching serve

# ruff, then the import contracts of pyproject.toml: stages import downward only
# (entrypoints > eval > serving > models > features > matching) and the core uses no I/O framework.
lint: install
	$(BIN)/ruff check matching features models serving eval entrypoints tests
	$(BIN)/ruff format --check matching features models serving eval entrypoints tests
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Everything: lint, types, and every test marker (PostgreSQL tests need MATCHING_TEST_POSTGRES_URL,
# which .ci/run sets after starting a local server; `make pg` prints one for local runs).
test: lint typecheck
	$(BIN)/pytest -m "" -q

test-fast: install
	$(BIN)/pytest -q

pg:
	@bash .ci/postgres.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

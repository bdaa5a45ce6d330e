# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REFERENCE_DATA ?= $(abspath ../shared/data)
export MATCHING_REFERENCE_DATA ?= $(REFERENCE_DATA)

.PHONY: install run demo quickstart sample lint typecheck test test-fast pg clean

$(BIN)/matching: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of PyTorch first (a local wheel); anything else would pull GBs of CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/matching

# The committed sample world: built-in referential and département centroids (fast tests, `matching eval`).
sample: install
	$(BIN)/matching sample --out data/sample/world --rome-dir builtin --communes builtin

OFFERS := $(MATCHING_REFERENCE_DATA)/offers_ft_api_v2/offers.json
DEMO_WORLD ?= var/demo/world
# The demo world lives in early 2025 like the real offers: rank as of its cut-off week.
AS_OF ?= 2025-03-10
# What `make run` builds and serves with: multilingual-e5-small on ONNX Runtime (int8), inputs cut to
# 96 tokens; `matching eval` on the sample world gives it the NDCG@10 of float32 e5 at full length
# (README, "Real data end to end") at a fraction of the time on 2 cores. Every step gets the same
# encoder, so the indexes, the ranker and the API agree.
run demo quickstart: export MATCHING_ENCODER ?= e5-onnx
run demo quickstart: export MATCHING_ENCODER_MAX_TOKENS ?= 96
# One clock for the demo: the batch, the API and the pages rank, stamp answers and date trainings as of
# the world's day (at the real time of day), not the machine's date, at which every training of the
# world would have started and every offer expired.
run demo quickstart: export MATCHING_NOW ?= $(AS_OF)

# The official ROME and La Poste communes (the defaults when ../shared/data is there), a simulated
# world anchored on the real offers, the real offers themselves, indexes over the database, the
# ranker, the alert batch, then the API. Without the reference data: the built-in sample world.
run: install
	$(BIN)/matching model build
	$(BIN)/matching rome build
	@if [ -f "$(OFFERS)" ]; then $(BIN)/matching formacode build; $(BIN)/matching skills build; fi
	$(BIN)/matching db upgrade
	$(BIN)/matching rome info
	@if [ -f "$(OFFERS)" ]; then $(MAKE) --no-print-directory demo; else \
	  echo "reference data not found at $(MATCHING_REFERENCE_DATA): the built-in sample world"; \
	  $(MAKE) --no-print-directory quickstart; fi
	@echo "pages: http://127.0.0.1:8000/pages/connexion with a token from .venv/bin/matching token create --role jobseeker --subject P0000002 (a jobseeker with alerts); --role counsellor --subject conseiller-1; --role admin --subject ds-1 (any id names a counsellor or an admin)"
	@echo "serve again: MATCHING_NOW=$$MATCHING_NOW .venv/bin/matching serve (the demo world's day; the encoder the indexes were built with: $$MATCHING_ENCODER, $$MATCHING_ENCODER_MAX_TOKENS tokens)"
	$(BIN)/matching serve

# The real offers arrive as they would every day: `matching daily` ingests them, publishes an index
# version from the database and runs the incremental alert batch (the first one: every open offer is
# new to every subscription).
demo: install
	$(BIN)/matching formacode build
	$(BIN)/matching skills build
	$(BIN)/matching sample --anchor-offers "$(OFFERS)" --profiles 5000 --offers 2000 --trainings 400 \
	  --out $(DEMO_WORLD) --lheo $(DEMO_WORLD)-trainings.xml --load
	$(BIN)/matching train --world $(DEMO_WORLD)
	# trainings arrive as catalogues: the world's sessions written as LHEO, then the real catalogues
	# (real LHEO sessions of 2017-2019 are stored but long started; Mon Compte Formation courses come
	# with dates to confirm), all through the same reader and Formacode links
	$(BIN)/matching ingest trainings $(DEMO_WORLD)-trainings.xml
	$(BIN)/matching ingest trainings "$(MATCHING_REFERENCE_DATA)/trainings/mcf_catalogue"
	$(BIN)/matching ingest trainings "$(MATCHING_REFERENCE_DATA)/trainings/lheo/examples/intercarif"
	$(BIN)/matching daily "$(OFFERS)"

quickstart: install
	$(BIN)/matching sample --out data/sample/world --rome-dir builtin --communes builtin --load
	$(BIN)/matching index update
	$(BIN)/matching train
	$(BIN)/matching alerts run --as-of $(AS_OF)

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
	$(BIN)/pytest -m "" -q --durations=40

test-fast: install
	$(BIN)/pytest -q

pg:
	@bash .ci/postgres.sh

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

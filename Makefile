# Parley: the two commands a newcomer needs are `make up` and `make test`.
# Both install what they need into .venv first (Python >= 3.11 is all a machine must have).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install up test lint format migrate bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Start Postgres, the broker and the five services with demo data (Ctrl-C stops everything).
up: install
	$(BIN)/parley up

## Run the whole test suite against real Postgres and a real broker.
test: install
	@$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Upgrade every service schema in the embedded database (parley up does this too).
migrate: install
	$(BIN)/parley migrate --embedded

## Benchmarks: run by hand, they print figures and ratios against a baseline measured in the same run.
bench: install
	$(BIN)/python -m bench.flow
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.agreements
	$(BIN)/python -m bench.auth

clean:
	rm -rf .parley

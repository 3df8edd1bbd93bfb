# Scripts to rule them all: `make run` serves, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format typecheck pytest install clean messages bench

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "onetime needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Pinned by constraints.txt, so a fresh install gets exactly what was tested.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/onetime serve

test: lint typecheck pytest

pytest: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Benchmark against snappass (6 to 10 minutes; not part of `test`): see docs/performance.md.
# Needs wrk and a Redis on 127.0.0.1:6379, and installs or starts them when missing (as root).
# Options go through BENCH_ARGS, e.g. `make bench BENCH_ARGS="--skip-full --rounds 3"`.
BENCH_ARGS ?=
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@command -v redis-server >/dev/null || { echo "installing redis-server"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
		echo "starting redis-server on 127.0.0.1:6379"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		for _ in $$(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Extract messages into the template catalog and merge new ones into every language's catalog.
LOCALES_DIR := src/onetime/web/locales
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
		--project onetime --copyright-holder "onetime authors" -o $(LOCALES_DIR)/messages.pot .
	for lang in de es fr it ja nl pt_BR; do \
		if [ -f $(LOCALES_DIR)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -l $$lang \
				-i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR); \
		else \
			$(BIN)/pybabel init -l $$lang -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR); \
		fi; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Scripts to rule them all: `make run` serves, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format typecheck pytest install clean messages

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
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

typecheck: $(STAMP)
	$(BIN)/mypy

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

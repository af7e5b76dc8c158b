# Enishi: `make run` starts it with demo data; `make test` runs every test. Both install what
# they need first and are quick when nothing changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed-app
TEST_STAMP := $(VENV)/.installed-test
PORT ?= 8000
export PORT

.PHONY: run test lint browser messages check-python clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Enishi needs Python 3.11 or newer (found " + sys.version.split()[0] + ").")'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(APP_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	@touch $(APP_STAMP) $@

run: $(APP_STAMP)
	@scripts/ensure-pdf.sh --soft
	@$(BIN)/enishi migrate --noinput -v0
	@$(BIN)/enishi collectstatic --noinput -v0
	@$(BIN)/enishi demo --if-empty
	@$(BIN)/enishi serve --no-migrate --port $(PORT)

browser:
	@scripts/ensure-browser.sh
	@scripts/ensure-pdf.sh

test: $(TEST_STAMP) browser
	$(BIN)/ruff check enishi bench
	$(BIN)/enishi makemigrations --check --dry-run -v0
	$(BIN)/pytest -n 2

lint: $(TEST_STAMP)
	$(BIN)/ruff check enishi bench
	$(BIN)/ruff format --check enishi bench

# Regenerate the translation catalogues after changing user-facing strings (needs gettext).
messages: $(TEST_STAMP)
	cd enishi && ../$(BIN)/enishi makemessages -l ja -l en --no-obsolete -v0 && ../$(BIN)/enishi compilemessages -v0

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

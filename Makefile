# duet: `make run` starts the service, `make test` runs the whole test suite, `make smoke` installs the
# built wheel alone in a fresh virtualenv (.smoke/) and runs a real call with it (scripts/smoke.py).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test smoke lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/duet serve

test: $(BIN)/.installed
	$(BIN)/python -m pytest

smoke: $(BIN)/.installed
	$(BIN)/python scripts/smoke.py

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app signaling media

clean:
	rm -rf $(VENV) .smoke .pytest_cache .mypy_cache .ruff_cache *.egg-info

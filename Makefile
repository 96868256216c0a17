# Two entry points: `make demo` (install + run the whole job on the built-in shop) and
# `make test` (install + run the test suite). Both create ./.venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= trendcast_out

.PHONY: install demo test test-slow lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,boosting,hierarchy,insights,api,foundation,text,ray,postgres,schedule]"
	touch $@

demo: install
	$(BIN)/trendcast demo --db $(OUT)/demo.duckdb --out $(OUT)

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(OUT) .pytest_cache

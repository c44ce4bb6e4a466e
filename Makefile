# The two commands of the README: `make run` and `make test`. Both set up .venv on first use and
# reinstall only when pyproject.toml changes (a stamp file records the last install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# A second venv for training the harm classifiers: fasttext 0.9.3 trains but shares its import name
# with fasttext-predict in .venv, and its predict fails under NumPy 2 (jobs/fasttext_train_worker.py).
TRAIN_VENV := .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed
ENGINE ?= local
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint check-java check-chromium clean train-env train

check-java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "error: Java 17 is needed for the Spark engine and its tests, and 'java' is not on PATH."; \
	  echo "       Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y openjdk-17-jre-headless"; \
	  echo "       macOS: brew install openjdk@17; or set JAVA_HOME to a JDK 17."; \
	  exit 1; }

# The datasheet tests render the HTML page in headless Chromium; install it when apt can.
check-chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	  else \
	    echo "note: Chromium is not installed; the datasheet render test will be skipped."; \
	    echo "      Debian/Ubuntu: sudo apt-get install -y chromium; macOS: brew install --cask chromium"; \
	  fi; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PIP) -e '.[test]'
	@touch $@

$(TRAIN_STAMP):
	$(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check fasttext==0.9.3 numpy==2.4.6
	@touch $@

train-env: $(TRAIN_STAMP)

train: $(STAMP) $(TRAIN_STAMP)
	$(BIN)/python -m jobs.train_classifier

run: check-java $(STAMP)
	$(BIN)/corpusaudit run demo/audit.yaml --engine $(ENGINE) --out out/demo --force
	$(BIN)/corpusaudit verify out/demo

test: check-java check-chromium $(TEST_STAMP) $(TRAIN_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=25

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf out .pytest_cache

# The quick start's two commands are `make demo` and `make test`; both create .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spark-sched-installed
PYTEST_ARGS ?=

.PHONY: demo test lint bench cluster-up cluster-down check-java docker-test clean

check-java:
	@java_bin=$${JAVA_HOME:+$$JAVA_HOME/bin/}java; \
	if ! command -v $$java_bin >/dev/null 2>&1; then \
	  echo "spark-sched needs Java 17 or newer and found no java: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"; exit 1; fi; \
	v=$$($$java_bin -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.*\([0-9]*\).*/\1/p' | head -n1); \
	if [ "$${v:-0}" -lt 17 ]; then \
	  echo "spark-sched needs Java 17 or newer and found Java $${v:-unknown}: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)"; exit 1; fi

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

demo: check-java $(STAMP)
	$(VENV)/bin/spark-sched demo

test: check-java $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: check-java $(STAMP)
	$(VENV)/bin/spark-sched bench --list

cluster-up: check-java $(STAMP)
	$(VENV)/bin/spark-sched cluster up

cluster-down: $(STAMP)
	$(VENV)/bin/spark-sched cluster down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The quick start's two commands are `make demo` and `make test`; both create .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spark-sched-installed
DOCS_STAMP := $(VENV)/.spark-sched-docs-installed
PYTEST_ARGS ?=

.PHONY: demo test test-faults sparkmeasure-jar lint docs bench cluster-up cluster-down check-java docker-test clean

# Empty when a Java 17+ is found ($JAVA_HOME/bin/java, else java on PATH); else the one line to show.
JAVA_PROBLEM = $(shell j=$${JAVA_HOME:+$$JAVA_HOME/bin/}java; \
  if ! command -v $$j >/dev/null 2>&1; then echo "spark-sched needs Java 17 or newer and found no java:"; \
  else v=$$($$j -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1); \
  [ "$${v:-0}" -ge 17 ] || echo "spark-sched needs Java 17 or newer and found Java $${v:-of unknown version}:"; fi)

check-java:
	$(if $(JAVA_PROBLEM),$(error $(JAVA_PROBLEM) apt-get install openjdk-17-jre-headless (or set JAVA_HOME)))
	@true

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,connect]"
	@touch $(STAMP)

demo: check-java $(STAMP)
	$(VENV)/bin/spark-sched demo

# sparkMeasure's jar, built with pyspark's own Scala from its sources when they sit beside the repo (as on the
# build machines, where Maven Central is unreachable), into the venv where the toolkit's resolver finds it.
SPARKMEASURE_SOURCE ?= ../shared/vendor/sparkmeasure-0.28

sparkmeasure-jar: check-java $(STAMP)
	@if [ -d "$(SPARKMEASURE_SOURCE)" ]; then \
	  $(VENV)/bin/spark-sched measure build-jar --source "$(SPARKMEASURE_SOURCE)" \
	    --out "$$($(PY) -c 'from spark_sched.measure.jar import install_jars_dir; print(install_jars_dir())')"; \
	else echo "sparkmeasure-jar: no source folder at $(SPARKMEASURE_SOURCE); tests that need the jar will skip"; fi

# `make test` runs everything but the fault-injection tests; `make test-faults` runs only those (CI runs both).
test: check-java $(STAMP) sparkmeasure-jar
	$(VENV)/bin/pytest -m "not faults" $(PYTEST_ARGS)

test-faults: check-java $(STAMP)
	$(VENV)/bin/pytest -m faults $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[docs]"
	@touch $(DOCS_STAMP)

# The documentation site into site/, warnings as errors (mkdocs.yml; docs/hooks/site.py adds the README and bench pages).
# NO_MKDOCS_2_WARNING silences the theme's end-of-life banner, which is printed on every build.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

bench: check-java $(STAMP)
	$(VENV)/bin/spark-sched bench --list

cluster-up: check-java $(STAMP)
	$(VENV)/bin/spark-sched cluster up

cluster-down: $(STAMP)
	$(VENV)/bin/spark-sched cluster down

# Build the image and prove it in containers (needs root or a running Docker engine): see docker/README.md.
docker-test:
	bash docker/test.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site

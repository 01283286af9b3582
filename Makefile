# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= hf,serving,dev

.PHONY: install system-deps test test-all demo lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

install: system-deps $(VENV)/.installed

# bubblewrap gives the sandbox its filesystem view; without it codealign falls back to namespaces + rlimits and says so.
system-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -q bubblewrap >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null)) \
	      || echo "warning: could not install bubblewrap; the sandbox will run with reduced isolation"; \
	  else echo "note: install bubblewrap (apt-get install bubblewrap) for full sandbox isolation"; fi; }

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m "not gpu"

demo: install
	$(VENV)/bin/codealign run examples/quickstart.yaml

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the test suite).
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= hf,serving,ray,dev,langs

.PHONY: install system-deps test test-all demo demo-compare lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $@

install: system-deps $(VENV)/.installed

# bubblewrap gives the sandbox its filesystem view; without it codealign falls back to namespaces + rlimits and says so.
# chromium renders the run report in the browser test (tests/export); without it that test is skipped with the reason.
# The compilers and runtimes of the sandbox's languages (g++ ... tsc, and javatuples for MultiPL-E's Java) come from
# Debian too; a missing one only turns that language off. `make install SYSTEM_PACKAGES=bwrap:bubblewrap` installs bubblewrap alone.
SYSTEM_PACKAGES := bwrap:bubblewrap chromium:chromium g++:g++ javac:default-jdk-headless go:golang-go rustc:rustc \
	node:nodejs tsc:node-typescript /usr/share/java/javatuples.jar:libjavatuples-java
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || [ -e "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; done; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null)) \
	      || echo "warning: could not install$$missing; the sandbox may run with reduced isolation or fewer languages, and the browser test is skipped"; \
	  else echo "note: install$$missing (apt-get install$$missing) for full sandbox isolation, its languages and the browser test"; fi; }

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m "not gpu"

# The main job with no model hub: the scripted OpenAI-compatible server (codealign.testing) stands in for the model;
# then the tiny random test model is trained on the run (SFT, then DPO) and evaluated; then two rounds of
# `codealign loop` (examples/loop-demo.yaml) in which the loop restarts the scripted server on each round's model.
DEMO_TRAIN := --set batch_size=2 --set per_device_batch_size=2 --set epochs=10 --set logging_steps=1 --set gradient_checkpointing=false
demo: install
	@tmp=$$(mktemp -d); \
	$(PY) -m codealign.testing --port 0 --log $$tmp/requests.jsonl --ready-file $$tmp/port >$$tmp/server.log 2>&1 & \
	pid=$$!; trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 100); do [ -s $$tmp/port ] && break; sleep 0.1; done; \
	[ -s $$tmp/port ] || { echo "the scripted server did not start; see $$tmp/server.log"; exit 1; }; \
	$(VENV)/bin/codealign run examples/demo.yaml --set backend.base_url=http://127.0.0.1:$$(cat $$tmp/port)/v1 || exit $$?; \
	echo "outputs in runs/demo: report.html, final/sft.jsonl, final/dpo.jsonl, funnel.json, rejects/; model requests logged in $$tmp/requests.jsonl"; \
	[ -d runs/tiny-model ] || $(PY) -m codealign.testing.tiny_model runs/tiny-model >/dev/null || exit $$?; \
	$(VENV)/bin/codealign train examples/train-sft.yaml --set model=runs/tiny-model --set data=runs/demo \
	  --set output_dir=runs/demo/model/sft $(DEMO_TRAIN) --set learning_rate=1e-3 || exit $$?; \
	$(VENV)/bin/codealign train examples/train-dpo.yaml --set model=runs/demo/model/sft --set data=runs/demo \
	  --set output_dir=runs/demo/model/dpo $(DEMO_TRAIN) --set learning_rate=1e-4 || exit $$?; \
	$(VENV)/bin/codealign evaluate --benchmark jsonl:examples/evaluate_tasks.jsonl --model runs/demo/model/dpo \
	  --max-tokens 48 --train-data runs/demo -o runs/demo/evaluate/results.jsonl || exit $$?; \
	port=$$($(PY) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
	$(VENV)/bin/codealign loop examples/loop-demo.yaml --set run.backend.base_url=http://127.0.0.1:$$port/v1 || exit $$?

# Every method on the same seeds against the scripted server, compared in runs/compare/compare/compare.html.
demo-compare: install
	@tmp=$$(mktemp -d); \
	$(PY) -m codealign.testing --port 0 --log $$tmp/requests.jsonl --ready-file $$tmp/port >$$tmp/server.log 2>&1 & \
	pid=$$!; trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 100); do [ -s $$tmp/port ] && break; sleep 0.1; done; \
	[ -s $$tmp/port ] || { echo "the scripted server did not start; see $$tmp/server.log"; exit 1; }; \
	url=http://127.0.0.1:$$(cat $$tmp/port)/v1; \
	$(VENV)/bin/codealign run examples/compare-methods.yaml --set backend.base_url=$$url --set teacher.base_url=$$url || exit $$?

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Two commands for a newcomer: `make run` (the web chat on the bundled report) and
# `make test` (the whole suite). Each creates .venv and installs what is missing first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install run test eval eval-gate bench bench-smoke browser-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: this takes the CPU build from local disk instead of letting
	# sentence-transformers pull a CUDA build of several GB.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) app.py

browser-deps:
	@bash scripts/browser-deps.sh

test: install browser-deps
	$(PY) -m pytest -q

eval: install
	$(PY) -m qa eval eval/qa.jsonl --json eval/results.json --plot docs/eval.png
	# the held-out set: written separately, never tuned on
	$(PY) -m qa eval eval/holdout.jsonl --json eval/holdout-results.json

eval-gate: install
	$(PY) -m qa eval eval/qa.jsonl --floors eval/floors.json

bench: install
	$(PY) -m qa bench --sizes 1000,10000,100000 --out bench/results.json --plot docs/bench.png

bench-smoke: install
	$(PY) -m qa bench --sizes 1000 --out /tmp/qa-bench-smoke.json

clean:
	rm -rf $(VENV) index .pytest_cache

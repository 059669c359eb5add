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

# The public SQuAD-format sets (eval/external): their passages become reports, indexed in a
# cache folder outside the repository (never committed).
SQUAD_SETS := cmrc2018_trial drcd_dev
SQUAD_CACHE ?= $(or $(QA_SQUAD_CACHE),$(HOME)/.cache/qa-squad)
# CI: a fixed sample of each set's test part, hybrid retrieval, modes open, closed and ood.
SQUAD_GATE := --part test --sample 200 --seed 17 --mode hybrid --no-progress

eval: install
	$(PY) -m qa eval eval/qa.jsonl --json eval/results.json --plot docs/eval.png
	# the held-out set: written separately, never tuned on
	$(PY) -m qa eval eval/holdout.jsonl --json eval/holdout-results.json
	# off-topic and near-miss questions of the bundled report: all unanswerable
	$(PY) -m qa eval eval/offtopic.jsonl --mode hybrid --json eval/offtopic-results.json
	# two- and three-turn dialogues: follow-ups asked with the earlier turns as history
	$(PY) -m qa eval eval/dialogues.jsonl --cache $(SQUAD_CACHE) --json eval/dialogues-results.json
	# the public sets, whole test part, open mode with the three retrievers side by side
	for s in $(SQUAD_SETS); do \
	  $(PY) -m qa eval eval/external/$$s.json --part test --cache $(SQUAD_CACHE) \
	    --json eval/squad-$$s.json --rows $(SQUAD_CACHE)/$$s-test-rows.json \
	    --plot docs/squad-$$s.png || exit 1; \
	done

eval-gate: install
	$(PY) -m qa eval eval/qa.jsonl --floors eval/floors.json
	$(PY) -m qa eval eval/offtopic.jsonl --mode hybrid --floors eval/floors.json
	$(PY) -m qa eval eval/dialogues.jsonl --cache $(SQUAD_CACHE) --floors eval/floors.json
	for s in $(SQUAD_SETS); do \
	  $(PY) -m qa eval eval/external/$$s.json $(SQUAD_GATE) --cache $(SQUAD_CACHE) \
	    --floors eval/floors.json || exit 1; \
	done

bench: install
	$(PY) -m qa bench --sizes 1000,10000,100000 --padded-eval 100000 --out bench/results.json \
	  --plot docs/bench.png

bench-smoke: install
	$(PY) -m qa bench --sizes 1000 --out /tmp/qa-bench-smoke.json

clean:
	rm -rf $(VENV) index .pytest_cache

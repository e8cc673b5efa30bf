# Two commands do all the set-up on a fresh machine (idempotent):
#   make run    serve the chat on the bundled article at http://127.0.0.1:7860
#   make test   run the whole test suite (unit, integration, browser)
# and one is the loop while you work:
#   make check  the fast tests (under a minute on two idle cores): hashing embedder and the shipped judge,
#               no browser, nothing marked slow or integration
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test check browser bench-docs eval bench clean

# torch goes first, pinned, so nothing later can pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,bench,milvus,mcp,langchain,llamaindex]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright's own download does not work offline).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: /usr/bin/chromium is missing and this is not root: browser tests will be skipped"; fi; }
	@# axe-core (npm) checks the pages' accessibility in tests/ui/test_browser_round_two.py
	@test -f $(VENV)/node_modules/axe-core/axe.min.js || { command -v npm >/dev/null && \
	  npm install -s --no-audit --no-fund --prefix $(VENV) axe-core@4 >/dev/null || echo "note: no npm: axe-core checks skipped"; }

run: install
	$(BIN)/assistant serve

test: install browser
	$(BIN)/python -m pytest

# A quarter of the fuzz examples: the loop stays under a minute; `make test` runs them all.
check: install
	ASSISTANT_FUZZ_SCALE=0.25 $(BIN)/python -m pytest -q -m "not slow and not integration and not browser"

eval: install
	$(BIN)/assistant eval --split test

# The bench's build part reads Debian's Python docs (the first 100 pages of python3.11-doc).
DOCS := /usr/share/doc/python3.11/html
bench-docs:
	@test -d $(DOCS) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3.11-doc >/dev/null; \
	  else echo "note: $(DOCS) is missing and this is not root: install python3.11-doc, or the bench's build part fails (--docs DIR for another corpus)"; fi; }

bench: install bench-docs
	$(BIN)/assistant bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test chromium bench eval

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: resolved by another package, pip would pick a CUDA build of several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/qa serve

# The fast tier first (seconds; no model, server or browser), then everything that needs the real parts.
test: $(BIN)/.installed chromium
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow

# Browser tests drive Debian's chromium; Playwright cannot download its own browser offline.
# The PDF tests print issues with Chinese titles: a CJK font gives chromium the glyphs.
chromium:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh family | grep -q . || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

eval: $(BIN)/.installed
	$(BIN)/qa index && $(BIN)/qa eval bench/questions.jsonl --split validation

bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

# make run   — set up .venv (only when requirements changed) and start the app on its embedded default
# make workshop — REPLICAS app processes (default: one per core) behind HAProxy on PORT, one class server
# make test  — set up .venv with the dev tools and run the whole suite (what CI runs)
# make check — the edit-run loop: unit and AppTest tests only, on every core (about 2 min on 2 cores)
# make bench — run the benchmarks in bench/ (ratios measured side by side in one run)
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
REPLICAS ?= 0
ADDRESS  ?= 127.0.0.1

.PHONY: run workshop test check bench clean check-python

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (streamlit 1.67, pandas 3.1 and numpy 2.4 need it)."; exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per requirements file: pip runs again only when the file changed.
$(VENV)/.stamp-app: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.stamp-dev: requirements-dev.txt $(VENV)/.stamp-app
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

# The launcher prints the instructor passcode (generated unless LAB_INSTRUCTOR_PASSCODE is set), then
# becomes `streamlit run app.py`.
run: $(VENV)/.stamp-app
	$(BIN)/python -m ui.serve run --port $(PORT)

# REPLICAS=0 means one per core; ADDRESS=0.0.0.0 lets other machines of your network in. Ctrl-C stops all.
workshop: $(VENV)/.stamp-app
	$(BIN)/python -m ui.serve workshop --replicas $(REPLICAS) --port $(PORT) --address $(ADDRESS)

test: $(VENV)/.stamp-dev
	$(BIN)/python -m pytest

check: $(VENV)/.stamp-dev
	$(BIN)/python -m pytest tests/unit tests/app -q -n auto

bench: $(VENV)/.stamp-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache tests/browser/screenshots

# The book's two commands (see README.md), each doing its own set-up on a fresh machine:
#   make book   build the website into _build/html, executing every notebook
#   make test   run the whole test suite (which also builds the book and checks it in a browser)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup browser ipywidgets7 book test test-quick claims-sweep notebooks benchmarks clean

$(VENV)/.ready: requirements.txt lib/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

setup: $(VENV)/.ready

# Debian's chromium for the browser tests (Playwright cannot download its own browser here),
# and a local MathJax 3 that the tests serve in place of the CDN copy the pages ask for.
MATHJAX := tests/.browser/node_modules/mathjax/es5/tex-mml-chtml.js
browser: $(MATHJAX)
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

$(MATHJAX):
	npm install --no-save --no-audit --no-fund --silent --prefix tests/.browser mathjax@3.2.2

# ipywidgets 7 (what Colab runs) in a side folder, for the compatibility test of the widgets.
IPYWIDGETS7 := tests/.ipywidgets7/ipywidgets/__init__.py
ipywidgets7: $(IPYWIDGETS7)
$(IPYWIDGETS7): setup
	$(BIN)/python -m pip install -q --no-deps --target tests/.ipywidgets7 \
	  ipywidgets==7.7.1 widgetsnbextension==3.6.10 jupyterlab-widgets==1.1.11 ipython-genutils==0.2.0

book: setup
	$(BIN)/python scripts/build_book.py

test: setup browser ipywidgets7
	$(BIN)/python -m pytest

# For development: the unit tests without the claims, the book build and the browser (minutes).
test-quick: setup ipywidgets7
	$(BIN)/python -m pytest -m "not slow"

# Every claims module over seeds 0-9; writes the margins table tests/claims_sweep.md (not in `make test`).
claims-sweep: setup
	$(BIN)/python scripts/claims_sweep.py --seeds 0-9

# Regenerate the paired .ipynb notebooks (committed without outputs) from the MyST sources;
# --update keeps the cell ids, so a diff shows only what changed.
notebooks: setup
	$(BIN)/jupytext --quiet --update --to ipynb chapters/*.md

benchmarks: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build conf.py

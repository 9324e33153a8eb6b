# Two commands do all the set-up on a fresh machine (see README.md):
#   make book   virtual environment + pinned requirements + minimodels, the models,
#               then the site
#   make test   the same set-up, then every test, including nbval over every chapter
#               and the browser test of the built site (tests/test_site.py)
#   make models   train every model the chapters use that is not cached yet
#               (both commands above do this first)
#   make student  the student version of every chapter, into _build/student
#   make format   ruff format + ruff check --fix over the code and the chapters
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install browser models book test clean student format

# pip and apt-get mostly wait on downloads: the two run side by side.
install:
	@$(MAKE) --no-print-directory -j2 $(STAMP) browser

# Reinstalls whenever the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Chromium and its driver, for the browser test of the site (tests/test_site.py).
# Nothing to do when a browser the test accepts (chromium, chromium-browser or
# google-chrome, as on GitHub's runners) and chromedriver are on PATH. Otherwise
# installed with apt where we are root or have password-less sudo; otherwise a
# message, and the browser test is skipped with its reason (fails where
# MINIMODELS_REQUIRE_BROWSER is set, as in CI). Never fails the install.
browser:
	@if { command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null 2>&1 \
	    && command -v chromedriver >/dev/null 2>&1; then \
	  exit 0; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: no apt-get here; install Chromium and chromedriver yourself for the browser test (tests/test_site.py)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	    || echo "note: apt-get could not install chromium chromium-driver; the browser test will be skipped"; \
	elif sudo -n true 2>/dev/null; then \
	  { sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	    || echo "note: apt-get could not install chromium chromium-driver; the browser test will be skipped"; \
	else \
	  echo "note: not root and no password-less sudo: run 'sudo apt-get install chromium chromium-driver' for the browser test (tests/test_site.py)"; \
	fi

# Every model the chapters train, in one pool of worker processes over all cores,
# longest first, into the cache the notebooks read (_build/cache): no notebook cell
# then trains for minutes, and a second run trains nothing
# (python -m minimodels.experiments; --list counts what is missing).
models: install
	$(BIN)/python -m minimodels.experiments

# --all: re-read every page. Otherwise Sphinx re-reads only the notebooks whose own
# file changed, and a page whose numbers come from changed package code (retrained
# models, a new analysis) would keep its old outputs. -W: any Sphinx warning fails
# the build; --keep-going: report all of them first. A failed build removes
# index.html, so tests/test_site.py never takes its pages for a good site (it
# rebuilds when index.html is missing or older than a source).
book: models
	$(BIN)/jupyter-book build . --all --builder html -W --keep-going || { rm -f _build/html/index.html; exit 1; }

# Two test processes (pytest-xdist), each one file at a time, the longest files first
# (tests/conftest.py). TEST_WORKERS=1 runs them in this process instead.
TEST_WORKERS ?= 2
test: models
	$(BIN)/python -m pytest $(if $(filter 1,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile)

# ruff's formatter, then its safe fixes; tests/test_lint.py (in make test) checks both.
format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks data chapters
	$(BIN)/ruff check --fix src tests benchmarks data chapters

student: $(STAMP)
	$(BIN)/python -m minimodels.course student _build/student

clean:
	rm -rf _build

# Two commands do all the set-up on a fresh machine (see README.md):
#   make book   virtual environment + pinned requirements + minimodels, then the site
#   make test   the same set-up, then every test, including nbval over every chapter
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install book test clean student

install: $(STAMP)

# Reinstalls whenever the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# -W: any Sphinx warning fails the build; --keep-going: report all of them first.
book: install
	$(BIN)/jupyter-book build . --builder html -W --keep-going

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf _build

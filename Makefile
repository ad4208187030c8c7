# customer-sync: every developer and CI command. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
SAM := $(TOOLS)/bin/sam
INSTALLED := $(VENV)/.installed
TOOLS_INSTALLED := $(TOOLS)/.installed

.PHONY: install tools test lint format build run bench sam-local openapi clean

$(INSTALLED): layers/shared/requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r layers/shared/requirements.txt -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

# The SAM CLI pins clash with the app's dependencies, so it lives in its own virtualenv.
$(TOOLS_INSTALLED): requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $@

tools: $(TOOLS_INSTALLED)

test: install
	$(BIN)/pytest

lint: install tools
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(SAM) validate --lint

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

build: tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SAM) build --cached

run: install
	$(BIN)/python -m local.run

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

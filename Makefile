# Two commands for a newcomer: `make demo` and `make test`. Everything else is a building block.
# Each target sets up what it needs (virtualenv, packages, CDK CLI) and can be re-run safely.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help venv lint test test-unit test-integration test-infra test-deploy demo demo-local synth synth-emulator bench clean

help:
	@echo "make demo   - run the relay locally end to end and print every sample's outcome"
	@echo "make test   - the whole default suite (lint, unit, integration, infra gates)"
	@echo "make demo-local | synth | synth-emulator | bench | lint | test-unit | test-integration | test-infra | test-deploy"

# Re-installed when a package appears under functions/: the editable install maps each top-level
# package by name, so a new one is importable only once pip has seen it.
$(INSTALLED): pyproject.toml $(wildcard functions/*/__init__.py)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(INSTALLED)

$(NODE_INSTALLED): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The deploy test needs the pinned CDK CLI; ministack's own venv is created on first use.
test: $(INSTALLED) $(NODE_INSTALLED) lint
	$(PY) -m pytest -q

test-unit: $(INSTALLED)
	$(PY) -m pytest -q tests/unit

test-integration: $(INSTALLED)
	$(PY) -m pytest -q tests/integration

test-infra: $(INSTALLED)
	$(PY) -m pytest -q tests/infra

test-deploy: $(INSTALLED) $(NODE_INSTALLED)
	$(PY) -m pytest -q tests/deploy

bench: $(INSTALLED)
	$(PY) -m infra.local.bench

demo: $(INSTALLED) $(NODE_INSTALLED)
	$(PY) -m infra.local.demo

demo-local: $(INSTALLED)
	$(PY) -m infra.local.demo_local

synth: $(INSTALLED) $(NODE_INSTALLED)
	npx aws-cdk synth --quiet

synth-emulator: $(INSTALLED) $(NODE_INSTALLED)
	npx aws-cdk synth --quiet -c target=emulator -c ephemeral=true

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache

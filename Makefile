# Opower Gateway. `make dev` runs the gateway locally; `make test` runs every check.
# Both set up what they need first (.venv, node_modules) and are fast when nothing changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1
# The Lambda asset root is importable as it is in Lambda (`gateway`, `handlers`).
export PYTHONPATH := $(CURDIR)/lambdas:$(CURDIR)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- setup
$(PY_STAMP): requirements.txt lambdas/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python dependencies into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "Installing the AWS CDK CLI into node_modules ..."
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: venv
venv: $(PY_STAMP) ## Create or update .venv

# ---------------------------------------------------------------- run
.PHONY: dev
dev: $(PY_STAMP) ## Run the gateway locally on embedded defaults (Ctrl-C stops)
	@$(PY) -m local.dev

.PHONY: sandbox
sandbox: $(PY_STAMP) ## Run the Opower sandbox alone (SANDBOX_PORT, default 4010)
	@$(PY) -m local.sandbox

# ---------------------------------------------------------------- checks
.PHONY: lint
lint: $(PY_STAMP) ## Ruff (lint + format check) and mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

.PHONY: format
format: $(PY_STAMP) ## Apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

.PHONY: test
test: lint ## Lint, type-check and run the whole test suite
	@$(PY) -m pytest

.PHONY: unit
unit: $(PY_STAMP) ## Unit tests only (no network)
	@$(PY) -m pytest tests/unit

# ---------------------------------------------------------------- benchmarks
.PHONY: bench-tokens
bench-tokens: $(PY_STAMP) ## Fleet token benchmark: N brokers, one token per lifetime (N=50)
	@$(PY) -m bench.tokens

.PHONY: clean
clean: ## Remove build outputs and caches (keeps .venv and node_modules)
	@rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache .hypothesis

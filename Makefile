# Opower Gateway. `make dev` runs the gateway locally; `make test` runs every check.
# `make dev` installs only what the local gateway needs (.venv); `make test` adds the
# toolchain and node_modules. Both are fast when nothing changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PY_STAMP := $(VENV)/.installed
GATEWAY_PORT ?= 3000
LOCAL_STAMP := $(VENV)/.installed-local
NODE_STAMP := node_modules/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
# jsii (under aws-cdk-lib) prints a banner on every start on Node 20 (end of life for it
# since 2026-10-30, still working); Node 22+ needs no silencing.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# The Lambda asset root is importable as it is in Lambda (`gateway`, `handlers`).
export PYTHONPATH := $(CURDIR)/lambdas:$(CURDIR)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}' \
		| sed 's/@GATEWAY_PORT@/$(GATEWAY_PORT)/'

# ---------------------------------------------------------------- setup
# Two steps: what `make dev` needs (requirements-local.txt, about a minute on a fresh
# clone), then the toolchain of `make test` (requirements.txt: CDK, cfn-lint, mypy, ...).
# One line per package while pip works, so a first run shows where it is.
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar off
PROGRESS := awk '/^(Collecting|Successfully installed)/ { sub(/Successfully installed/, "installed:"); print "  " substr($$0, 1, 100); fflush() }'

$(LOCAL_STAMP): requirements-local.txt lambdas/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	@test -x $(PY) || { echo "Creating $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing what the local gateway needs (requirements-local.txt) into $(VENV) ..."
	@$(PIP) -r requirements-local.txt | $(PROGRESS)
	@touch $@

$(PY_STAMP): $(LOCAL_STAMP) requirements.txt
	@echo "Installing the test, lint and deployment toolchain (requirements.txt) into $(VENV) ..."
	@$(PIP) -r requirements.txt | $(PROGRESS)
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "Installing the AWS CDK CLI into node_modules ..."
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: venv
venv: $(PY_STAMP) ## Create or update .venv (everything; `make dev` installs only its part)

# ---------------------------------------------------------------- run
.PHONY: dev
dev: $(LOCAL_STAMP) ## Run the whole gateway locally on 127.0.0.1:@GATEWAY_PORT@ (Ctrl-C stops); a real Opower: OPOWER_URL= UTILITY_CODE= OPOWER_CREDENTIALS=
	@$(PY) -m local.dev

.PHONY: service-call
service-call: $(LOCAL_STAMP) ## A SigV4-signed service API call to the running `make dev`: make service-call CUSTOMER=UC-0001 [ROUTE=/bill-forecast] [COMPANY=UTY]
	@$(PY) -m local.service_call $(CUSTOMER) $(if $(ROUTE),--route $(ROUTE)) $(if $(METHOD),--method $(METHOD)) $(if $(COMPANY),--company $(COMPANY)) $(if $(ACCOUNT),--account $(ACCOUNT)) $(if $(BODY),--body '$(BODY)')

.PHONY: token
token: $(LOCAL_STAMP) ## A token the running `make dev` accepts: make -s token CUSTOMER=UC-0001 [COMPANY=UTY] [ACCOUNTS=n[,n]]
	@$(PY) -m local.token $(CUSTOMER) $(if $(COMPANY),--company $(COMPANY)) $(if $(ACCOUNTS),--accounts '$(ACCOUNTS)')

.PHONY: forget
forget: $(PY_STAMP) ## Forget one customer (a deletion request): make forget CUSTOMER=UC-0001 [COMPANY=] [RELEASE=1] [STACK=<deployed stack>]
	@$(PY) -m infra.forget $(CUSTOMER) $(if $(COMPANY),--company $(COMPANY)) $(if $(STACK),--stack $(STACK)) $(if $(RELEASE),--release-designated)

.PHONY: opower-check
opower-check: $(LOCAL_STAMP) ## Every route for a customer through the running `make dev`, checked against Oracle's schemas: make opower-check CUSTOMER=UC-0002 [ACCOUNTS=n[,n]] [WRITES=1]
	@$(PY) -m local.opower_check $(CUSTOMER) $(if $(ACCOUNTS),--accounts '$(ACCOUNTS)') $(if $(COMPANY),--company $(COMPANY)) $(if $(WRITES),--writes $(WRITES))

.PHONY: sandbox
sandbox: $(LOCAL_STAMP) ## Run the Opower sandbox alone (SANDBOX_PORT, default 4010)
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

# Every test in TEST_WORKERS processes (pytest-xdist): most tests wait on a server, a
# subprocess or a timeout, so four keep two cores busy. worksteal: an idle worker takes
# tests queued behind a long one (the schemathesis run alone is two minutes).
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal

.PHONY: test
test: lint synth browser ## Lint, type-check, synthesize (cdk-nag, cfn-lint) and run every test (about 6 min on 2 cores)
	@$(PY) -m pytest $(PYTEST_PARALLEL)

.PHONY: unit
unit: $(PY_STAMP) ## The inner loop: unit tests only, no server, no network (about 30 s)
	@$(PY) -m pytest $(PYTEST_PARALLEL) tests/unit

# The portal's browser tests drive Chromium: Debian's package, installed here where it is
# missing and this is root (CI); PORTAL_BROWSER=/path/to/chrome names another.
.PHONY: browser
browser: $(PY_STAMP) ## Chromium for the portal's browser tests (found, or Debian's installed as root)
	@$(PY) -m tests.browser.chromium

.PHONY: test-browser
test-browser: browser ## The customer portal's tests in headless Chromium (about 30 s)
	@$(PY) -m pytest tests/browser

.PHONY: portal-screenshot
portal-screenshot: browser ## Retake docs/images/portal.png, the README's picture of the portal
	@$(PY) -m tests.browser.screenshot docs/images/portal.png

.PHONY: test-fast
test-fast: $(PY_STAMP) ## Every test but the end-to-end and the infrastructure layers, no lint (a few minutes)
	@$(PY) -m pytest $(PYTEST_PARALLEL) tests/unit tests/integration

# ---------------------------------------------------------------- infrastructure
# The CDK CLI runs `python3 app.py`: .venv/bin comes first on PATH so that it is the
# project's Python (aws-cdk-lib, cdk-nag, pip for the Lambda asset).
CDK := PATH="$(CURDIR)/$(BIN):$$PATH" npx --no-install cdk

.PHONY: synth
synth: $(PY_STAMP) $(NODE_STAMP) ## Synthesize the stack (Lambda asset built, cdk-nag) and cfn-lint it
	@$(CDK) synth --quiet
	@$(BIN)/cfn-lint cdk.out/*.template.json

# deploy=true: the configuration refuses cdk.json's placeholder values (utility_code UTX,
# login.example.com) that `make synth` and `make dev` accept.
.PHONY: deploy
deploy: $(PY_STAMP) $(NODE_STAMP) ## Deploy with your AWS credentials (ARGS="-c utility_code=ABC ...")
	@$(CDK) deploy -c deploy=true $(ARGS)

.PHONY: fill-secret
fill-secret: $(PY_STAMP) ## Store the Opower client id/secret in the deployed stack's secret (STACK=, COMPANY=)
	@$(PY) -m infra.fill_secret $(if $(STACK),--stack $(STACK)) $(if $(COMPANY),--company $(COMPANY))

.PHONY: lock
lock: $(PY_STAMP) ## Re-pin and hash the Lambda asset's dependencies (lambdas/requirements.lock)
	@$(PY) -m infra.lock

.PHONY: dist
dist: $(PY_STAMP) ## Build the construct's wheel into dist/ (pip install it in your own CDK app: docs/deploying.md)
	@$(PY) -m infra.dist --outdir dist

.PHONY: destroy
destroy: $(PY_STAMP) $(NODE_STAMP) ## Delete the deployed stack (ARGS passed to cdk destroy)
	@$(CDK) destroy $(ARGS)

.PHONY: openapi
openapi: $(PY_STAMP) ## Write docs/openapi.json and docs/openapi-service.json from the route table
	@$(PY) -m gateway.proxy.openapi > docs/openapi.json
	@$(PY) -m gateway.proxy.openapi --service > docs/openapi-service.json

# ---------------------------------------------------------------- benchmarks
.PHONY: bench
bench: $(PY_STAMP) ## Every benchmark (JSON lines + table); writes docs/performance.md
	@$(PY) -m bench --write

.PHONY: bench-overload
bench-overload: $(PY_STAMP) ## The bill day overloaded: the day's plan against first come, first served
	@$(PY) -m bench.bill_day

.PHONY: bench-tokens
bench-tokens: $(PY_STAMP) ## Fleet token benchmark: N brokers, one token per lifetime (N=50)
	@$(PY) -m bench.tokens

.PHONY: bench-first-run
bench-first-run: $(PY_STAMP) ## A new user's first run: fresh clone of HEAD, make dev, first curl (target < 90 s)
	@$(PY) -m bench.first_run

.PHONY: bench-capacity
bench-capacity: $(PY_STAMP) ## A month: customers within Opower's quota, cache off / as before #28 / now (PROFILE=typical|engaged, ~10 min)
	@$(PY) -m bench.capacity_month --profile $(or $(PROFILE),typical)

.PHONY: bench-faults
bench-faults: $(PY_STAMP) ## Token broker under token-endpoint faults: fleets of 10 and 30 processes (~11 min)
	@$(PY) -m bench.token_faults

.PHONY: clean
clean: ## Remove build outputs and caches (keeps .venv and node_modules)
	@rm -rf cdk.out dist .build .pytest_cache .mypy_cache .ruff_cache .hypothesis

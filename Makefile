# customer-sync: every developer and CI command. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools
SAM := $(TOOLS)/bin/sam
INSTALLED := $(VENV)/.installed
TOOLS_INSTALLED := $(TOOLS)/.installed
PYTEST_ARGS ?=

# The SAM CLI needs a region even for offline commands; telemetry would try to reach the network.
SAM_ENV := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0

.PHONY: install tools test test-unit test-integration test-e2e test-browser test-fuzz test-tooling lint format build \
	check-build run clean

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

# Every tier. The tiers follow the test's directory (tests/conftest.py); `make test-<tier>` runs one.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# Network sockets blocked (pytest-socket): a test that opens one is not a unit test.
test-unit: install
	$(BIN)/pytest -m unit --disable-socket $(PYTEST_ARGS)

test-integration test-e2e test-browser test-fuzz test-tooling: test-%: install
	$(BIN)/pytest -m $* $(PYTEST_ARGS)

# Runs every check even when an earlier one fails, so one run reports everything; fails if any failed.
lint: install tools
	@failed=""; \
	$(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	$(BIN)/ruff check . || failed="$$failed ruff-check"; \
	$(BIN)/mypy || failed="$$failed mypy"; \
	$(SAM_ENV) $(SAM) validate --lint || failed="$$failed sam-validate"; \
	if [ -n "$$failed" ]; then echo "lint FAILED:$$failed" >&2; exit 1; fi; \
	echo "lint passed: ruff format, ruff check, mypy, sam validate --lint"

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The layer is built with the project's Python 3.11 first on PATH (BuildMethod python3.11 needs it);
# samconfig.toml turns on --cached and --parallel. Then everything built is precompiled, as Lambda cannot
# write bytecode to its read-only code directories: without it every cold start compiles the layer again.
# unchecked-hash bytecode stays valid whatever the deployment zip does to file times.
build: install tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(SAM_ENV) $(SAM) build
	$(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

# Imports each built handler the way Lambda would: its own directory plus the layer's python/ only.
check-build: install
	$(BIN)/python -m local.check_build

run: install
	$(BIN)/python -m local.run

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# Upgrading a stack whose merchants were onboarded before the ingest function had its own signing-key secret
# (README "Deploying"): copies each key into that secret. Uses your AWS credentials; prints no secret.
# e.g. make migrate-signing-keys MIGRATE_ARGS="--secret-prefix customer-sync/ --check"
MIGRATE_ARGS ?=
.PHONY: migrate-signing-keys
migrate-signing-keys: install
	PYTHONPATH="layers/shared$${PYTHONPATH:+:$$PYTHONPATH}" $(BIN)/python -m ops.migrate_signing_keys $(MIGRATE_ARGS)

# SAM local invoke, offline (README.md, "SAM local invoke"): each function run by `sam local invoke` with its
# events/ sample in a local Lambda image (debootstrapped Debian rootfs, `docker import`ed, cached) against a
# moto server on 127.0.0.1; every container runs on the host's network (--docker-network host), so nothing
# leaves loopback. Needs Debian's docker.io and debootstrap, and root the first time (debootstrap, dockerd).
SAM_LOCAL_ENV := PYTHONPATH="layers/shared$${PYTHONPATH:+:$$PYTHONPATH}" $(SAM_ENV)

.PHONY: sam-local
sam-local: build
	$(SAM_LOCAL_ENV) $(BIN)/python -m local.sam_local.run_invokes --sam-python $(TOOLS)/bin/python

# The benchmark (BENCHMARKS.md): issue 11's measurements with QBO's rate limits on (bench/run_bench.py).
# Options through BENCH_ARGS, e.g. `make bench BENCH_ARGS="--skip-outage"`.
BENCH_ARGS ?=

.PHONY: bench
bench: build
	PYTHONPATH="layers/shared$${PYTHONPATH:+:$$PYTHONPATH}" $(BIN)/python -m bench.run_bench $(BENCH_ARGS)

# The soak (SOAK.md): thousands of changes through the local stack with QBO faults, duplicate and reordered
# webhooks and a sync crash, then every customer checked (bench/run_soak.py); fails when a check fails.
# Options through SOAK_ARGS, e.g. `make soak SOAK_ARGS="--changes 600 --customers 120 --outage-seconds 60"`.
SOAK_ARGS ?=

.PHONY: soak
soak: install
	PYTHONPATH="layers/shared$${PYTHONPATH:+:$$PYTHONPATH}" $(BIN)/python -m bench.run_soak $(SOAK_ARGS)

# The merchant console in AWS (README "Deploying"): console/ to the stack's private bucket, with a config.json
# made from the stack's outputs (Cognito endpoint, user pool, public app client), then a CloudFront
# invalidation. Needs the AWS CLI and credentials for the stack. STACK defaults to samconfig's stack name.
STACK ?= customer-sync
REGION ?= $${AWS_DEFAULT_REGION:-us-east-1}

.PHONY: deploy-console
deploy-console:
	@set -euo pipefail; \
	output() { aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	  --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	bucket=$$(output ConsoleBucketName); distribution=$$(output ConsoleDistributionId); \
	pool=$$(output UserPoolId); client=$$(output UserPoolClientId); region=$(REGION); \
	config=$$(mktemp); trap 'rm -f "$$config"' EXIT; \
	printf '{"region": "%s", "cognito_endpoint": "https://cognito-idp.%s.amazonaws.com/", "user_pool_id": "%s", "client_id": "%s"}\n' \
	  "$$region" "$$region" "$$pool" "$$client" > "$$config"; \
	aws s3 sync console/ "s3://$$bucket/" --delete --exclude config.json --region $(REGION); \
	aws s3 cp "$$config" "s3://$$bucket/config.json" --content-type application/json --cache-control no-cache --region $(REGION); \
	aws cloudfront create-invalidation --distribution-id "$$distribution" --paths '/*' >/dev/null; \
	echo "console uploaded to s3://$$bucket; open $$(output ConsoleUrl)"

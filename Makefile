# berth — the two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

TOOLS_BINS := $(shell bash scripts/tools.sh | tr '\n' ':')
export PATH := $(TOOLS_BINS)$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_REGION ?= us-east-1

LOCAL := target/debug/berth-local
TEST_STACK := .local/test

.PHONY: help tools build demo local-up local-down invoke lint lint-rust fmt-check lint-iac test test-unit test-integration build-all bench package sam-build clean

help:
	@echo "make demo        provision the sample customer end to end on a local emulator"
	@echo "make test        every check: lints, unit tests, integration and end-to-end tests"
	@echo "make bench       every figure (docs/benchmarks.md): overhead, API calls, cost, concurrency, allocation, sizes"
	@echo "make package     the arm64 zips of every Lambda (target/lambda/*/bootstrap.zip)"
	@echo "make sam-build   the same through AWS SAM (.aws-sam/build)"
	@echo "make local-up    start the local stack and leave it running (.local/stack.json)"
	@echo "make local-down  stop it"

tools:
	@bash scripts/tools.sh >/dev/null

build: tools
	cargo build --workspace --bins

# make test builds everything once: the functions, the tools and every test target, with the
# dev-dependencies' features (the SDK's test-util), so nothing is compiled twice. Under
# `make test` clippy lints the workspace in that same compilation (clippy-driver as the
# workspace's rustc wrapper, as `cargo clippy` runs it), so the dependencies are compiled
# once instead of once checked for clippy and once built.
build-all: tools
	cargo build --workspace --all-targets

demo: build
	$(LOCAL) demo --dir .local/demo

local-up: build
	$(LOCAL) up --dir .local

local-down:
	@if [ -x $(LOCAL) ]; then $(LOCAL) down --dir .local; fi

# Invoke one Lambda on the running local stack with its example event, through the router (as
# Step Functions does): make invoke FN=validate
# (the intake Lambda takes the onboarding request: make invoke FN=intake EVENT=events/onboard.json)
FN ?= validate
EVENT ?= events/$(FN).json
invoke:
	@port=$$(python3 -c 'import json;print(json.load(open(".local/stack.json"))["endpoint"].rsplit(":",1)[1])'); \
	cargo lambda invoke berth-$(FN) --invoke-address 127.0.0.1 --invoke-port $$port --data-file $(EVENT)

lint: lint-rust lint-iac

lint-rust: fmt-check
	cargo clippy --workspace --all-targets -- -D warnings

fmt-check:
	cargo fmt --all --check

lint-iac: tools
	cfn-lint template.yaml
	sam validate --lint --template template.yaml
	for f in statemachines/*.asl.json; do node_modules/.bin/asl-validator --json-path "$$f"; done
	python3 scripts/check-schema.py

test-unit: build-all
	cargo test --workspace --exclude berth-tests

# Integration and end-to-end suites against the emulator: one local stack, reset between suites.
# `--workspace` keeps build-all's features (a suite's name is berth-tests' alone), so nothing
# is compiled again.
# (the small ones, a+b+c, share a reset: each asserts only on what it made; name:filter runs
# only the tests whose names hold filter: the second products run takes the tests whose
# hosts depend on the host form, not the own-domain ones, which do not).
test-integration: build-all
	@$(LOCAL) down --dir $(TEST_STACK) >/dev/null
	@rm -rf $(TEST_STACK)/emitted
	$(LOCAL) up --dir $(TEST_STACK) --concurrency 4 >/dev/null
	@trap '$(LOCAL) down --dir $(TEST_STACK) >/dev/null' EXIT; \
	for suite in "adapters 1" "registry 1" "inputs+ownership+secrets+isolation 1" "onboarding 4" "faults 1" "lifecycle+api+cli+products 1" "products:product 1 --product-host-form dotted" "certificates 1 --albs 2 --certificate-quota 2" "limits 1 --albs 2" "rollout 1" "pool 1 --albs 3 --rule-quota 16 --target-group-quota 14"; do \
	  set -- $$suite; name=$$1; threads=$$2; shift 2; filter=""; \
	  if [[ $$name == *:* ]]; then filter=$${name#*:}; name=$${name%%:*}; fi; \
	  echo "--- suite $$name $$filter (fresh emulator $$*)"; \
	  $(LOCAL) reset --dir $(TEST_STACK) --keep-lambdas "$$@" >/dev/null; \
	  BERTH_STACK_DIR=$(TEST_STACK) cargo test --workspace --test $${name//+/ --test } -- --test-threads=$$threads $$filter; \
	done
	@echo "--- the events the suites saw, against their schemas"
	python3 scripts/check-schema.py --emitted $(TEST_STACK)/emitted

test: export RUSTC_WORKSPACE_WRAPPER := $(shell rustc --print sysroot)/bin/clippy-driver
test: export CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
test: tools fmt-check lint-iac build-all test-unit test-integration

# The deployable artifacts: a zipped arm64 bootstrap per Lambda in target/lambda/ (not part
# of `make test`).
package: tools
	bash scripts/package.sh

# The same artifacts through AWS SAM (samconfig.toml turns on the rust-cargolambda beta).
sam-build: tools
	sam build --template template.yaml

# Every figure, printed and written to docs/benchmarks.md: the zips, then a fresh local
# stack, the benchmarks (reset between parts), then stopped.
bench: build package
	@$(LOCAL) down --dir .local/bench >/dev/null
	$(LOCAL) up --dir .local/bench --concurrency 8 >/dev/null
	@trap '$(LOCAL) down --dir .local/bench >/dev/null' EXIT; \
	$(LOCAL) bench --dir .local/bench --concurrency 8 --out docs/benchmarks.md

clean:
	@if [ -x $(LOCAL) ]; then $(LOCAL) down --dir .local; $(LOCAL) down --dir $(TEST_STACK); $(LOCAL) down --dir .local/demo; fi
	cargo clean

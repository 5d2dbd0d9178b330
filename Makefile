# CloudMind: the two commands are `make run` and `make test`; the rest is listed by `make help`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run test lint fmt build release bench bench-scale fuzz soak probe sam-local checkov sam-tools sam-validate sam-build sam-package invoke clean

SAM_VENV := .tmp/sam-venv
SAM := $(SAM_VENV)/bin/sam

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## Serve every function on http://127.0.0.1:8000 on in-memory stores
	$(CARGO) run --locked -p cloudmind -- serve

test: ## Install what the tests need, start their services on free ports, run every test, stop the services
	./scripts/test.sh

lint: ## rustfmt, clippy, cargo-deny (licenses, bans, sources, advisories) and cargo-shear, as CI runs them
	./scripts/lint.sh

fmt: ## Format the code
	$(CARGO) fmt --all

build: ## Debug build of the whole workspace
	$(CARGO) build --locked --workspace

release: ## Optimized build of every function and the CLI (fat LTO: about 9 minutes on 2 cores)
	$(CARGO) build --locked --release --workspace

bench: ## Cold start, warm-invoke CPU, peak RSS, size and callgrind instructions against the floors (bench/run.sh, ~20 min)
	./bench/run.sh

bench-scale: ## The credential-stuffing mix on a Redis Cluster + moto: load per node, slot and partition, extrapolated (bench/scale.sh, SCALING.md)
	./bench/scale.sh

fuzz: ## Every fuzz target for FUZZ_SECONDS each (default 600; cargo-fuzz, libFuzzer), crashes fail (scripts/fuzz.sh)
	./scripts/fuzz.sh

soak: ## Ten minutes of mixed traffic on redis-server and moto: no 5xx, every request answered, RSS flat (scripts/soak.sh)
	$(CARGO) build --locked -q -p cloudmind
	./scripts/soak.sh 600

probe: ## cloudmind probe against the local server and weakened ones it must catch (scripts/probe.sh; in make test)
	$(CARGO) build --locked -q -p cloudmind
	./scripts/probe.sh memory

sam-local: sam-tools ## sam local invoke of every events/ fixture and sam local start-api + the smoke test, in containers on a locally built base image (scripts/sam_local.sh)
	./scripts/sam_local.sh

checkov: ## checkov (PyPI) on template.yaml; the findings that remain are explained in infra/README.md
	@test -x .tmp/checkov-venv/bin/checkov || { python3 -m venv .tmp/checkov-venv && .tmp/checkov-venv/bin/pip install -q checkov; }
	.tmp/checkov-venv/bin/checkov -f template.yaml --framework cloudformation --compact --quiet \
	  --skip-check CKV_AWS_116,CKV_AWS_173,CKV_AWS_158,CKV_AWS_26,CKV_AWS_149,CKV_AWS_119,CKV_AWS_120,CKV_AWS_73,CKV_AWS_117

sam-tools: ## Install aws-sam-cli, cfn-lint, cargo-lambda and zig into .tmp/sam-venv (PyPI)
	@test -x $(SAM) || { python3 -m venv $(SAM_VENV) && $(SAM_VENV)/bin/pip install -q aws-sam-cli cfn-lint cargo-lambda ziglang; }

sam-validate: sam-tools ## cfn-lint and sam validate --lint on template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region eu-west-1

sam-build: sam-tools ## sam build: every function from two cargo lambda builds for arm64 (release and release-size profiles, functions.tsv), packaged by SAM
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM) build --template template.yaml --build-in-source
	@ls -l .aws-sam/build/*/bootstrap

sam-package: sam-build ## sam build once, upload the code to ARTIFACTS_BUCKET, write .aws-sam/packaged.yaml (deployed to dev, then promoted to prod, with infra/bulletproof_deploy.sh --artifacts)
	@test -n "$(ARTIFACTS_BUCKET)" || { echo "make sam-package ARTIFACTS_BUCKET=<an S3 bucket both accounts can read>" >&2; exit 1; }
	$(SAM) package --template-file .aws-sam/build/template.yaml --s3-bucket "$(ARTIFACTS_BUCKET)" --s3-prefix cloudmind \
	  --output-template-file .aws-sam/packaged.yaml
	@grep -E '^\s+CodeUri:' .aws-sam/packaged.yaml

invoke: sam-tools ## Each function under `cargo lambda watch`, invoked with every events/ fixture
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" ./scripts/invoke.sh

clean: ## Remove build output
	$(CARGO) clean

# ---- sam build's makefile build method --------------------------------------------------------------------------
# Every function in template.yaml has `BuildMethod: makefile`: `sam build` runs `make build-<LogicalId>` once per
# function, in the source tree (`--build-in-source`, set in samconfig.toml; without it SAM would copy the whole
# repository, target directory included, once per function), with ARTIFACTS_DIR set. Each call asks cargo for every
# function's binary at once: the first call compiles and links them (two cargo lambda builds, one per profile), the
# others find cargo's output fresh (about a second each) and only copy their binary.
#   LAMBDA_ARCH=arm64   (default; the template's default Architecture) cargo lambda build --arm64, once per profile
#   LAMBDA_ARCH=x86_64  with `--parameter-overrides Architecture=x86_64`: the same with --x86-64
# Each function is built with the profile functions.tsv names for it: `release` (speed: the hashing functions and
# protected) or `release-size` (the others), so the eight come from two cargo lambda builds.
#   LAMBDA_ARCH=host    the debug build of the workspace for this machine (make sam-local: sam local on the
#                       host's architecture; the build make test made, so nothing is compiled again)
LAMBDA_ARCH ?= arm64
# functions.tsv lists the template's functions: logical id (without `Function`), binary, crate, kind, profile.
LAMBDA_BINARIES := $(shell awk -F'\t' '!/^\#/ {print $$2}' functions.tsv)
# The packages built with one cargo profile (`-p cloudmind-<binary>` for each function of that profile).
profile_packages = $(shell awk -F'\t' -v p='$(1)' '!/^\#/ && $$5 == p {printf "-p cloudmind-%s ", $$2}' functions.tsv)

.PHONY: lambda-binaries
ifeq ($(LAMBDA_ARCH),host)
# The same build as make test's (every target of the workspace, one set of features): nothing is compiled twice.
lambda-binaries:
	$(CARGO) build --locked --workspace --all-targets
lambda_binary = target/debug/$(1)
else ifeq ($(LAMBDA_ARCH),arm64)
lambda-binaries:
	$(CARGO) lambda build --locked --profile release --arm64 $(call profile_packages,release)
	$(CARGO) lambda build --locked --profile release-size --arm64 $(call profile_packages,release-size)
lambda_binary = target/lambda/$(1)/bootstrap
else ifeq ($(LAMBDA_ARCH),x86_64)
lambda-binaries:
	$(CARGO) lambda build --locked --profile release --x86-64 $(call profile_packages,release)
	$(CARGO) lambda build --locked --profile release-size --x86-64 $(call profile_packages,release-size)
lambda_binary = target/lambda/$(1)/bootstrap
else
$(error LAMBDA_ARCH must be arm64, x86_64 or host, not $(LAMBDA_ARCH))
endif

# The binary of `build-<Id>Function`: the second column of its functions.tsv line.
function_binary = $(shell awk -F'\t' -v id='$(1)' '$$1 == id {print $$2}' functions.tsv)

build-%Function: lambda-binaries
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: sam build sets it" >&2; exit 1; }
	@test -n "$(call function_binary,$*)" || { echo "$*Function is not in functions.tsv" >&2; exit 1; }
	cp $(call lambda_binary,$(call function_binary,$*)) "$(ARTIFACTS_DIR)/bootstrap"

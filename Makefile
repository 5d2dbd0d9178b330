# CloudMind: the two commands are `make run` and `make test`; the rest is listed by `make help`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run test lint fmt build release bench fuzz soak probe sam-local checkov sam-tools sam-validate sam-build invoke clean

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
	  --skip-check CKV_AWS_116,CKV_AWS_173,CKV_AWS_158,CKV_AWS_26,CKV_AWS_149,CKV_AWS_119,CKV_AWS_120,CKV_AWS_73

sam-tools: ## Install aws-sam-cli, cfn-lint, cargo-lambda and zig into .tmp/sam-venv (PyPI)
	@test -x $(SAM) || { python3 -m venv $(SAM_VENV) && $(SAM_VENV)/bin/pip install -q aws-sam-cli cfn-lint cargo-lambda ziglang; }

sam-validate: sam-tools ## cfn-lint and sam validate --lint on template.yaml
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region eu-west-1

sam-build: sam-tools ## sam build: every function cross-compiled for arm64 with cargo-lambda (release profile)
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM) build --template template.yaml
	@ls -l .aws-sam/build/*/bootstrap

invoke: sam-tools ## Each function under `cargo lambda watch`, invoked with every events/ fixture
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" ./scripts/invoke.sh

clean: ## Remove build output
	$(CARGO) clean

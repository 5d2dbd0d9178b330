# CloudMind: the two commands are `make run` and `make test`; the rest is listed by `make help`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help run test lint fmt build release clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## Serve every function on http://127.0.0.1:8000 on in-memory stores
	$(CARGO) run --locked -p cloudmind -- serve

test: ## Install what the tests need, start their services on free ports, run every test, stop the services
	./scripts/test.sh

lint: ## rustfmt and clippy, as CI runs them
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt: ## Format the code
	$(CARGO) fmt --all

build: ## Debug build of the whole workspace
	$(CARGO) build --locked --workspace

release: ## Optimized build of every function and the CLI (fat LTO: about 9 minutes on 2 cores)
	$(CARGO) build --locked --release --workspace

clean: ## Remove build output
	$(CARGO) clean

# Scoreboard: `make run` starts the system, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/scoreboard
export DATABASE_URL

.PHONY: help run demo build migrate test lint schema-check validate-deploy browser-test bench bench-redeem-tx clean-test-dbs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: ## Build, migrate and start the whole system behind the gateway; prints the URL (Ctrl-C stops it)
	@scripts/run.sh

demo: ## Like run, with simulated players so the board moves by itself (DEMO_PLAYERS, default 6)
	@DEMO_PLAYERS=$${DEMO_PLAYERS:-6} scripts/run.sh

build: ## Build the release binaries
	cargo build --release --workspace --bins

migrate: ## Create the database if needed and apply pending migrations (DATABASE_URL)
	cargo run -q --release -p scoreboard-score -- migrate

test: lint schema-check validate-deploy ## Lint, check schema and deployment files, run every test
	scripts/check-services.sh
	cargo test --workspace --all-targets
	scripts/bench.sh --smoke
	scripts/browser-test.sh

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

schema-check: ## Diff the committed diesel schema.rs against the migrations
	@scripts/check-schema.sh

validate-deploy: ## Validate docker-compose.yml, the Dockerfiles and the Kubernetes manifests offline
	scripts/validate-compose.sh
	scripts/validate-k8s.sh

browser-test: ## The web page in headless Chromium against the whole system behind the gateway
	scripts/browser-test.sh

bench: ## End-to-end benchmark through the gateway, with ceilings measured in the same run (~10 min)
	scripts/bench.sh

bench-redeem-tx: ## pgbench: guarded single-statement redeem vs SELECT ... FOR UPDATE
	bench/redeem-tx/run.sh

clean-test-dbs: ## Drop databases left behind by interrupted test runs
	@psql postgres://postgres@127.0.0.1:5432/postgres -tAc \
	  "SELECT datname FROM pg_database WHERE datname LIKE 'scoreboard_test_%' OR datname LIKE 'scoreboard_template_%'" \
	  | xargs -r -I{} psql postgres://postgres@127.0.0.1:5432/postgres -qc 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'

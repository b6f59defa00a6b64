# Scoreboard: `make run` starts the system, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/scoreboard
export DATABASE_URL

.PHONY: help run build migrate test lint schema-check bench-redeem-tx clean-test-dbs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: ## Build, migrate and start the action and score services; prints the URLs (Ctrl-C stops them)
	@scripts/run.sh

build: ## Build the release binaries
	cargo build --release --workspace --bins

migrate: ## Create the database if needed and apply pending migrations (DATABASE_URL)
	cargo run -q --release -p scoreboard-score -- migrate

test: lint schema-check ## Lint, check the schema, then run every test against the local PostgreSQL
	scripts/check-services.sh
	cargo test --workspace --all-targets

lint: ## rustfmt check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

schema-check: ## Diff the committed diesel schema.rs against the migrations
	@scripts/check-schema.sh

bench-redeem-tx: ## pgbench: guarded single-statement redeem vs SELECT ... FOR UPDATE
	bench/redeem-tx/run.sh

clean-test-dbs: ## Drop databases left behind by interrupted test runs
	@psql postgres://postgres@127.0.0.1:5432/postgres -tAc \
	  "SELECT datname FROM pg_database WHERE datname LIKE 'scoreboard_test_%' OR datname LIKE 'scoreboard_template_%'" \
	  | xargs -r -I{} psql postgres://postgres@127.0.0.1:5432/postgres -qc 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'

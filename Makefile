# Hangar: `make run` to start it, `make test` to test everything.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run build site setup test test-rust test-e2e lint ci

## Install what is missing, build, and start on http://127.0.0.1:8080 with data in ./data.
run: build
	HANGAR_DATA_DIR=$${HANGAR_DATA_DIR:-./data} ./target/release/hangar serve

## Install what is missing and build the release binary with its site embedded (the server library compiles
## while the site does).
build:
	@scripts/build.sh

setup:
	@scripts/setup.sh

site:
	scripts/build-site.sh

## What CI runs: formatting and lints (native and WASM), then every test.
ci: lint test

## Everything: unit, integration and browser tests.
test:
	scripts/setup.sh --test
	scripts/build-site.sh
	$(MAKE) test-rust test-e2e

test-rust:
	cargo test --workspace

test-e2e:
	cargo build -p server
	cd end2end && npx playwright test

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate -- -D warnings

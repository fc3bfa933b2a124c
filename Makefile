# MynaFleet tasks. CI runs `make test` through .ci/run; see docs/dev-environment.md.
#
#   make dev    start the whole suite in dev mode (DEV_ARGS='...' passes flags to it)
#   make test   install what is missing, start PostgreSQL + pcscd, run every check
#   make fmt    format the workspace
#   make lint   rustfmt --check and clippy -D warnings
#   make bench  (release build; card checks through the proxy vs direct oqs-sim, then card
#               scans through the agent vs a raw APDU replay: needs pcscd with vpcd; then
#               durable chained audit appends vs raw batched inserts)

SHELL := /bin/bash
.DEFAULT_GOAL := help

DEV_ARGS ?=

.PHONY: help dev test bench fmt lint

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

dev:
	bash scripts/dev.sh $(DEV_ARGS)

test:
	bash scripts/test.sh

bench:
	cargo run --release -p mynafleet-tests --bin eligibility-bench -- --seconds 8 --rounds 3
	cargo run --release -p mynafleet-tests --bin scan-bench -- --iterations 200 --rounds 3
	cargo run --release -p mynafleet-tests --bin audit-bench -- --records 50000 --rounds 5

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

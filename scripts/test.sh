#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need (idempotent; works on a machine
# that already has the parts and on one that has none), then checks formatting and lints and
# runs every test in the release profile (the one the quickstart and benches use).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/soa-persist/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Tests that need a tool the set-up below installs (moto's S3 server) fail when it is missing
# instead of skipping.
export SOA_REQUIRE_TOOLS=1

step() { printf '\n== %s ==\n' "$*"; }

step "set-up"
scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "lint"
# --release: the same profile as the tests, so DuckDB's C++ build (its build script) is shared.
cargo clippy --release --workspace --all-targets --all-features -- -D warnings

step "docs"
# Broken links and malformed docs fail the run (--release: shares the build scripts above).
RUSTDOCFLAGS="-D warnings" cargo doc --release --no-deps --workspace --exclude soa-persist-benches --all-features

step "tests"
# Default features (Arrow + Parquet backends, chrono, decimal, uuid) plus the embedded DuckDB
# backend, S3 (tests/parquet_s3.rs runs against moto's server on loopback), ClickHouse,
# Snowflake (tests/snowflake_backend.rs runs against the fakesnow emulator on loopback) and the
# CLI's DuckDB and ClickHouse commands. GCS, Azure and the benches' peer crates are compiled by
# clippy above; their tests need nothing more.
cargo test --release --workspace --exclude soa-persist-benches --exclude soa-persist-ui --features soa-persist/duckdb,soa-persist/s3,soa-persist/clickhouse,soa-persist/snowflake,soa-cli/duckdb,soa-cli/clickhouse
# The interop matrix (ignored without the Python tools): every engine, every type, both ways,
# rendered into docs/interop.md, which must match the checked-in file.
cargo test --release --workspace --exclude soa-persist-benches --exclude soa-persist-ui --features soa-persist/duckdb,soa-persist/s3,soa-persist/clickhouse,soa-persist/snowflake,soa-cli/duckdb,soa-cli/clickhouse --test parquet_interop -- --include-ignored
# The derive's compile-fail tests: their own crate, building soa-persist as a user does (default
# features, no test support); trybuild compiles the cases in a target folder of its own.
cargo test --release -p soa-persist-ui

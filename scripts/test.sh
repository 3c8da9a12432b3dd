#!/usr/bin/env bash
# The whole test suite: installs and starts what the tests need (idempotent; works on a machine
# that already has the parts and on one that has none), then checks formatting and lints and
# runs every test in the release profile (the one the quickstart and benches use).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/soa-persist/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s ==\n' "$*"; }

step "set-up"
scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "tests"
cargo test --release --workspace --all-features

#!/usr/bin/env bash
# The main job: the quickstart example (1M orders through the domain API, every backend of the
# build, typed queries, printed results, timings and stats). Extra arguments go to cargo, e.g.
# `scripts/quickstart.sh --features duckdb`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
exec cargo run --release --example quickstart "$@"

#!/usr/bin/env bash
# Runs every bench and writes BENCHMARKS.md: the machine, the date, the command, the load
# average before and after each bench (other work on the machine skews the figures), every
# line that states a ratio against a peer, then each bench's whole output.
# Usage: scripts/bench.sh [bench ...]   (default: all; ROWS=... passes through to each bench;
# the DuckDB and ClickHouse benches need scripts/setup.sh's parts, as the tests do).
# SCALE="1000000 10000000 30000000" also runs each row-count bench at those sizes and adds a
# table of nanoseconds per row for each timed line (ours and the peer), so how cost grows with
# size is visible (conversion sweeps its own sizes up to 100M; commit_log counts commits).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/soa-persist/target}"
export CARGO_TERM_COLOR=never
OUT="${BENCH_REPORT:-BENCHMARKS.md}"

all=(store conversion parquet commit_log keys duckdb clickhouse)
benches=("${@:-${all[@]}}")
features() {
  case "$1" in
    keys | duckdb) echo "--features duckdb" ;;
    clickhouse) echo "--features clickhouse" ;;
    *) echo "" ;;
  esac
}

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

for b in "${benches[@]}"; do
  # shellcheck disable=SC2046 # the features are words
  cargo bench --quiet -p soa-persist-benches --bench "$b" $(features "$b") --no-run
  before="$(load)"
  start=$(date +%s)
  # shellcheck disable=SC2046
  if ! cargo bench --quiet -p soa-persist-benches --bench "$b" $(features "$b") >"$logs/$b.out" 2>&1; then
    echo "bench $b failed:" >&2
    tail -20 "$logs/$b.out" >&2
    exit 1
  fi
  echo "$before|$(load)|$(($(date +%s) - start))" >"$logs/$b.meta"
  echo "bench $b: done in $(($(date +%s) - start)) s"
done

read -r -a scale <<<"${SCALE:-}"
scaled=()
for b in "${benches[@]}"; do
  case "$b" in conversion | commit_log) continue ;; esac
  ((${#scale[@]})) || break
  scaled+=("$b")
  for n in "${scale[@]}"; do
    # Every scaled bench defaults to 10M rows: that size is the run above.
    if [[ -z "${ROWS:-}" && "$n" == 10000000 ]]; then
      cp "$logs/$b.out" "$logs/$b.$n.out"
      continue
    fi
    start=$(date +%s)
    # shellcheck disable=SC2046
    if ! ROWS="$n" cargo bench --quiet -p soa-persist-benches --bench "$b" $(features "$b") >"$logs/$b.$n.out" 2>&1; then
      echo "bench $b at $n rows failed:" >&2
      tail -20 "$logs/$b.$n.out" >&2
      exit 1
    fi
    echo "bench $b at $n rows: done in $(($(date +%s) - start)) s"
  done
done

# One table per bench: a row per timed line ("<what> ours T ms <peer> T ms ratio R"), a column
# per size, cells "ours / peer" in ns per row of the dataset.
per_row() {
  local sizes="$1"
  shift
  awk -v sizes="$sizes" '
    BEGIN { n = split(sizes, size, " ") }
    FNR == 1 { fileno++ }
    / ratio +[0-9.]+x/ && match($0, / ours +[0-9.]+ ms +/) {
      what = substr($0, 1, RSTART - 1); sub(/ +$/, "", what)
      # Counts in a label follow the size ("insert 10000000 rows"): one row for every size.
      gsub(/[0-9][0-9][0-9][0-9]+/, "N", what)
      rest = substr($0, RSTART); nw = split(rest, w, " ")
      ours = w[2]; peer_ms = ""; peer = ""
      for (i = 4; i < nw; i++) {
        if (w[i + 1] == "ms") { peer_ms = w[i]; break }
        peer = peer (peer == "" ? "" : " ") w[i]
      }
      key = what " vs " peer
      if (!(key in seen)) { seen[key] = 1; order[++k] = key }
      rows = size[fileno]
      cell[key, fileno] = sprintf("%.1f / %.1f", ours * 1e6 / rows, peer_ms * 1e6 / rows)
    }
    END {
      printf "| line |"; for (i = 1; i <= n; i++) printf " %s rows |", size[i]; print ""
      printf "| --- |"; for (i = 1; i <= n; i++) printf " --- |"; print ""
      for (j = 1; j <= k; j++) {
        printf "| %s |", order[j]
        for (i = 1; i <= n; i++) printf " %s |", ((order[j], i) in cell ? cell[order[j], i] : "")
        print ""
      }
    }' "$@"
}

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
ram="$(free -g | awk '/Mem:/ {print $2}')"
{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\`; run it to reproduce (same command, your machine)."
  echo "Every ratio is against a peer measured in the same run on the same data."
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $cpu, $(nproc) cores, $ram GiB RAM"
  echo "- toolchain: $(cargo --version)"
  echo "- rows: ${ROWS:-the default of each bench}"
  echo "- command: \`scripts/bench.sh ${*:-}\`"
  echo
  echo "| bench | command | load average before / after | seconds |"
  echo "| --- | --- | --- | --- |"
  for b in "${benches[@]}"; do
    IFS='|' read -r before after secs <"$logs/$b.meta"
    echo "| $b | \`cargo bench -p soa-persist-benches --bench $b $(features "$b")\` | $before / $after | $secs |"
  done
  echo
  echo "## Ratios"
  for b in "${benches[@]}"; do
    echo
    echo "### $b"
    echo
    grep -E '[0-9.]+x\b' "$logs/$b.out" | sed 's/^/- /' || echo "- (no ratio printed)"
  done
  if ((${#scaled[@]})); then
    echo
    echo "## Per-row cost at ${scale[*]} rows"
    echo
    echo "Nanoseconds per row of the dataset, ours / the peer's, for every timed line; the same"
    echo "per-row figure at every size means cost linear in rows."
    for b in "${scaled[@]}"; do
      echo
      echo "### $b"
      echo
      files=()
      for n in "${scale[@]}"; do files+=("$logs/$b.$n.out"); done
      per_row "${scale[*]}" "${files[@]}"
    done
  fi
  echo
  echo "## Whole outputs"
  for b in "${benches[@]}"; do
    echo
    echo "### $b"
    echo
    echo '```text'
    cat "$logs/$b.out"
    echo '```'
  done
} >"$OUT"
echo "wrote $OUT"

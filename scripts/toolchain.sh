#!/usr/bin/env bash
# Makes the toolchain pinned in rust-toolchain.toml available without a download when the
# machine's stable toolchain is that very version (rustup then knows it under both names).
# Sourced by the other scripts before their first cargo call.
pinned="$(sed -n 's/^channel = "\(.*\)"/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../rust-toolchain.toml")"
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q "^$pinned"; then
  stable="$(cd / && rustc +stable --version 2>/dev/null | awk '{print $2}')"
  if [ "$stable" = "$pinned" ]; then
    rustup toolchain link "$pinned" "$(cd / && rustc +stable --print sysroot)"
  fi
fi

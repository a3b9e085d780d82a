#!/usr/bin/env bash
# Runs every apiserver benchmark of REPORT.md, each after waiting (up to 10 min) for a quiet machine.
# Usage (from the workspace root): crates/apiserver/benches/run_all.sh   — prints the load each ran at.
set -euo pipefail
target=${CARGO_TARGET_DIR:-target}

# Other builds share this machine: a bench run next to a compiler measures the compiler.
wait_idle() {
  local deadline=$((SECONDS + 600)) load
  while :; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" 'BEGIN { exit !(l < 1.0) }'; then break; fi
    if ((SECONDS >= deadline)); then echo "load still $load after 10 min; measuring anyway" >&2; break; fi
    sleep 10
  done
  echo "== $1 at load $(cat /proc/loadavg)"
}

cargo build --release --bin everynode
cargo bench -p everynode-apiserver --no-run
wait_idle creates
cargo bench -p everynode-apiserver --bench creates
wait_idle list
cargo bench -p everynode-apiserver --bench list
wait_idle watch_fanout
cargo bench -p everynode-apiserver --bench watch_fanout
wait_idle idle_rss
crates/apiserver/benches/idle_rss.sh "$target/release/everynode" 5

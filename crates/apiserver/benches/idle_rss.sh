#!/usr/bin/env bash
# Idle RSS of the real server: start `everynode apiserver --port 0`, wait for its kubeconfig, idle, read VmRSS.
# Usage: crates/apiserver/benches/idle_rss.sh [path/to/everynode] [idle seconds]
# Build first: cargo build --release (the binary defaults to $CARGO_TARGET_DIR or ./target).
set -euo pipefail
bin=${1:-${CARGO_TARGET_DIR:-target}/release/everynode}
idle=${2:-5}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$bin" apiserver --port 0 --data-dir "$dir/data" --kubeconfig "$dir/kubeconfig" >"$dir/log" 2>&1 &
pid=$!
# The kubeconfig is written once the server listens (bootstrap done); wait for it with a deadline.
for _ in $(seq 1 300); do
  [ -s "$dir/kubeconfig" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/log"; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -s "$dir/kubeconfig" ] || { echo "no kubeconfig after 30 s" >&2; exit 1; }
sleep "$idle"
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
echo "idle RSS after ${idle}s: ${rss_kb} kB ($((rss_kb / 1024)) MiB), peak ${hwm_kb} kB, threads ${threads}"

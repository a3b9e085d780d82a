#!/usr/bin/env bash
# Benchmark of `everynode up`: time to ready (process start → kubeconfig written, which `up` does
# only once the API server answers, every node is Ready and every controller has synced), the
# time until a DaemonSet is available on every node, and resident memory.
#
# Usage: bench/up.sh [RUNS] [NODE COUNTS...]   (default: 5 runs of 3, 100, 1000 nodes)
# Prints a markdown table of medians and writes them to bench/up.csv (for bench/plot.py); run
# from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
counts=("${@:-3 100 1000}")
read -r -a counts <<<"${counts[*]}"
cargo build --release --quiet
bin=target/release/everynode
work=$(mktemp -d)
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

manifest='apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]'

csv=bench/up.csv
echo "nodes,ready_s,rss_ready_mb,available_s,rss_after_mb" >"$csv"
echo "| nodes | ready (median s) | RSS at ready (MB) | DaemonSet available on all nodes (median s) | RSS after (MB) |"
echo "|---|---|---|---|---|"
for n in "${counts[@]}"; do
  ready=() ; rollout=() ; rss0=() ; rss1=()
  for run in $(seq "$runs"); do
    dir="$work/$n-$run"
    start=$(now)
    "$bin" up --nodes "$n" --port 0 --data-dir "$dir" >/dev/null 2>"$dir.log" &
    pid=$!
    until [ -f "$dir/kubeconfig" ]; do
      kill -0 "$pid" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
      sleep 0.005
    done
    ready+=("$(echo "$(now) - $start" | bc)")
    rss0+=("$(rss_mb "$pid")")
    export KUBECONFIG="$dir/kubeconfig" HOME="$dir/home"
    start=$(now)
    echo "$manifest" | kubectl apply -f - >/dev/null
    until [ "$(kubectl get ds agent -o jsonpath='{.status.numberAvailable}')" = "$n" ]; do sleep 0.05; done
    rollout+=("$(echo "$(now) - $start" | bc)")
    rss1+=("$(rss_mb "$pid")")
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  row=("$n" "$(printf '%s\n' "${ready[@]}" | median)" "$(printf '%s\n' "${rss0[@]}" | median)" \
    "$(printf '%s\n' "${rollout[@]}" | median)" "$(printf '%s\n' "${rss1[@]}" | median)")
  printf '| %s | %.3f | %s | %.2f | %s |\n' "${row[@]}"
  (IFS=,; echo "${row[*]}") >>"$csv"
done

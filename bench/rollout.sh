#!/usr/bin/env bash
# Benchmark of a rolling update on `everynode up`: N simulated nodes, a DaemonSet with
# maxUnavailable 10% (then maxSurge 10%), pods Ready at once. Measures the time from
# `kubectl set image` to `kubectl rollout status` exiting 0, and the API writes it took per
# replaced pod (the store's revision counter is the global write count; node heartbeats are
# slowed to once an hour so they do not count).
#
# Usage: bench/rollout.sh [NODES] [RUNS]   (default 1000 nodes, 3 runs); run from the repo root.
# With BY_KIND=1 each run also watches pods, events, daemonsets and controllerrevisions during
# the rollout and prints how many writes each kind took (the watchers cost CPU, so take the
# timing figures from a run without it).
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-1000}
runs=${2:-3}
cargo build --release --quiet
bin=target/release/everynode
work=$(mktemp -d)
trap 'pkill -f "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# The list's resourceVersion is the store's newest revision: one per write since it started.
revision() { kubectl get --raw '/api/v1/namespaces/default/configmaps?limit=1' | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'; }

manifest() {
  cat <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: $1, maxSurge: $2}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
YAML
}

echo "| strategy | nodes | set image → rollout status done (median s) | API writes per replaced pod (median) |"
echo "|---|---|---|---|"
for strategy in "10% 0" "0 10%"; do
  read -r unavailable surge <<<"$strategy"
  times=() ; writes=()
  for run in $(seq "$runs"); do
    dir="$work/$run-${unavailable%\%}"
    "$bin" up --nodes "$nodes" --port 0 --data-dir "$dir" --node-lease-interval 1h >/dev/null 2>"$dir.log" &
    pid=$!
    until [ -f "$dir/kubeconfig" ]; do kill -0 "$pid" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }; sleep 0.05; done
    export KUBECONFIG="$dir/kubeconfig" HOME="$dir/home"
    manifest "$unavailable" "$surge" | kubectl apply -f - >/dev/null
    kubectl rollout status ds/agent --timeout=300s >/dev/null
    if [ "${BY_KIND:-0}" = 1 ]; then
      watchers=()
      for kind in pods events daemonsets controllerrevisions; do
        kubectl get "$kind" -A --watch-only -o name >"$dir.$kind" 2>/dev/null &
        watchers+=($!)
      done
      sleep 1 # time for the watches to start; the sum printed below shows whether they saw every write
    fi
    before=$(revision)
    start=$(now)
    kubectl set image ds/agent agent=busybox:1.37 >/dev/null
    kubectl rollout status ds/agent --timeout=300s >/dev/null
    times+=("$(echo "$(now) - $start" | bc)")
    after=$(revision)
    writes+=("$(echo "scale=2; ($after - $before) / $nodes" | bc)")
    if [ "${BY_KIND:-0}" = 1 ]; then
      # Each write is one watch event of its kind; wait until they add up to the revisions.
      for _ in $(seq 100); do
        [ "$(cat "$dir".{pods,events,daemonsets,controllerrevisions} | wc -l)" -ge $((after - before)) ] && break
        sleep 0.1
      done
      counts=""
      for kind in pods events daemonsets controllerrevisions; do counts+=" $kind $(wc -l <"$dir.$kind")"; done
      echo "maxUnavailable $unavailable maxSurge $surge run $run: $((after - before)) writes:$counts" >&2
      kill "${watchers[@]}" 2>/dev/null || true
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  printf '| maxUnavailable %s, maxSurge %s | %s | %.2f | %.2f |\n' "$unavailable" "$surge" "$nodes" \
    "$(printf '%s\n' "${times[@]}" | median)" "$(printf '%s\n' "${writes[@]}" | median)"
done

#!/usr/bin/env bash
# Heap allocations per request on the real heapd (release build), counted by an LD_PRELOAD malloc
# counter (Benchmarks/malloc-count): heapd serves N, then 2N requests of one kind from redis-benchmark,
# and the difference of the two runs' malloc counts divided by N is what one request costs in steady
# state (start-up, connections and shutdown cancel out). Prints figures against issue 11's targets
# (0 per PING and GETREFCOUNT, <= 3 per NEW x int). It is a benchmark, not a test.
# usage: Benchmarks/allocations.sh [N]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
requests=${1:-100000}
"$root/scripts/install-deps.sh" >&2
(cd "$root" && swift build -c release --product heapd >&2)
dir=$(mktemp -d /tmp/heapd-allocs.XXXXXX)
heapd_pid=""
cleanup() {
  if [ -n "$heapd_pid" ]; then kill "$heapd_pid" 2>/dev/null || true; wait "$heapd_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
cc -O2 -shared -fPIC -o "$dir/malloc_count.so" malloc-count/malloc_count.c

# mallocs in one heapd run that serves `n` requests: count N CLIENTS PIPELINE COMMAND...
count() {
  local n=$1 clients=$2 pipeline=$3
  shift 3
  rm -f "$dir/heapd.sock" "$dir/count"
  LD_PRELOAD="$dir/malloc_count.so" MALLOC_COUNT_FILE="$dir/count" \
    "$root/.build/release/heapd" --socket "$dir/heapd.sock" --threads 2 --log-level warning &
  heapd_pid=$!
  for _ in $(seq 100); do [ -S "$dir/heapd.sock" ] && break; sleep 0.1; done
  redis-cli -s "$dir/heapd.sock" NEW g.x list >/dev/null
  redis-benchmark -s "$dir/heapd.sock" -n "$n" -c "$clients" -P "$pipeline" -q "$@" >/dev/null 2>&1
  kill -TERM "$heapd_pid"
  wait "$heapd_pid" || true
  heapd_pid=""
  cat "$dir/count"
}

echo "== heap allocations per request in heapd (malloc calls; $requests and $((2 * requests)) requests, difference / $requests)"
printf '  %-22s %-10s %12s  %s\n' "command" "clients" "per request" "target"
for shape in "1 64" "16 16"; do
  set -- $shape
  for spec in "PING|0" "GETREFCOUNT g.x|0" "NEW x int 5|3"; do
    command=${spec%|*}
    target=${spec#*|}
    # shellcheck disable=SC2086
    one=$(count "$requests" "$1" "$2" $command)
    # shellcheck disable=SC2086
    two=$(count "$((2 * requests))" "$1" "$2" $command)
    per=$(awk -v a="$one" -v b="$two" -v n="$requests" 'BEGIN { printf "%.2f", (b - a) / n }')
    verdict=$(awk -v p="$per" -v t="$target" 'BEGIN { print (p <= t + 0.005) ? "met" : "missed" }')
    printf '  %-22s %-10s %12s  <= %s (%s)\n' "$command" "$1 x $2" "$per" "$target" "$verdict"
  done
done

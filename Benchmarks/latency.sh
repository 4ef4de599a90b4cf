#!/usr/bin/env bash
# Another client's PING latency while one client runs each long command or view on 1M–10M objects
# (issue 10, item 3: max <= 10 ms). Starts a release heapd on a temporary socket, builds the shapes,
# and runs Benchmarks/latency.py against it; heapd is stopped at the end whatever happens.
# usage: Benchmarks/latency.sh [latency.py options: --chain N --items N --generator N --only NAME,...]
#        HEAPD=path/to/heapd Benchmarks/latency.sh   to measure another build
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
heapd=${HEAPD:-}
if [ -z "$heapd" ]; then
  (cd "$root" && swift build -c release --product heapd >&2)
  heapd="$root/.build/release/heapd"
fi
dir=$(mktemp -d /tmp/hl.XXXXXX)
heapd_pid=""
cleanup() {
  if [ -n "$heapd_pid" ]; then
    kill "$heapd_pid" 2>/dev/null || true
    wait "$heapd_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
# No time limit: the commands measured here run for seconds on purpose.
"$heapd" --socket "$dir/heapd.sock" --threads 2 --log-level warning --command-time-limit 0 \
  --max-objects 16000000 &
heapd_pid=$!
for _ in $(seq 100); do [ -S "$dir/heapd.sock" ] && break; sleep 0.1; done
python3 "$root/Benchmarks/latency.py" "$dir/heapd.sock" "$@"

#!/usr/bin/env bash
# heapd's benchmark: in-process figures (refcount pairs, allocation, bytes per object), then the
# socket throughput of PING and GETREFCOUNT under redis-benchmark against heapd and against
# redis-server on a Unix socket, in one run. Prints figures and ratios; it is not a test.
# usage: Benchmarks/run.sh [REQUESTS]   (default 200000 per socket measurement)
#        Benchmarks/run.sh gc [N ...]  the collector against CPython's on the shared graph shapes
#        Benchmarks/run.sh trace       what tracemalloc costs an allocation: off, 1 frame, 25 frames
#        Benchmarks/run.sh image [N]   SAVE/restore MB/s of N objects (default 1M) beside dd's fdatasync speed
# The robust request-path measures (CPU per request of heapd, redis-server and redis-benchmark; heapd's
# instructions per request under callgrind) are Benchmarks/cpu-per-request.sh [--callgrind].
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
requests=${1:-200000}
"$root/scripts/install-deps.sh"
swift build -c release --disable-build-manifest-caching >&2
if [ "${1:-}" = "image" ]; then
  # Heap images against the disk: dd's sequential write speed (fdatasync at the end) on the same
  # directory, then HeapBench's SAVE and restore of N objects.
  count=${2:-1000000}
  dir=$(mktemp -d "${TMPDIR:-/tmp}/hb-image.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  echo "dd (256 MiB, conv=fdatasync) on $dir:"
  dd if=/dev/zero of="$dir/dd.out" bs=1M count=256 conv=fdatasync 2>&1 | tail -1
  rm -f "$dir/dd.out"
  .build/release/HeapBench image "$count" "$dir"
  exit 0
fi
if [ "${1:-}" = "trace" ]; then
  .build/release/HeapBench trace
  exit 0
fi
if [ "${1:-}" = "gc" ]; then
  # The collector against CPython's, on the shapes of ../shared/bench/cpython_gc.py, in one run.
  shift
  sizes=("${@:-100000 1000000}")
  anchor=$(mktemp /tmp/hb-anchor.XXXXXX)
  ours=$(mktemp /tmp/hb-ours.XXXXXX)
  trap 'rm -f "$anchor" "$ours"' EXIT
  python3 "$root/../shared/bench/cpython_gc.py" ${sizes[@]} > "$anchor"
  .build/release/HeapBench gc ${sizes[@]} | tee "$ours"
  python3 - "$anchor" "$ours" <<'PY'
import json, re, sys
anchor = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ours = {}
for line in open(sys.argv[2]):
    line = line.strip()
    if line.startswith("{"):
        d = json.loads(line); ours.setdefault((d["shape"], d["n"]), []).append(d)
print("== full collection time, CPython 3.11 gc.collect() vs heapd (median of 5)")
print(f"  {'shape':8} {'n':>8} {'CPython ms':>11} {'heapd ms':>9} {'threads':>7} {'ns/obj':>7} {'speed-up':>9}  goal")
for a in anchor:
    key = (a.get("shape"), a.get("n"))
    if key in ours and "collect_s" in a:
        for d in ours[key]:
            c, h = a["collect_s"], d["collect_s"]
            goal = ">= 2x" if key[0] == "chain" else ">= 5x"
            print(f"  {key[0]:8} {key[1]:>8} {c*1e3:>11.2f} {h*1e3:>9.2f} {d.get('threads', 1):>7} {d.get('ns_per_object', 0):>7} {c/h:>8.2f}x  {goal}  {d.get('variant', '')}")
    if a.get("shape") == "young":
        print(f"  CPython gen-0 (700 young, 1M old): median {a['gen0_collect_s']*1e6:.1f} us, max {a['gen0_collect_max_s']*1e6:.1f} us")
    if a.get("shape") == "bytes_per_node":
        print(f"  CPython bytes per tracked list node (2 items, GC head included): {a['bytes']:.1f}")
PY
  exit 0
fi
(cd "$root" && swift build -c release --product heapd >&2)
.build/release/HeapBench

dir=$(mktemp -d /tmp/hb.XXXXXX)
heapd_pid=""
redis_pid=""
loops_pid=""
cleanup() {
  [ -n "$heapd_pid" ] && kill "$heapd_pid" 2>/dev/null && wait "$heapd_pid" 2>/dev/null
  [ -n "$loops_pid" ] && kill "$loops_pid" 2>/dev/null && wait "$loops_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
"$root/.build/release/heapd" --socket "$dir/heapd.sock" --threads 2 --log-level warning &
heapd_pid=$!
redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no >/dev/null 2>&1 &
redis_pid=$!
for _ in $(seq 100); do [ -S "$dir/heapd.sock" ] && [ -S "$dir/redis.sock" ] && break; sleep 0.1; done
redis-cli -s "$dir/heapd.sock" NEW g.x list >/dev/null

rps() { # socket clients pipeline command...
  local sock=$1 clients=$2 pipe=$3; shift 3
  redis-benchmark -s "$sock" -n "$requests" -c "$clients" -P "$pipe" --csv "$@" 2>/dev/null |
    awk -F'","' 'NR==2 {printf "%d\n", $2}'
}
echo "== over the socket: redis-benchmark, $requests requests (median of 3 runs each)"
printf '  %-16s %-14s %14s %14s %8s\n' "clients x pipe" "command" "redis-server" "heapd" "ratio"
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
for shape in "1 1" "1 64" "16 16"; do
  set -- $shape
  for command in PING GETREFCOUNT; do
    if [ "$command" = PING ]; then args=(PING); else args=(GETREFCOUNT g.x); fi
    r=$(median3 "$(rps "$dir/redis.sock" "$1" "$2" PING)" "$(rps "$dir/redis.sock" "$1" "$2" PING)" "$(rps "$dir/redis.sock" "$1" "$2" PING)")
    h=$(median3 "$(rps "$dir/heapd.sock" "$1" "$2" "${args[@]}")" "$(rps "$dir/heapd.sock" "$1" "$2" "${args[@]}")" "$(rps "$dir/heapd.sock" "$1" "$2" "${args[@]}")")
    printf '  %-16s %-14s %14s %14s %8s\n' "$1 x $2" "$command" "$r" "$h" \
      "$(awk -v h="$h" -v r="$r" 'BEGIN{ if (r>0) printf "%.2f", h/r; else print "-" }')"
  done
done
echo "  (ratio = heapd / redis-server PING in the same run; target >= 1.00)"

# Writes to the shared namespace from 16 clients (issue 11): NEW and SET of globals (random names among
# 10,000, pipelined by 16; each rebinding unbinds and releases what the name held, DEL's work), with
# heapd on 1 and on 2 event loops, and the scaling between them. (DEL alone cannot be measured so:
# redis-benchmark stops at the first error reply, and deleting a random name that is not bound is one.)
echo "== globals from 16 clients x 16 pipelined, ops/s by event loops (median of 3)"
printf '  %-28s %12s %12s %8s\n' "command" "1 loop" "2 loops" "2 / 1"
declare -A rate
for loops in 1 2; do
  "$root/.build/release/heapd" --socket "$dir/g$loops.sock" --threads "$loops" --log-level warning &
  loops_pid=$!
  for _ in $(seq 100); do [ -S "$dir/g$loops.sock" ] && break; sleep 0.1; done
  redis-cli -s "$dir/g$loops.sock" NEW g.x list >/dev/null
  for command in "NEW g.k__rand_int__ int 5" "SET g.s__rand_int__ g.x"; do
    read -ra words <<<"$command"
    g() { redis-benchmark -s "$dir/g$loops.sock" -n "$requests" -c 16 -P 16 -r 10000 --csv "${words[@]}" 2>/dev/null |
      awk -F'","' 'NR==2 {printf "%d\n", $2}'; }
    rate["$loops $command"]=$(median3 "$(g)" "$(g)" "$(g)")
  done
  kill "$loops_pid" && wait "$loops_pid" 2>/dev/null
  loops_pid=""
done
for command in "NEW g.k__rand_int__ int 5" "SET g.s__rand_int__ g.x"; do
  one=${rate["1 $command"]}; two=${rate["2 $command"]}
  printf '  %-28s %12s %12s %8s\n' "$command" "$one" "$two" \
    "$(awk -v a="$two" -v b="$one" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "-" }')"
done

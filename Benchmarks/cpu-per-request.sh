#!/usr/bin/env bash
# The robust request-path measures (issue 11), where throughput on a shared 2-core machine is not:
#
# - CPU per request: the utime+stime that heapd, redis-server and redis-benchmark each spend on a run of
#   N requests (heapd's and redis-server's from /proc/PID/stat around the run, redis-benchmark's from its
#   own rusage via /usr/bin/time), heapd and redis-server runs interleaved, ROUNDS rounds, medians. The
#   client's figure says what the machine can show at all: one redis-benchmark process sends at most
#   1 / (its CPU per request) requests a second, and on 2 cores a server that needs S µs per request
#   next to a client that needs C µs cannot be measured past 2 / (S + C).
# - --callgrind: heapd's user-space instructions per request under valgrind's callgrind, by difference,
#   (Ir(3k) − Ir(k)) / 2k over two runs that serve k and 3k requests (start-up, connections and shutdown
#   cancel out); deterministic to about 1%, for A/B comparisons. --keep DIR keeps the callgrind files
#   (for callgrind_annotate --inclusive=yes).
#
# usage: Benchmarks/cpu-per-request.sh [N] [ROUNDS]          (default 2000000 requests, 3 rounds)
#        Benchmarks/cpu-per-request.sh --callgrind [--keep DIR] [K]   (default K = 10000)
# HEAPD=path: that heapd binary instead of a fresh release build (A/B against another commit's).
# Shapes: 1 client × 64 pipelined and 16 × 16; commands PING and GETREFCOUNT g.x (a global bound to a
# list first, as Benchmarks/run.sh does) against heapd, PING against redis-server.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$(pwd)

mode=cpu
keep=""
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --callgrind) mode=callgrind; shift ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done

# HEAPD=path measures that binary instead (an A/B comparison: a build of the commit before).
if [ -n "${HEAPD:-}" ]; then
  heapd_bin=$(realpath "$HEAPD")
else
  swift build -c release --product heapd >&2
  heapd_bin="$root/.build/release/heapd"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/heapd-cpu.XXXXXX")
heapd_pid=""
redis_pid=""
stop() { # pid: TERM, then wait for it
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  if [ -n "$heapd_pid" ]; then stop "$heapd_pid"; fi
  if [ -n "$redis_pid" ]; then stop "$redis_pid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

wait_socket() { # path seconds pid: until the server answers PING there; fails at once if it died
  local tries=$(($2 * 10))
  for _ in $(seq "$tries"); do
    # The socket file appears at bind(), before listen(): only a reply says it accepts.
    [ -S "$1" ] && [ "$(redis-cli -s "$1" PING 2>/dev/null)" = PONG ] && return 0
    if ! kill -0 "$3" 2>/dev/null; then
      echo "cpu-per-request: the server for $1 exited" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "cpu-per-request: no socket at $1 after $2 s" >&2
  return 1
}

shapes=("1 64" "16 16")
commands=("PING" "GETREFCOUNT g.x")

if [ "$mode" = callgrind ]; then
  k=${positional[0]:-10000}
  # valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes ("Possibly corrupted debuginfo
  # file"): a copy without debug information, with its symbol table, profiles by function.
  objcopy --strip-debug "$heapd_bin" "$dir/heapd"
  # Ir of one heapd run under callgrind serving `n` requests, into `ir_total` (not printed for a command
  # substitution: that subshell would start heapd where the cleanup trap cannot see its pid).
  # ir N CLIENTS PIPELINE NAME COMMAND...
  ir() {
    local n=$1 clients=$2 pipe=$3 name=$4
    shift 4
    local out="$dir/callgrind.$name.$n"
    rm -f "$dir/heapd.sock"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$dir/heapd" --socket "$dir/heapd.sock" --threads 2 \
      --log-level warning >/dev/null 2>"$dir/valgrind.log" &
    heapd_pid=$!
    if ! wait_socket "$dir/heapd.sock" 120 "$heapd_pid"; then
      tail -5 "$dir/valgrind.log" >&2
      return 1
    fi
    redis-cli -s "$dir/heapd.sock" NEW g.x list >/dev/null
    redis-benchmark -s "$dir/heapd.sock" -n "$n" -c "$clients" -P "$pipe" -q "$@" >/dev/null 2>&1
    stop "$heapd_pid"
    heapd_pid=""
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$out" "$keep/"; fi
    # The file's totals line ("totals:" or "summary:") holds the whole run's Ir.
    ir_total=$(awk '/^(totals|summary):/ { print $2; exit }' "$out")
    [ -n "$ir_total" ] || { echo "cpu-per-request: no totals in $out" >&2; return 1; }
  }
  echo "== heapd instructions per request (callgrind, user space, (Ir($((3 * k))) - Ir($k)) / $((2 * k)))"
  printf '  %-18s %-10s %14s\n' "command" "clients" "Ir / request"
  for shape in "${shapes[@]}"; do
    read -r clients pipe <<<"$shape"
    for command in "${commands[@]}"; do
      read -ra words <<<"$command"
      name="${words[0]}-$clients-$pipe"
      ir "$k" "$clients" "$pipe" "$name" "${words[@]}"
      one=$ir_total
      ir "$((3 * k))" "$clients" "$pipe" "$name" "${words[@]}"
      three=$ir_total
      printf '  %-18s %-10s %14s\n' "$command" "$clients x $pipe" \
        "$(awk -v a="$one" -v b="$three" -v n="$((2 * k))" 'BEGIN { printf "%.0f", (b - a) / n }')"
    done
  done
  exit 0
fi

requests=${positional[0]:-2000000}
rounds=${positional[1]:-3}
ticks=$(getconf CLK_TCK)

"$heapd_bin" --socket "$dir/heapd.sock" --threads 2 --log-level warning &
heapd_pid=$!
redis-server --port 0 --unixsocket "$dir/redis.sock" --save '' --appendonly no >/dev/null 2>&1 &
redis_pid=$!
wait_socket "$dir/heapd.sock" 10 "$heapd_pid"
wait_socket "$dir/redis.sock" 10 "$redis_pid"
redis-cli -s "$dir/heapd.sock" NEW g.x list >/dev/null

# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, all its threads;
# counted after the command name, which may hold spaces).
ticks_of() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# One run: prints "server-µs client-µs requests-per-second" per request of `requests`.
# run SERVER-PID SOCKET CLIENTS PIPELINE COMMAND...
run() {
  local pid=$1 sock=$2 clients=$3 pipe=$4
  shift 4
  local before after rps
  before=$(ticks_of "$pid")
  rps=$(/usr/bin/time -f '%U %S' -o "$dir/client-time" \
    redis-benchmark -s "$sock" -n "$requests" -c "$clients" -P "$pipe" --csv "$@" 2>/dev/null |
    awk -F'","' 'NR == 2 { printf "%d", $2 }')
  after=$(ticks_of "$pid")
  awk -v b="$before" -v a="$after" -v t="$ticks" -v n="$requests" -v r="$rps" -v c="$(cat "$dir/client-time")" \
    'BEGIN { split(c, u, " "); printf "%.3f %.3f %d\n", (a - b) / t / n * 1e6, (u[1] + u[2]) / n * 1e6, r }'
}

declare -A samples
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  for shape in "${shapes[@]}"; do
    read -r clients pipe <<<"$shape"
    for command in "${commands[@]}"; do
      read -ra words <<<"$command"
      samples["heapd $shape $command"]+="$(run "$heapd_pid" "$dir/heapd.sock" "$clients" "$pipe" "${words[@]}")"$'\n'
      # redis-server's PING right after each heapd run, so that both see the same load.
      samples["redis $shape $command"]+="$(run "$redis_pid" "$dir/redis.sock" "$clients" "$pipe" PING)"$'\n'
    done
  done
done

# The median of column `column` (1 server, 2 client, 3 rate) of a sample list.
median() { printf '%s' "$1" | awk -v c="$2" 'NF { print $c }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== CPU per request, µs (utime+stime; $requests requests per run, median of $rounds interleaved runs)"
printf '  %-16s %-10s %8s %8s %7s %10s %10s %10s %10s\n' "heapd command" "clients" "heapd" "redis" \
  "r/h" "client(h)" "client(r)" "rps(h)" "rps(r)"
for shape in "${shapes[@]}"; do
  read -r clients pipe <<<"$shape"
  for command in "${commands[@]}"; do
    h=${samples["heapd $shape $command"]}
    r=${samples["redis $shape $command"]}
    hs=$(median "$h" 1)
    rs=$(median "$r" 1)
    printf '  %-16s %-10s %8s %8s %7s %10s %10s %10s %10s\n' "$command" "$clients x $pipe" "$hs" "$rs" \
      "$(awk -v h="$hs" -v r="$rs" 'BEGIN { printf "%.2f", (h > 0) ? r / h : 0 }')" \
      "$(median "$h" 2)" "$(median "$r" 2)" "$(median "$h" 3)" "$(median "$r" 3)"
  done
done
echo "  (heapd: heapd's CPU per request; redis: redis-server's for PING; r/h: redis / heapd, >= 1 means"
echo "   heapd spends less; client(h), client(r): redis-benchmark's own CPU per request against each;"
echo "   rps: redis-benchmark's reported rate, noisy on a shared machine)"

echo "== can 2 cores show heapd at 1.5x redis-server? (from the medians above)"
printf '  %-16s %-10s %12s %12s %14s %14s\n' "heapd command" "clients" "redis rps" "1.5x that" "client max" \
  "2-core max"
for shape in "${shapes[@]}"; do
  read -r clients pipe <<<"$shape"
  for command in "${commands[@]}"; do
    h=${samples["heapd $shape $command"]}
    r=${samples["redis $shape $command"]}
    # One redis-benchmark process is one thread: it cannot send faster than 1 / its CPU per request.
    # Client and heapd share 2 cores: heapd cannot be measured past 2 / (heapd's + the client's CPU).
    awk -v rr="$(median "$r" 3)" -v c="$(median "$h" 2)" -v s="$(median "$h" 1)" -v cmd="$command" \
      -v shape="$clients x $pipe" 'BEGIN {
        printf "  %-16s %-10s %12d %12d %14d %14d\n", cmd, shape, rr, 1.5 * rr, (c > 0) ? 1e6 / c : 0,
          (c + s > 0) ? 2e6 / (c + s) : 0 }'
  done
done
echo "  (client max = 1 / client CPU per request: the most one redis-benchmark sends a second;"
echo "   2-core max = 2 / (heapd + client CPU per request): the most the machine can serve and send)"

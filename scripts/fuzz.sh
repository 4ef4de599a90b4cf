#!/usr/bin/env bash
# Builds a libFuzzer target and runs it over a copy of its committed corpus for a while.
#
#   scripts/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER-OPTIONS...]   one target (default 60 s)
#   scripts/fuzz.sh ci                                            every target for 60 s (what CI runs)
#   scripts/fuzz.sh build [TARGET]                                only build
#
# TARGET is FuzzRequestDecoder or FuzzCommands (Fuzz/README.md). Crashes, timeouts and out-of-memory
# inputs are written to $FUZZ_CRASH_DIR (default .build-fuzz/crashes/TARGET) and the script exits 1;
# it exits 0 when the time ran out without one. The working corpus lives in a temporary folder that is
# removed at exit, unless FUZZ_KEEP_CORPUS=DIR names a folder to keep it in (new inputs are added
# there; use it for long runs). Runs at nice 19.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(FuzzRequestDecoder FuzzCommands)
scratch=.build-fuzz

build() {
  # Release (-O, 3-4x the executions of a debug build; preconditions and overflow checks stay), with
  # testing enabled for FuzzCommands' @testable import of HeapServer (HEAPD_FUZZ compiles its code in).
  # SwiftPM passes --sanitize=fuzzer and --sanitize=address to the compiler as two -sanitize= flags in
  # no fixed order, and the frontend keeps only the last: half the builds lose either the coverage
  # (libFuzzer then finds nothing) or ASan. -Xswiftc -sanitize=fuzzer,address, last, keeps both.
  nice -n 19 swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -enable-testing -Xswiftc -DHEAPD_FUZZ --product "$1" --scratch-path "$scratch" >&2
}

run() {
  local target=$1 seconds=$2
  shift 2
  local corpus=Fuzz/Corpus/$target
  [ -d "$corpus" ] || { echo "fuzz.sh: no corpus folder $corpus" >&2; exit 2; }
  build "$target"
  local binary=$scratch/release/$target
  local crashes=${FUZZ_CRASH_DIR:-$scratch/crashes/$target}
  mkdir -p "$crashes"
  work=$(mktemp -d /tmp/heapd-fuzz.XXXXXX)
  fuzzer="" tailer=""
  # Stop the fuzzer and remove the working copy however the script ends.
  trap 'for pid in $fuzzer $tailer; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  trap 'exit 130' INT TERM
  local live=$work/corpus
  if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then live=$FUZZ_KEEP_CORPUS; fi
  mkdir -p "$live"
  cp -n "$corpus"/* "$live"/ 2>/dev/null || true
  local seeds=Fuzz/Seeds/$target
  if [ -d "$seeds" ]; then
    # A FuzzCommands input names commands by their place in CommandTable.all: encode the readable seed
    # scripts again, so a command added to the table never shifts the seeds onto other commands.
    HEAPD_FUZZ_ENCODE=$live "$binary" "$seeds"/*.txt
  fi
  local options=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -print_final_stats=1
    -artifact_prefix="$crashes/")
  if [ -f "Fuzz/$target.dict" ]; then options+=(-dict="Fuzz/$target.dict"); fi
  echo "fuzz.sh: $target for ${seconds}s over $(ls "$live" | wc -l) inputs; crashes go to $crashes" >&2
  : >"$work/log"
  # Swift's backtracer would take over the crash signal and make ASan report a false use-after-free.
  HEAPD_FUZZ_SNAPSHOT_DIR=$work/snapshots SWIFT_BACKTRACE=enable=no nice -n 19 "$binary" "${options[@]}" "$@" "$live" >"$work/log" 2>&1 &
  fuzzer=$!
  tail -n +1 -f --pid="$fuzzer" "$work/log" >&2 &
  tailer=$!
  local status=0
  wait "$fuzzer" || status=$?
  fuzzer=""
  wait "$tailer" 2>/dev/null || true
  tailer=""
  local failure="ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|invariant broken"
  if [ "$status" -ne 0 ] || grep -qE "$failure" "$work/log"; then
    echo "fuzz.sh: $target FAILED (exit $status); inputs in $crashes:" >&2
    ls -1t "$crashes" | head -5 >&2
    return 1
  fi
  echo "fuzz.sh: $target passed ${seconds}s" >&2
}

case "${1:-}" in
  ci)
    failed=0
    for target in "${targets[@]}"; do
      ( run "$target" 60 ) || failed=1
    done
    exit $failed
    ;;
  build)
    if [ -n "${2:-}" ]; then build "$2"; else for target in "${targets[@]}"; do build "$target"; done; fi
    ;;
  FuzzRequestDecoder | FuzzCommands)
    target=$1
    shift
    seconds=60
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then
      seconds=$1
      shift
    fi
    if [ "${1:-}" = "--" ]; then shift; fi
    run "$target" "$seconds" "$@"
    ;;
  *)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# The concurrent random-mix soak (tests/soak/README.md): builds heapd, then runs N clients against it
# for a while and checks that nothing crashed, no reference was lost and the heap returned to its
# baseline. Ends with "soak: OK" (exit 0) or "soak: FAILED <reason>" (exit 1).
#
#   scripts/soak.sh                          # 60 s, 48 clients, debug build
#   scripts/soak.sh --tsan                   # the same against the thread-sanitizer build
#   scripts/soak.sh --duration 1800          # the long form, run by hand
#   scripts/soak.sh --duration 30 -- --seed 7 --only private,weakref_storm   # after --: soak.py's flags
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60
clients=48
tsan=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --tsan) tsan=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# heapctl (a plain debug build) reads back every image the soak's SAVE and BGSAVE left.
swift build --product heapctl >&2
heapctl="$(swift build --show-bin-path)/heapctl"
if [ "$tsan" = 1 ]; then
  swift build --sanitize=thread --scratch-path .build-tsan --product heapd >&2
  heapd="$(swift build --sanitize=thread --scratch-path .build-tsan --show-bin-path)/heapd"
  # A data race ends heapd at once with exit code 66; the soak reports it with TSan's report. Replies
  # are several times slower under TSan, hence the longer timeout.
  export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
  # Swift's backtracer cannot work under TSan (it fails to clone and TSan aborts): the runtime's
  # "Fatal error" line and TSan's own report say what happened.
  export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
  timeout_flag=(--timeout 300)
else
  swift build --product heapd >&2
  heapd="$(swift build --show-bin-path)/heapd"
  timeout_flag=()
fi

exec python3 tests/soak/soak.py --heapd "$heapd" --heapctl "$heapctl" --duration "$duration" --clients "$clients" \
  "${timeout_flag[@]}" "${extra[@]}"

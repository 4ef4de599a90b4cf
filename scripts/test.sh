#!/usr/bin/env bash
# The whole test suite: unit and integration tests against the real heapd binary, the differential
# test against CPython's gc, the soak, then the concurrency tests again under the thread sanitizer (their
# own build folder, .build-tsan), the whole suite under the address sanitizer (.build-asan) and the
# fuzzers. Ends with one line: "heapd tests: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
log=$(mktemp /tmp/heapd-tests.XXXXXX)
trap 'rm -f "$log"' EXIT

swift build --build-tests
swift test --skip-build 2>&1 | tee -a "$log"

# The Python client (clients/python) against the debug heapd just built: each test module starts its own
# heapd on a temporary socket (scripts/install-deps.sh made the venv). Ends with pytest's "N passed" line.
.venv-python/bin/python -m pytest clients/python/tests -p no:cacheprovider 2>&1 | tee -a "$log"

# Real systemd as PID 1 in a confined systemd-nspawn container (prints SKIP with its reason where the
# machine cannot run it).
tests/systemd/nspawn-e2e.sh 2>&1 | tee -a "$log"

if [ -f tests/differential/run.py ]; then
  python3 tests/differential/run.py --programs "${HEAPD_DIFFERENTIAL_PROGRAMS:-300}" 2>&1 | tee -a "$log"
fi

# The concurrent soak (tests/soak/README.md): 48 clients for 60 s against the debug heapd, every command
# kind on shared objects with DEBUG VERIFY from the side. It ends with "soak: OK" or "soak: FAILED
# <reason>" and fails this script on failure (pipefail).
scripts/soak.sh --duration 60 --clients 48 2>&1 | tee -a "$log"
# The soak's heaps stay small; a full collection of 32k objects or more frees on two threads. One client
# builds and collects 40k-object cycles while others mutate and DEBUG VERIFY (tests/stress/big_garbage.py).
python3 tests/stress/big_garbage.py --heapd "$(swift build --show-bin-path)/heapd" --seconds 20 2>&1 | tee -a "$log"

# The thread sanitizer run: the concurrency tests, and heapd itself built with TSan (the tests start the
# heapd next to the test bundle, so races in the server make heapd exit and the test fail).
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
  --filter 'ConcurrencyStressTests|MutatorGateTests|HelperThreadTests|ConcurrencyIntegrationTests|SessionIntegrationTests|CollectorIntegrationTests|CollectorTests|CollectorFidelityIntegrationTests|CPythonFidelityTests|RefcountTests.testConcurrent|HeapSystemdTests|AllocationTracerTests|StripedTracesTests|TracemallocIntegrationTests|GeneratorTests.testConcurrent|DiagnosticIntegrationTests|LongCommandIntegrationTests|ClientLimitsIntegrationTests|SafepointTests|SteppedViewTests|AccessIntegrationTests.testAReload|AccessIntegrationTests.testClientList|StoppingCommandIntegrationTests|BackgroundCaptureTests|ImageIntegrationTests' \
  2>&1 | tee -a "$log"
# The same soak against the TSan heapd (.build-tsan): a race ends heapd with exit code 66.
scripts/soak.sh --tsan --duration 60 --clients 48 2>&1 | tee -a "$log"
python3 tests/stress/big_garbage.py --seconds 20 \
  --heapd "$(swift build --sanitize=thread --scratch-path .build-tsan --show-bin-path)/heapd" 2>&1 | tee -a "$log"

# The whole suite again under the address sanitizer (its own build folder, .build-asan): the tests and
# the heapd and heapctl they start, built with ASan; LeakSanitizer checks every process at exit (known
# runtime leaks: scripts/lsan-suppressions.txt). Swift's backtracer would take the crash signal from ASan.
swift build --build-tests --sanitize=address --scratch-path .build-asan
SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt ${LSAN_OPTIONS:-}" \
  swift test --skip-build --sanitize=address --scratch-path .build-asan 2>&1 | tee -a "$log"

# libFuzzer: each target for 60 s over its committed corpus (Fuzz/README.md), the regression seeds of the
# crashes it found included; crash inputs stay in .build-fuzz/crashes/.
scripts/fuzz.sh ci 2>&1 | tee -a "$log"

# One closing line over every runner above (each already failed the script if it failed).
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
xctest = sum(int(m.group(1)) for m in re.finditer(r"Test Suite 'All tests' (?:passed|failed) at .*\n\s+Executed (\d+) tests", text))
xfail = sum(int(m.group(2)) for m in re.finditer(r"Test Suite 'All tests' (?:passed|failed) at .*\n\s+Executed (\d+) tests?, with (\d+) failures", text))
testing = sum(int(m.group(1)) for m in re.finditer(r"Test run with (\d+) tests? in \d+ suites? passed", text))
diff_pass = sum(int(m.group(1)) for m in re.finditer(r"^differential: (\d+) passed", text, re.M))
diff_fail = sum(int(m.group(1)) for m in re.finditer(r"^differential: \d+ passed, (\d+) failed", text, re.M))
abuse_pass = sum(int(m.group(1)) for m in re.finditer(r"^abuse: (\d+) passed", text, re.M))
abuse_fail = sum(int(m.group(1)) for m in re.finditer(r"^abuse: \d+ passed, (\d+) failed", text, re.M))
soak_pass = len(re.findall(r"^soak: OK$", text, re.M)) + len(re.findall(r"^big-garbage stress: OK$", text, re.M))
# pytest's closing line: "==== 56 passed in 1.60s ====", "==== 1 failed, 55 passed, 2 skipped in 2.01s ====".
pytest_pass = pytest_fail = 0
for m in re.finditer(r"^=+ (.*?) in [\d.]+s(?: \([^)]*\))? =+$", text, re.M):
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|errors?)\b", m.group(1))}
    pytest_pass += counts.get("passed", 0)
    pytest_fail += counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
passed = xctest - xfail + testing + diff_pass + abuse_pass + soak_pass + pytest_pass
print(f"heapd tests: {passed} passed, {xfail + diff_fail + abuse_fail + pytest_fail} failed")
PY

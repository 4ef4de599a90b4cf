#!/usr/bin/env bash
# The whole test suite: unit and integration tests against the real heapd binary, then the
# concurrency tests again under the thread sanitizer (their own build folder, .build-tsan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
# The thread sanitizer run: the concurrency tests, and heapd itself built with TSan (the tests start the
# heapd next to the test bundle, so races in the server make heapd exit and the test fail).
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
  --filter 'ConcurrencyIntegrationTests|SessionIntegrationTests|CollectorIntegrationTests|CollectorTests|RefcountTests.testConcurrent'

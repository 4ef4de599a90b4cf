#!/usr/bin/env bash
# Static checks of the shipped systemd files, as CI runs them:
#   - `systemd-analyze verify` on heapd.socket and heapd.service must print nothing (it exits 0 even
#     on unknown keys, so the output is what counts);
#   - `systemd-analyze security --offline=yes` must rate heapd.service at most 1.0 ("SAFE");
#   - journalctl must compile systemd/heapd.catalog and list every MESSAGE_ID in it.
# verify checks that ExecStart='s binary exists, so the units are checked inside a scratch root
# holding the unit files unchanged, the host's stock units, /bin/kill and a heapd.
#   - the same verify on heapd-metrics.service (heapctl's exporter), whose rating is printed, not judged:
#     it has a TCP port on the loopback address by design.
# usage: tests/systemd/verify-units.sh [path/to/heapd]   (default: .build/debug/heapd, else /bin/true)
set -euo pipefail
cd "$(dirname "$0")/../.."
HEAPD=${1:-.build/debug/heapd}
[ -x "$HEAPD" ] || HEAPD=/bin/true
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed (Debian package systemd)"; exit 0; }
ROOT=$(mktemp -d /tmp/heapd-verify.XXXXXX)
# systemd-analyze verify leaves a marker in the host's /run/systemd even with --root: remove it if
# this run created it.
MARKER=/run/systemd/systemd-units-load
[ -e "$MARKER" ] && had_marker=1 || had_marker=0
trap 'rm -rf "$ROOT"; [ $had_marker = 1 ] || rm -f "$MARKER"' EXIT
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system" "$ROOT/usr/lib/systemd/catalog" "$ROOT/bin" \
  "$ROOT/var/lib/systemd/catalog"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
cp /bin/kill "$ROOT/bin/kill"
cp "$HEAPD" "$ROOT/usr/local/bin/heapd"
HEAPCTL="$(dirname "$HEAPD")/heapctl"
[ -x "$HEAPCTL" ] || HEAPCTL=/bin/true
cp "$HEAPCTL" "$ROOT/usr/local/bin/heapctl"
cp systemd/heapd.socket systemd/heapd.service systemd/heapd-metrics.service "$ROOT/etc/systemd/system/"
cp systemd/heapd.catalog "$ROOT/usr/lib/systemd/catalog/heapd.catalog"
fail=0

out=$(systemd-analyze verify --man=no --root="$ROOT" heapd.socket heapd.service 2>&1) || fail=1
if [ -n "$out" ]; then echo "FAIL systemd-analyze verify printed:"; echo "$out"; fail=1; else echo "ok   systemd-analyze verify: no output"; fi

score=$(systemd-analyze security --offline=yes --root="$ROOT" heapd.service 2>&1 | sed -n 's/.*Overall exposure level for heapd.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.0) }'; then
  echo "ok   systemd-analyze security: exposure $score"
else
  echo "FAIL systemd-analyze security: exposure '${score}' (want <= 1.0)"; fail=1
fi

out=$(systemd-analyze verify --man=no --root="$ROOT" heapd-metrics.service 2>&1) || fail=1
if [ -n "$out" ]; then echo "FAIL systemd-analyze verify heapd-metrics.service printed:"; echo "$out"; fail=1; else echo "ok   systemd-analyze verify heapd-metrics.service: no output"; fi
metrics_score=$(systemd-analyze security --offline=yes --root="$ROOT" heapd-metrics.service 2>&1 | sed -n 's/.*Overall exposure level for heapd-metrics.service: \([0-9.]*\).*/\1/p')
echo "info systemd-analyze security heapd-metrics.service: exposure ${metrics_score:-unknown}"

if journalctl --root="$ROOT" --update-catalog 2>&1; then
  listed=$(journalctl --root="$ROOT" --list-catalog | awk '{print $1}' | sort)
  shipped=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' systemd/heapd.catalog | sort)
  if [ -n "$shipped" ] && [ "$listed" = "$shipped" ]; then
    echo "ok   journalctl --update-catalog: $(echo "$shipped" | wc -l) MESSAGE_IDs"
  else
    echo "FAIL catalog: journalctl lists '$listed', the file has '$shipped'"; fail=1
  fi
else
  echo "FAIL journalctl --update-catalog rejected systemd/heapd.catalog"; fail=1
fi
exit $fail

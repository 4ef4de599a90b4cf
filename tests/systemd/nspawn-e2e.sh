#!/usr/bin/env bash
# End-to-end test of heapd under a REAL systemd (PID 1 of a systemd-nspawn container), with the
# shipped units, catalog, sysusers and configuration files installed unchanged:
#   socket activation (a client's connect starts heapd.service), Type=notify + STATUS= in
#   `systemctl status`, `systemctl reload` through RELOADING=1 (seen by PID 1) with the new log level
#   in force, structured journal entries under `journalctl -u heapd` and the catalog, a stalled
#   collector (GC DEBUG_STALL) that stops the watchdog pings so systemd kills and restarts heapd,
#   and a clean `systemctl stop`.
#
# usage: tests/systemd/nspawn-e2e.sh [path/to/heapd]
#   The binary must be built with --static-swift-stdlib (the container has no Swift runtime); without
#   an argument the script builds one: swift build -c release --static-swift-stdlib --product heapd
#   --scratch-path .build-static.
# Prints "SKIP: <reason>" and exits 0 where this machine cannot run it (not root, no systemd-nspawn or
# debootstrap, no cgroup subtree to confine the container to, no Debian mirror). Exits 1 on a failure.
#
# Safety: systemd-nspawn and the container's systemd run only inside a cgroup subtree created under
# this script's own cgroup (see /work/shared/reference/systemd.md), removed afterwards. The root
# file system (cached in $HEAPD_CT_ROOT, default /var/tmp/heapd-ct) is booted with
# --volatile=overlay, so nothing a run does persists in it; heapd's files are bind-mounted in.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
T0=$(date +%s)
skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn)"
for tool in systemd-nspawn debootstrap nsenter python3; do
  command -v "$tool" >/dev/null || skip "$tool not installed (Debian packages systemd-container, debootstrap, util-linux)"
done
ROOT=${HEAPD_CT_ROOT:-/var/tmp/heapd-ct}

# --- the binary ------------------------------------------------------------------------------------
if [ $# -ge 1 ]; then
  BIN=$(readlink -f "$1")
else
  swift build -c release --static-swift-stdlib --product heapd --scratch-path .build-static >&2
  BIN=$REPO/.build-static/release/heapd
fi
[ -x "$BIN" ] || { echo "FAIL: no heapd binary at $BIN"; exit 1; }
case "$(ldd "$BIN" 2>/dev/null || true)" in
  *libswiftCore*) echo "FAIL: $BIN links the Swift runtime dynamically; build it with --static-swift-stdlib"; exit 1;;
esac

# --- the container's root file system (cached) ----------------------------------------------------
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps bookworm "$ROOT" "$MIRROR" \
    >/tmp/heapd-ct-debootstrap.log 2>&1 || { rm -rf "$ROOT"; skip "debootstrap failed (see /tmp/heapd-ct-debootstrap.log)"; }
fi
echo "rootfs ready after $(( $(date +%s) - T0 ))s"

# --- cgroup confinement ----------------------------------------------------------------------------
# Hybrid hierarchy (cgroup v1 controllers + name=systemd): a subtree under our memory cgroup in each
# hierarchy systemd-nspawn touches. Pure cgroup v2: a subtree under our own cgroup.
CONTROLLERS=()
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  OWN=$(awk -F: '$1=="0"{print $3}' /proc/self/cgroup)
  SUB="${OWN%/}/heapd-ct-$$"; CONTROLLERS=("")
else
  OWN=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
  [ -n "$OWN" ] || skip "no memory cgroup to confine the container to"
  SUB="${OWN%/}/heapd-ct-$$"
  for c in systemd pids cpu unified memory; do [ -d "/sys/fs/cgroup/$c" ] && CONTROLLERS+=("/$c"); done
fi
for c in "${CONTROLLERS[@]}"; do
  mkdir -p "/sys/fs/cgroup$c$SUB" 2>/dev/null || skip "cannot create cgroup /sys/fs/cgroup$c$SUB"
done

# --- files bind-mounted into the container ---------------------------------------------------------
WORK=$(mktemp -d /tmp/heapd-ct-run.XXXXXX)
cp systemd/heapd.conf "$WORK/heapd.conf"    # a copy: the reload check edits it
LOG=$WORK/nspawn.log
BINDS=(
  "--bind-ro=$BIN:/usr/local/bin/heapd"
  "--bind-ro=$REPO/systemd/heapd.service:/etc/systemd/system/heapd.service"
  "--bind-ro=$REPO/systemd/heapd.socket:/etc/systemd/system/heapd.socket"
  "--bind-ro=$REPO/systemd/heapd.catalog:/usr/lib/systemd/catalog/heapd.catalog"
  "--bind-ro=$REPO/systemd/heapd.sysusers:/usr/lib/sysusers.d/heapd.conf"
  "--bind=$WORK/heapd.conf:/etc/heapd/heapd.conf"
)
(
  for c in "${CONTROLLERS[@]}"; do echo "$BASHPID" > "/sys/fs/cgroup$c$SUB/cgroup.procs"; done
  exec systemd-nspawn --quiet --register=no --keep-unit -D "$ROOT" --volatile=overlay --link-journal=no --private-network \
    -M "heapdct$$" "${BINDS[@]}" -b --console=passive
) >"$LOG" 2>&1 &
NSPAWN=$!
C=""
fail=0
cleanup() {
  if [ "$fail" != 0 ] && [ -n "$C" ]; then
    echo "--- the container's journal for heapd (last 60 lines) ---"
    nsenter -t "$C" -a journalctl -b -u heapd.service -u heapd.socket --no-pager 2>&1 | tail -60 || true
    if [ -n "${HEAPD_CT_DEBUG:-}" ]; then
      nsenter -t "$C" -a journalctl -b _PID=1 --no-pager -o cat 2>&1 | grep -i "notification" | tail -20 || true
      nsenter -t "$C" -a journalctl -b -x -u heapd.service --no-pager 2>&1 | head -30 || true
      nsenter -t "$C" -a journalctl --list-catalog 2>&1 | grep -i heapd | head -3 || true
    fi
  fi
  [ -n "$C" ] && nsenter -t "$C" -a systemctl poweroff >/dev/null 2>&1 || true
  for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$NSPAWN" 2>/dev/null && kill "$NSPAWN" && sleep 1
  kill -0 "$NSPAWN" 2>/dev/null && kill -9 "$NSPAWN"
  for _ in $(seq 50); do
    left=0
    for c in "${CONTROLLERS[@]}"; do
      [ -d "/sys/fs/cgroup$c$SUB" ] || continue
      find "/sys/fs/cgroup$c$SUB" -depth -type d -exec rmdir {} \; 2>/dev/null || left=1
    done
    [ $left = 0 ] && break; sleep 0.2
  done
  for c in "${CONTROLLERS[@]}"; do    # parents mkdir -p created, only if now empty
    d="/sys/fs/cgroup$c${OWN%/}"
    while [ "$d" != "/sys/fs/cgroup$c" ] && rmdir "$d" 2>/dev/null; do d=$(dirname "$d"); done
  done
  rm -rf /run/systemd/nspawn 2>/dev/null || true; rmdir /run/systemd/nspawn-root 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 200); do C=$(pgrep -P "$NSPAWN" -x systemd || true); [ -n "$C" ] && break; sleep 0.1; done
[ -n "$C" ] || { cat "$LOG"; echo "FAIL: the container's systemd did not start"; exit 1; }
X() { nsenter -t "$C" -a "$@"; }
for _ in $(seq 200); do [ -S "/proc/$C/root/run/systemd/private" ] && break; sleep 0.1; done
state=$(X systemctl is-system-running --wait 2>&1 || true)
echo "container systemd: $state (t=$(( $(date +%s) - T0 ))s)"

SOCK=/proc/$C/root/run/heapd/heapd.sock
show() { X systemctl show -p "$1" --value heapd.service; }
# Sends inline commands to heapd (from the host, through the container's socket); prints the replies.
heap() { python3 - "$SOCK" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as error:
    print(f"(no connection: {error})"); sys.exit(0)
s.sendall("".join(a + "\n" for a in sys.argv[2:]).encode()); s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        out += chunk
except OSError as error:
    out += f"(connection lost: {error})".encode()
print(out.decode().strip())
PY
}
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2' want '$3'"; fi; }
jfield() { python3 -c 'import sys, json
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if all(e.get(k) == v for k, v in (a.split("=", 1) for a in sys.argv[1:])): n += 1
print(n)' "$@"; }

X systemd-sysusers >/dev/null
X journalctl --update-catalog
X systemctl start heapd.socket
check "heapd.socket listening" "$(X systemctl show -p SubState --value heapd.socket)" "listening"
check "heapd.service not started before a client" "$(show ActiveState)" "inactive"
check "socket mode, owner and group" "$(stat -c '%a %u %g' "$SOCK")" "660 0 $(X getent group heapd-clients | cut -d: -f3)"

# 1. Socket activation: the first client's connect starts heapd, which serves it.
check "first client served (socket activation)" "$(heap PING)" "+PONG"
check "Type=notify READY=1 -> running" "$(show SubState)" "running"
PID1=$(show MainPID)
# Globals outlive the connection, so the status has something to count.
heap "NEW g.keep list" "NEW g.name str kept" "APPEND g.keep g.name" "NEW a list" "NEW b list" "APPEND a b" \
  "APPEND b a" "DEL a" "DEL b" "GC COLLECT" >/dev/null

# 2. STATUS= in systemctl status.
for _ in $(seq 40); do case "$(show StatusText)" in *"collections 0/0/1"*) break;; esac; sleep 0.25; done
status=$(show StatusText)
case "$status" in
  "2 objects, "*" B, 0 clients; collections 0/0/1; pause last "*", worst "*) ok "STATUS= '$status'";;
  *) bad "STATUS= text: '$status'";;
esac
grep -qF "Status: \"$status\"" <<<"$(X systemctl status heapd.service --no-pager 2>&1 || true)" \
  && ok "systemctl status shows it" || bad "systemctl status lacks the status line"

# 2b. tracemalloc dumps land in the unit's StateDirectory= (/var/lib/heapd), the one place it writes.
dump=$(heap "TRACEMALLOC START" "NEW g.traced list" "TRACEMALLOC TAKE_SNAPSHOT" "TRACEMALLOC DUMP 1 e2e.json" \
  "TRACEMALLOC STOP" "DEL g.traced" "TRACEMALLOC DROP_SNAPSHOT 1")
case "$dump" in
  *"/var/lib/heapd/e2e.json"*) ok "TRACEMALLOC DUMP replies the file in the state directory";;
  *) bad "TRACEMALLOC DUMP: '$dump'";;
esac
check "the dump is there, JSON for Python" \
  "$(X cat /var/lib/heapd/e2e.json | python3 -c 'import sys, json; print(json.load(sys.stdin)["format"])' 2>&1 || true)" \
  "heapd-tracemalloc-snapshot"

# 3. Reload: RELOADING=1 reaches PID 1 (logged at its debug level), then READY=1; the new level applies.
X systemd-analyze log-level debug
printf 'log-level = debug\n' > "$WORK/heapd.conf"
X systemctl reload heapd.service || bad "systemctl reload failed"
X systemd-analyze log-level info
check "reload keeps the process" "$(show MainPID)" "$PID1"
check "active after reload" "$(show SubState)" "running"
# (Output is captured before grep -q: with pipefail, grep quitting early would fail the pipeline.)
seen=""
for _ in $(seq 20); do
  seen=$(X journalctl -q -b _PID=1 --no-pager -o cat | grep -F "Got notification message from PID $PID1 (RELOADING=1, MONOTONIC_USEC=" || true)
  [ -n "$seen" ] && break; sleep 0.25
done
[ -n "$seen" ] && ok "PID 1 received RELOADING=1 with MONOTONIC_USEC" || bad "no RELOADING=1 notification seen by PID 1"
# A cycle collected at the new level: the collection and the client are logged now.
heap "NEW a list" "NEW b list" "APPEND a b" "APPEND b a" "DEL a" "DEL b" "GC COLLECT" >/dev/null

# 4. The journal: structured entries, MESSAGE_IDs, the catalog.
J() { X journalctl -q -b -o json -u heapd.service --no-pager "$@"; }
for _ in $(seq 40); do
  [ "$(J MESSAGE_ID=f606a143aa0749e3a2cc84820f957dd8 | jfield HEAPD_GC_COLLECTED=2)" -ge 1 ] && break; sleep 0.25
done
check "journal: daemon_started entry with its fields" \
  "$(J MESSAGE_ID=8e714002ad2d41b2b6b9effe5ba4856e | jfield SYSLOG_IDENTIFIER=heapd "HEAPD_LISTEN=fd 3 (heapd)" PRIORITY=6 _SYSTEMD_UNIT=heapd.service HEAPD_EVENT=daemon_started)" "1"
check "journal: configuration_reloaded entry" \
  "$(J MESSAGE_ID=c17c6ffe1cf146c2adbe528a35c425d0 | jfield HEAPD_LOG_LEVEL=debug)" "1"
check "journal: client_connected with the peer's credentials" \
  "$(J MESSAGE_ID=9fc542489e9d4547b5f774a9fcba5fe7 | jfield HEAPD_CLIENT_UID=0 PRIORITY=7)" "1"
check "journal: collection_finished with the gc fields" \
  "$(J MESSAGE_ID=f606a143aa0749e3a2cc84820f957dd8 | jfield HEAPD_GC_GENERATION=2 HEAPD_GC_COLLECTED=2 HEAPD_GC_UNCOLLECTABLE=0)" "1"
J MESSAGE_ID=f606a143aa0749e3a2cc84820f957dd8 | python3 -c 'import sys, json
e = json.loads(sys.stdin.readline())
assert e["HEAPD_GC_PAUSE_USEC"].isdigit() and e["CODE_FILE"].endswith("ServerState.swift") and e["CODE_LINE"].isdigit() and e["CODE_FUNC"]' \
  && ok "journal: HEAPD_GC_PAUSE_USEC, CODE_FILE, CODE_LINE, CODE_FUNC" || bad "journal: code location or pause fields"
explained=$(X journalctl -b -x -u heapd.service --no-pager 2>/dev/null || true)
grep -qF "Subject: heapd started and listens on fd 3 (heapd)" <<<"$explained" \
  && ok "journalctl -x shows the catalog text" || bad "catalog text missing from journalctl -x"

# 5. A stalled collector: heapd stops pinging, systemd's watchdog kills it (SIGABRT) and restarts it;
#    with --resume --save-every 1 (protocol.md, "heapd --resume") the shared heap comes back from the
#    last periodic save in StateDirectory=. GC DEBUG_STALL needs --enable-test-commands: a drop-in in
#    /run adds both (the shipped files stay as they are; the drop-in vanishes with the container).
X mkdir -p /run/systemd/system/heapd.service.d
X sh -c 'cat > /run/systemd/system/heapd.service.d/test-commands.conf' <<'UNIT'
[Service]
ExecStart=
ExecStart=/usr/local/bin/heapd --config /etc/heapd/heapd.conf --max-objects 4194304 --enable-test-commands --resume --save-every 1
UNIT
X systemctl daemon-reload
X systemctl restart heapd.service || bad "systemctl restart failed"
PID2=$(show MainPID)
RESTARTS0=$(show NRestarts)
heap "NEW g.kept list" "NEW s str survivor" "APPEND g.kept s" "APPEND g.kept g.kept" "SET g.alias g.kept" >/dev/null
KEPT_BEFORE=$(heap "REPR g.kept" "GETREFCOUNT g.kept")
case "$KEPT_BEFORE" in
  *survivor*":4"*) ok "g.kept made (a list holding a str and itself, 2 globals: refcount 4)";;
  *) bad "g.kept not made: $KEPT_BEFORE";;
esac
SAVES0=$(heap "LASTSAVE")
for _ in $(seq 40); do [ "$(heap LASTSAVE)" != "$SAVES0" ] && break; sleep 0.25; done
sleep 1.2  # one more periodic save, after the objects above certainly existed
check "stall armed" "$(heap "GC DEBUG_STALL 120")" "+OK"
T1=$(date +%s)
for _ in $(seq 160); do [ "$(show NRestarts)" != "$RESTARTS0" ] && [ "$(show SubState)" = running ] && break; sleep 0.25; done
check "watchdog kill + restart" "$(show NRestarts)" "$(( RESTARTS0 + 1 ))"
[ "$(show MainPID)" != "$PID2" ] && ok "a new heapd process ($(( $(date +%s) - T1 ))s after the stall)" || bad "same MainPID after restart"
grep -qF "Watchdog timeout" <<<"$(X journalctl -q -b -u heapd.service --no-pager -o cat)" \
  && ok "systemd logged the watchdog timeout" || bad "no 'Watchdog timeout' in the journal"
check "journal: watchdog_unhealthy entry naming the stalled collector" \
  "$(J MESSAGE_ID=dc1f2a43c75f4e2f9f4dc7201fb7792b | python3 -c 'import sys, json
print(sum(1 for l in sys.stdin if "collector" in json.loads(l).get("HEAPD_REASON", "")))')" "1"
check "served again after the restart" "$(heap PING)" "+PONG"
check "the shared heap resumed from the last save (repr and refcount of g.kept)" \
  "$(heap "REPR g.kept" "GETREFCOUNT g.kept")" "$KEPT_BEFORE"
X rm -rf /run/systemd/system/heapd.service.d
X systemctl daemon-reload

# 6. A clean stop: STOPPING=1, exit 0, the socket stays (owned by heapd.socket) and re-activates.
X systemctl stop heapd.service || bad "systemctl stop failed"
check "stopped" "$(show ActiveState)" "inactive"
check "stop result" "$(show Result)" "success"
check "exit status" "$(show ExecMainStatus)" "0"
[ -S "$SOCK" ] && ok "heapd left the socket to heapd.socket" || bad "socket file gone after stop"
check "heapd.socket still listening" "$(X systemctl show -p SubState --value heapd.socket)" "listening"
check "a new client re-activates heapd" "$(heap PING)" "+PONG"
X systemctl stop heapd.service heapd.socket
# heapd logs natively; text on its stderr stream comes from libraries (libdispatch, SwiftNIO): show it.
stray=$(X journalctl -q -b -u heapd.service _TRANSPORT=stdout --no-pager -o cat 2>/dev/null || true)
[ -z "$stray" ] && ok "no unstructured text on heapd's stderr" || echo "note: text on heapd's stderr: $stray"

echo "total $(( $(date +%s) - T0 ))s"
[ $fail = 0 ] && echo "nspawn e2e: all checks passed" || echo "nspawn e2e: FAILED"
exit $fail

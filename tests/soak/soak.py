#!/usr/bin/env python3
"""heapd's concurrent random-mix soak, over the real Unix socket.

What a passing run proves, for the seed and duration it ran:

- **No client can crash, hang or confuse heapd by racing others.** N clients (default 48: 4 processes
  of 12 connections) send a seeded random mix of every mutating command kind on every object kind —
  NEW of each type, SET/DEL, list/dict/set/attribute changes, cycles through shared globals, WEAKREF
  and DEREF, both kinds of FINALIZER, generators, SCOPE PUSH/POP, tracemalloc switched on and off with
  snapshots, GC COLLECT of each generation, FREEZE/UNFREEZE, SAVEALL, the leak views — pipelined in
  small batches, with reconnections that drop sessions mid-flight. Every reply must be well-formed
  RESP within the timeout; a closed connection, a timeout or a malformed reply fails the run, and so
  does heapd's exit (its log's tail, with the crash report, is printed).
- **Every reference is accounted for, all the time.** Each client keeps a private world
  (``private_world.py``) whose every count, length, error and dead id it predicts exactly; any
  difference fails the run on the spot. Locals pinned to shared objects keep their id and type.
- **The heap stays consistent while it runs.** A side client runs ``DEBUG VERIFY`` every few seconds;
  any problem it reports fails the run. Once every client has stopped but still holds its references,
  one more ``DEBUG VERIFY`` checks every shared object's count against the references that exist.
- **Nothing leaks.** After all clients leave, the soak deletes its globals, restores the server-wide
  settings it touched, collects (``GC COLLECT 2`` twice, clearing ``gc.garbage``) and requires
  ``INFO``'s object and memory figures to equal their values before the run, and a clean final
  ``DEBUG VERIFY``.

It starts heapd itself (``--heapd PATH``) on a socket in a fresh ``mktemp -d`` directory and stops it
by pid, or attaches to ``--socket PATH`` (a heapd used by nobody else: the soak changes server-wide
settings and restores them). It ends with one line, ``soak: OK`` or ``soak: FAILED <reason>``, and
exits 0 or 1. See README.md in this folder.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import queue as queue_module
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from expect import Custom, Err, Int, Step, describe, kind_of  # noqa: E402
from private_world import PrivateWorld, cycle_batch  # noqa: E402
from resp import Connection, ProtocolFailure, RespError, Simple, info  # noqa: E402
import shared_mix  # noqa: E402

# The mix: how often each family of operations is drawn. The private world gets about 40% of the
# draws, cyclic garbage 5%, the shared families the rest (their weights are in shared_mix.FAMILIES).
MIX = [("private", 58), ("cycles", 7)] + [(family.__name__, weight) for family, weight in shared_mix.FAMILIES]

# How often each private operation is drawn, relative to the others.
PRIVATE_OPS = [
    ("op_new_atom", 10), ("op_new_container", 8), ("op_set", 6), ("op_del", 6), ("op_list_change", 10),
    ("op_tuple_read", 2), ("op_dict_change", 6), ("op_set_change", 6), ("op_attr", 6), ("op_weak", 7),
    ("op_finalizer", 2), ("op_generator", 8), ("op_check", 12), ("op_wrong_type", 2),
]
SETTLE_SECONDS = 15.0  # how long a closed session may take to release its references


class Failure(Exception):
    """A reply that breaks the contract or the model."""


# =============================================================================================
# One client
# =============================================================================================

class Client:
    """One connection's random mix, its private world and its checks. Runs on its own thread."""

    def __init__(self, cid: int, cfg: dict, reports, stop, release) -> None:
        self.cid = cid
        self.cfg = cfg
        self.reports = reports
        self.stop = stop
        self.release = release
        self.rng = random.Random(cfg["seed"] * 1_000_003 + cid)
        self.world = PrivateWorld(cid, self.rng)
        self.shared = shared_mix.SharedState(cid, self.rng, cfg["own_heapd"])
        self.conn: Connection | None = None
        self.recent: collections.deque = collections.deque(maxlen=2000)
        self.kinds: collections.Counter = collections.Counter()
        self.errors: collections.Counter = collections.Counter()
        self.figures = collections.Counter()
        self.max_latency = 0.0
        self.line = 0

    # ---- plumbing ----------------------------------------------------------------------------

    def connect(self) -> None:
        self.conn = Connection(self.cfg["socket"], self.cfg["timeout"])

    def run_batch(self, steps: list[Step]) -> None:
        """Sends the steps pipelined and checks each reply in order."""
        if not steps:
            return
        started = time.monotonic()
        multibulk = self.rng.random() < 0.15  # both request decoders, inline and RESP
        self.conn.send([s.cmd for s in steps], multibulk)
        self.figures["multibulk_requests" if multibulk else "inline_requests"] += len(steps)
        for step in steps:
            try:
                reply = self.conn.read()
            except ProtocolFailure as error:
                self.recent.append((step.cmd, "<no reply>"))
                raise ProtocolFailure(f"{error} (waiting for the reply to {step.cmd!r})") from None
            self.recent.append((step.cmd, describe(reply)))
            self.kinds[kind_of(step.cmd)] += 1
            if isinstance(reply, RespError):
                self.errors[reply.code] += 1
            problem = step.expect.check(reply)
            if problem:
                raise Failure(f"{step.cmd!r}: {problem}")
            if step.after and not isinstance(reply, RespError):
                step.after(reply)
        self.max_latency = max(self.max_latency, time.monotonic() - started)
        self.figures["commands"] += len(steps)
        self.figures["batches"] += 1

    def report(self, *message) -> None:
        self.reports.put((message[0], self.cid) + tuple(message[1:]))

    # ---- the mix -----------------------------------------------------------------------------

    def private_steps(self) -> list[Step]:
        if not self.world.bound():
            return self.world.op_new_atom() if self.rng.random() < 0.5 else self.world.op_new_container()
        for _ in range(6):
            if self.world.crowded() and self.rng.random() < 0.6:
                name = self.rng.choice(("op_del", "op_list_change", "op_dict_change", "op_attr", "op_set"))
            else:
                name = self.rng.choices([n for n, _ in PRIVATE_OPS], weights=[w for _, w in PRIVATE_OPS])[0]
            steps = getattr(self.world, name)()
            if steps:
                self.figures["private_ops"] += 1
                return steps
        return []

    def draw(self) -> list[Step]:
        names, weights = self.cfg["mix"]
        while True:
            family = self.rng.choices(names, weights=weights)[0]
            if family == "private":
                steps = self.private_steps()
            elif family == "cycles":
                steps = cycle_batch(self.rng, shared_mix.SHARED)
                self.figures["cycles"] += 1
            else:
                steps = shared_mix.FAMILY_BY_NAME[family](self.shared)
                if family == "pin" and len(self.world.frames) > 1:
                    continue  # pins are frame 0's locals
            break
        if self.rng.random() < 0.1 and len(steps) == 1 and not steps[0].cmd.startswith("AT"):
            # An allocation's traceback names the position a client states: AT as a prefix moves it.
            self.line = self.line % 500 + 1  # a script's lines are finitely many
            steps[0].cmd = f"AT soak/c{self.cid}.heap:{self.line} {steps[0].cmd}"
        return steps

    def turn(self) -> None:
        roll = self.rng.random()
        if roll < self.cfg["reconnect_rate"]:
            self.reconnect()
        elif roll < 0.03:
            self.scope()
        elif roll < 0.035:
            self.run_batch(self.vars_check())
        else:
            batch = []
            for _ in range(self.rng.randint(1, 4)):
                batch += self.draw()
            batch = self.shared.pending + batch
            self.shared.pending = []
            self.run_batch(batch)

    def scope(self) -> None:
        depth = len(self.world.frames) - 1
        if depth < 3 and (depth == 0 or self.rng.random() < 0.5):
            self.run_batch([Step(f"SCOPE PUSH f{depth}", "", Int(depth + 1), private=True)])
            self.world.push_frame()
            self.shared.frames.append(set())
            self.figures["scopes"] += 1
        elif depth == 0:
            self.run_batch([Step("SCOPE POP", "", Err("SCOPE"), private=True)])
        else:
            self.pop_frame()

    def pop_frame(self) -> None:
        """SCOPE POP releases exactly the frame's locals: the private ones and those bound to shared
        objects (VARS first, so that a wrong count names the variables)."""
        self.run_batch(self.vars_check())
        released = len(self.world.frames[-1]) + len(self.shared.frames[-1])
        self.world.pop_frame()
        self.shared.frames.pop()
        self.run_batch([Step("SCOPE POP", "", Int(released), private=True)])

    def vars_check(self) -> list[Step]:
        """VARS lists exactly the current frame's variables, private and shared."""
        expected = self.world.local_names_bound() | self.shared.frames[-1]

        def test(reply):
            if not isinstance(reply, list) or len(reply) % 2:
                return f"expected name/repr pairs, got {describe(reply)}"
            names = {reply[i].decode() for i in range(0, len(reply), 2)}
            if names != expected:
                return f"VARS names {sorted(names)}, expected {sorted(expected)}"
            return None
        return [Step("VARS", "", Custom(test), private=True)]

    def reconnect(self) -> None:
        """Leaves (QUIT, or a close with requests still in flight) and comes back as a new session.
        heapd must release every local of the old session: the private world's counts settle to the
        model within SETTLE_SECONDS."""
        self.figures["reconnects"] += 1
        # Ids of what only the locals hold, so the settle check sees those objects die too.
        locals_held = [n for n in self.world.bound() if not n.startswith("g.")
                       and not self.world.lookup(n).immortal and self.world.lookup(n).heap_id is None]
        self.run_batch([Step(f"ID {n}", "", Custom(lambda r, o=self.world.lookup(n): self.world._learn_id(o, r)))
                        for n in locals_held])
        if self.rng.random() < 0.5:
            self.conn.quit()
        else:
            shared = [n for n in self.cfg["mix"][0] if n in shared_mix.FAMILY_BY_NAME]
            in_flight = shared_mix.FAMILY_BY_NAME[self.rng.choice(shared)](self.shared) if shared else []
            self.conn.send([s.cmd for s in in_flight] + ["GC COLLECT 0"])
            self.conn.close()
        self.world.drop_session()
        self.shared.frames = [set()]
        self.shared.pins = {}
        self.connect()
        self.settle("after a reconnection")

    def settle(self, why: str) -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        polls = 0
        while True:
            steps = self.world.full_check()
            self.conn.send([s.cmd for s in steps])
            replies = [self.conn.read() for _ in steps]
            problems = [f"{s.cmd!r}: {p}" for s, r in zip(steps, replies) if (p := s.expect.check(r))]
            for s, r in zip(steps, replies):
                if not problems and s.after:
                    s.after(r)
            self.kinds["(settle checks)"] += len(steps)
            if not problems:
                self.figures["settle_polls"] += polls
                return
            polls += 1
            if time.monotonic() > deadline:
                raise Failure(f"{why}, {SETTLE_SECONDS:.0f} s later: " + "; ".join(problems[:8]))
            time.sleep(0.05)

    # ---- the end -----------------------------------------------------------------------------

    def final_checks(self) -> None:
        """Back to frame 0 (each SCOPE POP releasing exactly its locals), then every private count,
        every pin, and VARS."""
        while len(self.world.frames) > 1:
            self.pop_frame()
        self.run_batch(self.world.full_check())
        for name in list(self.shared.pins):
            self.run_batch(shared_mix.pin_check(self.shared, name))
            self.figures["pins_checked"] += 1
        self.run_batch(self.vars_check())
        drops = [Step(f"TRACEMALLOC DROP_SNAPSHOT {n}", "", shared_mix.Race()) for n in self.shared.snapshots]
        self.shared.snapshots = []
        self.run_batch(drops)
        self.figures["private_objects_checked"] = len(self.world.live)

    def run(self) -> None:
        failed = False
        try:
            self.connect()
            last_progress = time.monotonic()
            while not self.stop.is_set() and time.time() < self.cfg["deadline"] \
                    and self.figures["commands"] < self.cfg["max_commands"]:
                self.turn()
                if time.monotonic() - last_progress > 2:
                    self.report("progress", self.figures["commands"])
                    last_progress = time.monotonic()
            if not self.stop.is_set():
                self.final_checks()
        except (Failure, ProtocolFailure) as error:
            failed = True
            self.report("failure", time.time(), f"{type(error).__name__}: {error}", list(self.recent))
        except Exception:  # a bug in the soak itself: report it as loudly as heapd's
            failed = True
            self.report("failure", time.time(), "soak bug: " + traceback.format_exc(), list(self.recent))
        self.report("progress", self.figures["commands"])
        self.report("quiesced")
        # Hold every reference until the main process has run the quiesced DEBUG VERIFY.
        self.release.wait(self.cfg["timeout"] + 120)
        if not failed and self.conn is not None:
            try:
                self.conn.quit()
            except ProtocolFailure as error:
                self.report("failure", time.time(), f"QUIT: {error}", list(self.recent))
        elif self.conn is not None:
            self.conn.close()
        self.report("done", dict(kinds=self.kinds, errors=self.errors, figures=self.figures,
                                 max_latency=self.max_latency))


def worker(client_ids: list[int], cfg: dict, reports, stop, release) -> None:
    """One OS process: its clients, one thread each (they mostly wait on the socket)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    threads = [threading.Thread(target=Client(cid, cfg, reports, stop, release).run, name=f"client-{cid}")
               for cid in client_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# =============================================================================================
# Side clients: the verifier and the event subscriber
# =============================================================================================

class Verifier(threading.Thread):
    """DEBUG VERIFY every few seconds while the clients run."""

    def __init__(self, run: "SoakRun") -> None:
        super().__init__(name="verifier", daemon=True)
        self.run_ = run
        self.halt = threading.Event()
        self.runs = 0
        self.durations: list[float] = []
        self.objects = (0, 0)  # live objects and tracked containers at the last VERIFY

    def run(self) -> None:
        try:
            conn = Connection(self.run_.socket_path, self.run_.args.timeout)
            while not self.halt.wait(self.run_.args.verify_interval):
                started = time.monotonic()
                problem = verify(conn)
                self.durations.append(time.monotonic() - started)
                self.runs += 1
                if problem:
                    self.run_.fail(f"DEBUG VERIFY during the run: {problem}")
                fields = info(conn, "objects")
                self.objects = (int(fields["objects"]), sum(int(fields[f"tracked_{g}"]) for g in
                                                           ("gen0", "gen1", "gen2", "permanent")))
            conn.quit()
        except ProtocolFailure as error:
            self.run_.fail(f"verifier: {error}")


def verify(conn: Connection) -> str | None:
    reply = conn.call1("DEBUG VERIFY")
    if isinstance(reply, Simple) and reply.startswith("OK heap consistent"):
        return None
    if isinstance(reply, list):
        lines = [item.decode("utf-8", "replace") if isinstance(item, bytes) else repr(item) for item in reply]
        return f"{len(lines)} problem(s): " + " | ".join(lines[:20])
    return f"unexpected reply {describe(reply)}"


class Subscriber(threading.Thread):
    """A GC SUBSCRIBE connection: the collector thread and dying objects push events to it while the
    clients run; every event must be a well-formed array of a known kind."""

    KINDS = {b"gc-start", b"gc-stop", b"finalizer", b"weakref-cleared"}

    def __init__(self, run: "SoakRun") -> None:
        super().__init__(name="subscriber", daemon=True)
        self.run_ = run
        self.halt = threading.Event()
        self.events: collections.Counter = collections.Counter()

    def run(self) -> None:
        try:
            conn = Connection(self.run_.socket_path, self.run_.args.timeout)
            reply = conn.call1("GC SUBSCRIBE")
            if reply != [b"subscribe", b"gc", 1]:
                raise ProtocolFailure(f"GC SUBSCRIBE replied {describe(reply)}")
            while not self.halt.is_set():
                try:
                    event = conn.read(deadline=time.monotonic() + 0.5)
                except socket.timeout:
                    continue
                if not (isinstance(event, list) and event and event[0] in self.KINDS):
                    raise ProtocolFailure(f"not an event: {describe(event)}")
                self.events[event[0].decode()] += 1
            conn.send(["QUIT"])
            while True:  # events queued before QUIT, then +OK, then the end of the stream
                reply = conn.read()
                if isinstance(reply, Simple) and reply == "OK":
                    break
                if not (isinstance(reply, list) and reply and reply[0] in self.KINDS):
                    raise ProtocolFailure(f"not an event: {describe(reply)}")
            conn.close()
        except ProtocolFailure as error:
            self.run_.fail(f"subscriber: {error}")


# =============================================================================================
# heapd under test
# =============================================================================================

class HeapdProcess:
    """heapd started on a socket in a fresh temporary directory, stopped by pid, its files removed."""

    def __init__(self, binary: str, log_level: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="soak.", dir="/tmp")  # short: sun_path holds 108 bytes
        self.socket = os.path.join(self.dir, "heapd.sock")
        self.log_path = os.path.join(self.dir, "heapd.log")
        env = dict(os.environ)
        env.setdefault("SWIFT_BACKTRACE", "enable=yes,interactive=no,color=no")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--socket", self.socket, "--snapshot-dir", os.path.join(self.dir, "snapshots"),
             "--log-level", log_level, "--log-target", "stderr",
             # Automatic full collections mark in steps of a few hundred objects, with every client's
             # commands running between them (the default step, 1 ms, rarely splits the soak's small heap).
             "--gc-mark-step", "1"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.started = time.time()

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"heapd exited with {self.proc.returncode} before listening:\n{self.log_tail()}")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(self.socket)
                return
            except OSError:
                time.sleep(0.1)
            finally:
                probe.close()
        raise RuntimeError(f"heapd did not listen on {self.socket} within {seconds:.0f} s")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_description(self) -> str:
        code = self.proc.returncode
        if code is None:
            return "running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}" + (" (ThreadSanitizer report)" if code == 66 else "")

    def log_tail(self, lines: int = 80) -> str:
        self.log.flush()
        with open(self.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    # Where a crash report starts: Swift's runtime error, its backtracer, a sanitizer.
    CRASH_MARKERS = ("Fatal error", "Program crashed", "crashed:", "WARNING: ThreadSanitizer", "ERROR: AddressSanitizer",
                     "SUMMARY: ThreadSanitizer", "Assertion failed", "Precondition failed")

    def crash_report(self, lines: int = 90) -> str:
        """The part of the log that explains a crash (the crashed thread's frames come first in
        Swift's backtrace, the other threads after), else its tail."""
        self.log.flush()
        with open(self.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace").splitlines()
        for i, line in enumerate(text):
            if any(marker in line for marker in self.CRASH_MARKERS):
                return "\n".join(text[max(0, i - 3):i + lines])
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.log.close()

    def check_images(self, heapctl: str) -> tuple[int, str | None]:
        """Reads every image the soak's SAVE and BGSAVE left with `heapctl inspect`, whose reader checks
        each object's refcount against the references the image holds: a background capture that
        missed a mutation leaves an image that fails it. Returns (images read, first failure)."""
        directory = os.path.join(self.dir, "snapshots")
        names = sorted(n for n in os.listdir(directory) if n.endswith(".image")) if os.path.isdir(directory) else []
        for name in names:
            result = subprocess.run([heapctl, "inspect", os.path.join(directory, name), "--json"],
                                    stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
            if result.returncode != 0:
                return len(names), f"image {name} refused: {result.stderr.decode(errors='replace').strip()[:300]}"
        return len(names), None

    def remove(self, keep_log: str | None) -> None:
        if keep_log:
            shutil.copyfile(self.log_path, keep_log)
        shutil.rmtree(self.dir, ignore_errors=True)


def rss_of(pid: int | None) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, TypeError):
        return None
    return None


# =============================================================================================
# The run
# =============================================================================================

# INFO fields that must be back at their value before the run once the soak's objects are gone.
BASELINE_FIELDS = ("objects", "used_bytes", "object_bytes", "small_block_bytes", "blocks_by_size_class",
                   "large_blocks", "large_bytes", "gc_garbage", "tracemalloc_snapshots")
SETTINGS_FIELDS = ("gc_enabled", "gc_threshold", "gc_debug", "tracemalloc_tracing")


class SoakRun:
    def __init__(self, args, socket_path: str, heapd: HeapdProcess | None) -> None:
        self.args = args
        self.socket_path = socket_path
        self.heapd = heapd
        self.pid: int | None = heapd.pid if heapd else None
        self.failures: list[str] = []
        self.first_failure_at: float | None = None
        self.lock = threading.Lock()
        self.started = time.time()

    def fail(self, text: str) -> None:
        with self.lock:
            if self.first_failure_at is None:
                self.first_failure_at = time.time() - self.started
            self.failures.append(f"[{time.time() - self.started:6.1f} s] {text}")
            # When heapd dies every client fails at once: the first few say what happened.
            if len(self.failures) <= 5:
                print(f"soak: failure at {time.time() - self.started:.1f} s: {text}", flush=True)
            elif len(self.failures) == 6:
                print("soak: more failures follow (listed at the end)", flush=True)

    # ---- before and after --------------------------------------------------------------------

    def baseline(self, conn: Connection) -> dict:
        fields = info(conn)
        fields["tracked"] = str(sum(int(fields[f"tracked_{g}"]) for g in ("gen0", "gen1", "gen2", "permanent")))
        fields["snapshot_numbers"] = sorted(row[0] for row in conn.call1("TRACEMALLOC SNAPSHOTS"))
        return fields

    def remove_leftovers(self, conn: Connection) -> None:
        """Deletes every g.soak_* global: the soak's own, from this run or an interrupted one."""
        reply = conn.call1("VARS GLOBALS")
        names = [reply[i].decode() for i in range(0, len(reply), 2) if reply[i].startswith(b"g.soak_")]
        for i in range(0, len(names), 100):
            batch = names[i:i + 100]
            reply = conn.call1("DEL " + " ".join(batch))
            if reply != len(batch):
                self.fail(f"DEL of the soak's globals replied {describe(reply)}")

    def restore(self, conn: Connection, before: dict) -> None:
        """Puts back the server-wide settings the clients toggled at random."""
        t0, t1, t2 = before["gc_threshold"].split(",")
        steps = ["GC UNFREEZE", f"GC SET_DEBUG {before['gc_debug']}", f"GC SET_THRESHOLD {t0} {t1} {t2}",
                 "GC ENABLE" if before["gc_enabled"] == "1" else "GC DISABLE"]
        if before["tracemalloc_tracing"] == "0":
            steps.append("TRACEMALLOC STOP")
        for row in conn.call1("TRACEMALLOC SNAPSHOTS"):
            if row[0] not in before["snapshot_numbers"]:
                steps.append(f"TRACEMALLOC DROP_SNAPSHOT {row[0]}")
        for cmd, reply in zip(steps, conn.call(steps)):
            if isinstance(reply, RespError):
                self.fail(f"restoring settings: {cmd!r} replied {describe(reply)}")

    def collect_to_baseline(self, conn: Connection, before: dict) -> dict:
        """GC COLLECT 2 twice, clearing gc.garbage, until INFO matches the baseline (a few tries: a
        departed session's references are released asynchronously)."""
        diffs: dict = {}
        for attempt in range(5):
            conn.call(["GC GARBAGE CLEAR", "GC COLLECT 2", "GC GARBAGE CLEAR", "GC COLLECT 2"])
            after = self.baseline(conn)
            keys = list(BASELINE_FIELDS) + ["tracked"] + [k for k in before if k.startswith("type_")]
            diffs = {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}
            if not diffs:
                return {}
            time.sleep(1 + attempt)
        return diffs

    def wait_for_clients_to_leave(self, conn: Connection, expected: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if int(info(conn, "clients")["connected_clients"]) <= expected:
                return
            time.sleep(0.2)
        self.fail(f"clients still connected 30 s after leaving: {info(conn, 'clients')['connected_clients']}")

    # ---- the whole run -----------------------------------------------------------------------

    def execute(self) -> bool:
        args = self.args
        control = Connection(self.socket_path, args.timeout)
        self.remove_leftovers(control)
        problem = verify(control)
        if problem:
            self.fail(f"DEBUG VERIFY before the run: {problem}")
            return False
        before = self.baseline(control)
        server = info(control, "server")
        if self.pid is None:
            self.pid = int(server["process_id"])
        rss_before = rss_of(self.pid) or int(before["rss_bytes"])

        ctx = multiprocessing.get_context("spawn")
        reports = ctx.Queue()
        stop, release = ctx.Event(), ctx.Event()
        cfg = dict(socket=self.socket_path, seed=args.seed, timeout=args.timeout,
                   deadline=time.time() + args.duration, max_commands=args.max_commands or 1 << 62,
                   own_heapd=self.heapd is not None, reconnect_rate=args.reconnect_rate, mix=args.mix)
        clients = list(range(args.clients))
        groups = [clients[i::args.processes] for i in range(args.processes)]
        procs = [ctx.Process(target=worker, args=(g, cfg, reports, stop, release), name=f"soak-worker-{i}",
                             daemon=True)
                 for i, g in enumerate(groups) if g]
        self.started = time.time()
        for p in procs:
            p.start()
        verifier, subscriber = Verifier(self), Subscriber(self)
        verifier.start()
        subscriber.start()

        progress = {c: 0 for c in clients}
        quiesced, done = set(), {}
        recents = {}
        last_print = time.monotonic()
        heapd_exit_at = None
        hard_deadline = time.time() + args.duration + args.timeout + 120

        def drain(until):
            nonlocal heapd_exit_at
            while not until():
                try:
                    message = reports.get(timeout=0.25)
                except queue_module.Empty:
                    message = None
                if message:
                    what, cid = message[0], message[1]
                    if what == "progress":
                        progress[cid] = message[2]
                    elif what == "failure":
                        recents.setdefault(cid, (message[3], message[4]))
                        self.fail(f"client {cid}: {message[3]}")
                        stop.set()
                    elif what == "quiesced":
                        quiesced.add(cid)
                    elif what == "done":
                        done[cid] = message[2]
                if self.heapd and heapd_exit_at is None and not self.heapd.alive():
                    heapd_exit_at = time.time() - self.started
                    self.fail(f"heapd died ({self.heapd.exit_description()})")
                    stop.set()
                if time.time() > hard_deadline:
                    self.fail("clients did not finish in time")
                    stop.set()
                    return
                nonlocal last_print
                if time.monotonic() - last_print >= args.progress:
                    last_print = time.monotonic()
                    elapsed = time.time() - self.started
                    total = sum(progress.values())
                    rss = rss_of(self.pid)
                    print(f"soak: {elapsed:6.0f} s  {total} commands ({total / max(elapsed, 1e-9):.0f}/s)  "
                          f"verify {verifier.runs}  events {sum(subscriber.events.values())}  "
                          f"objects {verifier.objects[0]} (tracked {verifier.objects[1]})"
                          + (f"  rss {rss / 2**20:.0f} MiB" if rss else ""), flush=True)

        drain(lambda: len(quiesced) == len(clients))
        verifier.halt.set()
        verifier.join(args.timeout + 5)
        quiesced_verify = None
        if not self.failures:
            # Every client has stopped and still holds all its references: each shared object's count
            # must equal the references that exist, and this is the moment they cannot move.
            quiesced_verify = verify(control)
            if quiesced_verify:
                self.fail(f"DEBUG VERIFY with every client stopped: {quiesced_verify}")
        release.set()
        hard_deadline = time.time() + args.timeout + 60
        drain(lambda: len(done) == len(clients))
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
        subscriber.halt.set()
        subscriber.join(args.timeout + 5)
        elapsed = time.time() - self.started

        diffs: dict = {}
        settings_diff: dict = {}
        final_verify = None
        heapd_alive = self.heapd.alive() if self.heapd else os.path.exists(f"/proc/{self.pid}")
        if heapd_alive:
            try:
                self.wait_for_clients_to_leave(control, int(before["connected_clients"]))
                self.remove_leftovers(control)
                self.restore(control, before)
                diffs = self.collect_to_baseline(control, before)
                if diffs:
                    self.fail("the heap did not return to its baseline: "
                              + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in diffs.items()))
                after = self.baseline(control)
                settings_diff = {k: (before[k], after[k]) for k in SETTINGS_FIELDS if before[k] != after[k]}
                if settings_diff:
                    self.fail(f"settings not restored: {settings_diff}")
                final_verify = verify(control)
                if final_verify:
                    self.fail(f"final DEBUG VERIFY: {final_verify}")
                rss_after = rss_of(self.pid) or int(after["rss_bytes"])
                self.collector_figures = {k: after[k] for k in ("gc_gen0", "gc_gen1", "gc_gen2", "gc_mark_steps")
                                          if k in after}
                control.quit()
            except ProtocolFailure as error:
                self.fail(f"after the run: {error}")
                rss_after = rss_of(self.pid)
        else:
            rss_after = None
            if not self.heapd:
                self.fail(f"heapd (pid {self.pid}) is gone")

        self.print_figures(done, elapsed, verifier, subscriber, rss_before, rss_after, heapd_exit_at, recents)
        return not self.failures

    def print_figures(self, done, elapsed, verifier, subscriber, rss_before, rss_after, heapd_exit_at, recents):
        kinds, errors, figures = collections.Counter(), collections.Counter(), collections.Counter()
        max_latency = 0.0
        for stats in done.values():
            kinds.update(stats["kinds"])
            errors.update(stats["errors"])
            figures.update(stats["figures"])
            max_latency = max(max_latency, stats["max_latency"])
        total = figures["commands"]
        args = self.args
        print(f"\nsoak figures (seed {args.seed}, {args.clients} clients in {args.processes} processes, "
              f"{elapsed:.1f} s)")
        print(f"  commands: {total} ({total / max(elapsed, 1e-9):.0f}/s) in {figures['batches']} pipelined batches"
              f" ({figures['multibulk_requests']} sent as RESP multibulk); slowest batch {max_latency * 1000:.0f} ms")
        print(f"  private ops: {figures['private_ops']}, cycles built: {figures['cycles']}, scopes pushed: "
              f"{figures['scopes']}, reconnections: {figures['reconnects']} (settle polls {figures['settle_polls']})")
        print(f"  checked at the end: {figures['private_objects_checked']} private objects, "
              f"{figures['pins_checked']} pins")
        durations = verifier.durations
        print(f"  DEBUG VERIFY during the run: {verifier.runs}"
              + (f" (mean {1000 * sum(durations) / len(durations):.0f} ms, max {1000 * max(durations):.0f} ms)"
                 if durations else ""))
        print(f"  events pushed to the subscriber: {dict(subscriber.events)}")
        for name, value in getattr(self, "collector_figures", {}).items():
            print(f"  collector {name}: {value}")
        print(f"  errors by code: {dict(sorted(errors.items(), key=lambda kv: -kv[1]))}")
        print(f"  heapd RSS: before {fmt_bytes(rss_before)}, after {fmt_bytes(rss_after)}")
        if heapd_exit_at is not None:
            print(f"  heapd died at {heapd_exit_at:.1f} s ({self.heapd.exit_description()});"
                  f" first failure at {self.first_failure_at:.1f} s")
        print("  commands by kind:")
        rows = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        width = max((len(k) for k, _ in rows), default=10)
        for i in range(0, len(rows), 3):
            print("    " + "   ".join(f"{k:<{width}} {v:>8}" for k, v in rows[i:i + 3]))
        if self.failures:
            print(f"\nsoak failures ({len(self.failures)}):")
            for text in self.failures[:12]:
                print("  " + text.replace("\n", "\n    "))
            if len(self.failures) > 12:
                print(f"  … and {len(self.failures) - 12} more")
            for cid, (text, recent) in list(recents.items())[:3]:
                print(f"\n  client {cid}'s last requests (reply after =>):")
                for cmd, reply in recent[-25:]:
                    print(f"    {cmd}  => {reply}")
                # The history of the private names the failing request used: where the model and heapd
                # parted ways is usually further back.
                names = set(re.findall(r"g\.soak_c\d+_\d+", text))
                earlier = [(c, r) for c, r in recent[:-25] if names & set(re.findall(r"g\.soak_c\d+_\d+", c))]
                if earlier:
                    print(f"  … earlier requests naming {', '.join(sorted(names))}:")
                    for cmd, reply in earlier[-30:]:
                        print(f"    {cmd}  => {reply}")
            if self.heapd:
                print("\nheapd's log (the crash report if there is one, else the last lines):")
                print(self.heapd.crash_report())


def fmt_bytes(n) -> str:
    return "?" if n is None else f"{n / 2**20:.1f} MiB"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heapd", default=".build/debug/heapd", help="heapd binary to start (default %(default)s)")
    p.add_argument("--heapctl", help="heapctl binary that reads back the images the soak saved (default: beside heapd)")
    p.add_argument("--socket", help="attach to this heapd's socket instead of starting one")
    p.add_argument("--duration", type=float, default=60, help="seconds of random mix (default %(default)s)")
    p.add_argument("--clients", type=int, default=48, help="connections in all (default %(default)s)")
    p.add_argument("--processes", type=int, default=4, help="OS processes sharing them (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; printed)")
    p.add_argument("--timeout", type=float, default=60, help="seconds a reply may take (default %(default)s)")
    p.add_argument("--verify-interval", type=float, default=3, help="seconds between DEBUG VERIFY runs")
    p.add_argument("--max-commands", type=int, default=0, help="stop each client after this many commands")
    p.add_argument("--reconnect-rate", type=float, default=0.01, help="share of turns that reconnect")
    p.add_argument("--progress", type=float, default=10, help="seconds between progress lines")
    p.add_argument("--heapd-log-level", default="warning", help="heapd's --log-level (default %(default)s)")
    p.add_argument("--keep-log", help="copy heapd's log here before its directory is removed")
    p.add_argument("--only", help="comma-separated families to draw from (to narrow down a failure): "
                   + ", ".join(name for name, _ in MIX))
    p.add_argument("--exclude", help="comma-separated families never to draw")
    p.add_argument("--weight", action="append", default=[], metavar="FAMILY=W",
                   help="draw a family with weight W instead of its default (repeatable)")
    args = p.parse_args(argv)
    known = {name for name, _ in MIX}
    only = set(args.only.split(",")) if args.only else known
    exclude = set(args.exclude.split(",")) if args.exclude else set()
    if (only | exclude) - known:
        p.error(f"unknown families {sorted((only | exclude) - known)}; known: {', '.join(sorted(known))}")
    weights = dict(MIX)
    for spec in args.weight:
        name, _, value = spec.partition("=")
        if name not in known:
            p.error(f"--weight: unknown family {name!r}")
        weights[name] = float(value)
    chosen = [(name, weights[name]) for name, _ in MIX if name in only and name not in exclude and weights[name] > 0]
    if not chosen:
        p.error("--only/--exclude leave nothing to draw")
    args.mix = ([name for name, _ in chosen], [weight for _, weight in chosen])
    if args.seed is None:
        args.seed = int(time.time()) % 100000
    args.processes = max(1, min(args.processes, args.clients))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    heapd = None
    reason = None
    try:
        if args.socket:
            socket_path = args.socket
        else:
            if not os.access(args.heapd, os.X_OK):
                print(f"soak: FAILED no heapd binary at {args.heapd} (build it, or pass --heapd/--socket)")
                return 1
            heapd = HeapdProcess(args.heapd, args.heapd_log_level)
            heapd.wait_ready(60)
            socket_path = heapd.socket
        print(f"soak: seed {args.seed}, {args.clients} clients, {args.duration:.0f} s, socket {socket_path}"
              + (f", heapd pid {heapd.pid}" if heapd else ""), flush=True)
        run = SoakRun(args, socket_path, heapd)
        try:
            ok = run.execute()
        except (ProtocolFailure, OSError) as error:
            run.fail(f"control connection: {error}")
            ok = False
        if not ok:
            reason = run.failures[0] if run.failures else "unknown"
    except KeyboardInterrupt:
        reason = "interrupted"
    except RuntimeError as error:
        reason = str(error)
    finally:
        if heapd:
            heapd.stop()
            if reason and heapd.proc.returncode not in (0, None, -signal.SIGTERM):
                print(f"heapd ended with {heapd.exit_description()}")
            heapctl = args.heapctl or os.path.join(os.path.dirname(args.heapd), "heapctl")
            if not reason and os.access(heapctl, os.X_OK):
                checked, failure = heapd.check_images(heapctl)
                print(f"images: {checked} saved by SAVE and BGSAVE read back and checked")
                reason = failure
            heapd.remove(args.keep_log)
    if reason:
        print(f"soak: FAILED {reason.splitlines()[0][:300]}")
        return 1
    print("soak: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

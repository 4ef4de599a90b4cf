#!/usr/bin/env python3
"""Differential test: CPython 3.11's ``gc`` against heapd, on seeded random programs.

Usage (from anywhere; heapd must be built: ``swift build --product heapd``)::

    python3 tests/differential/run.py                      # 300 programs, seed 1
    python3 tests/differential/run.py --programs 3000 --seed 7
    python3 tests/differential/run.py --only 1000004       # one program, by its own seed
    python3 tests/differential/run.py --without weakrefs_in_containers --with empty_tuples

What it does: starts the real heapd binary (``$HEAPD_BINARY``, default ``.build/debug/heapd`` of this
repository) on a socket in a fresh short directory under /tmp, and a CPython worker
(``cpython_side.py``); generates each program (``programs.py``), runs it on both sides, and compares
the two observations field by field: every ``gc.collect()`` return value, which program objects are
alive after each collection, ``gc.is_tracked`` and the generation of each, ``gc.is_finalized``,
whether weakrefs are dead, ``gc.garbage``, ``gc.get_stats()`` deltas, and which finalizers and
weakref callbacks ran (and the collection "stop" callbacks) between consecutive boundaries, one
before and one after every collection. A failing program is printed with its seed, its mismatches
and an op list shrunk by delta debugging (keeping a mismatch of the first mismatch's kind, or of ``--minimize-kind``).

The last line is always ``differential: P passed, F failed`` (CI greps it); the exit status is 0 only
when every program passed. heapd is killed by pid and its directory removed in every case, also on
Ctrl-C or SIGTERM. After a failing program heapd is restarted, so one bug cannot leak state into the
next program.

Why one heapd and one CPython worker for the whole run: isolation is per program on both sides (a
fresh heapd session; the CPython worker freezes everything before each program, see
``cpython_side``), stats are compared as deltas, and heapd's leak check after each program proves
nothing survived it. The worker runs a program while heapd runs the same one, so the two sides
overlap on the two cores.

heapd is restarted every ``--restart-every`` programs (100 by default): each event heapd emits
(collection start/stop, finalizer, weakref cleared) makes every later one slower. ``Heap.emit`` reads
the sink through ``LockedValue.withLock``, whose ``inout`` access to a stored closure re-wraps it in
reabstraction thunks on every call (``perf`` shows the chain of ``HeapEvent`` thunks), so
``GC COLLECT`` goes from 0.2 ms to 0.9 ms over 6000 collections and runs of thousands of programs
would take quadratic time. The restart keeps the test linear; it does not hide any semantic difference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import programs  # noqa: E402
from heapd_side import HarnessError, HeapdSide, commands_for  # noqa: E402


# -- the two processes ---------------------------------------------------------------------------


class Heapd:
    """The heapd under test, on a socket in its own temporary directory."""

    def __init__(self, binary: str) -> None:
        self.directory = tempfile.mkdtemp(prefix="hdiff.", dir="/tmp")
        # A private copy: restarts then use the same build for the whole run, even when someone
        # relinks .build/debug/heapd meanwhile (exec of a binary being written fails with ETXTBSY).
        self.binary = os.path.join(self.directory, "heapd")
        shutil.copy2(binary, self.binary)
        self.socket_path = os.path.join(self.directory, "h.sock")
        self.log_path = os.path.join(self.directory, "heapd.log")
        self.process: subprocess.Popen | None = None
        self.side: HeapdSide | None = None
        self.starts = 0

    def start(self) -> None:
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--socket", self.socket_path, "--log-level", "warning"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.starts += 1
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"heapd exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                probe.connect(self.socket_path)
                probe.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"heapd did not listen on {self.socket_path} within 20 s")
                time.sleep(0.02)
        self.side = HeapdSide(self.socket_path)

    def stop(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(log.readlines()[-lines:])
        except OSError:
            return ""

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class CPythonWorker:
    """``cpython_side.py`` in a child process: one JSON program in, one JSON observation out."""

    def __init__(self, python: str) -> None:
        self.process = subprocess.Popen(
            [python, str(HERE / "cpython_side.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def submit(self, ops: list) -> None:
        self.process.stdin.write(json.dumps(ops) + "\n")
        self.process.stdin.flush()

    def result(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the CPython worker exited with status {self.process.wait()}")
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- comparing ---------------------------------------------------------------------------------------


class Describer:
    """Names program objects in reports: 'list v3 (serial 7)'."""

    def __init__(self, ops: list) -> None:
        self.names = {}
        self.kinds = {}
        for op in ops:
            if op[0] in programs.CONTAINER_KINDS:
                kind = op[0]
                if kind == "obj":
                    kind = "NodeDel instance" if op[3] else "Node instance"
                if op[0] == "tuple" and not op[3]:
                    kind = "empty tuple"
                self.names[op[2]] = f"{kind} {op[1]} (serial {op[2]})"
                self.kinds[op[2]] = "tuple0" if op[0] == "tuple" and not op[3] else op[0]

    def __call__(self, serial: int) -> str:
        if serial == -1:
            return "an object the program did not create"
        return self.names.get(serial, f"serial {serial}")


def _collection_text(op: list) -> str:
    return f"gc.collect({op[1]})" if op[0] == "collect" else "an automatic collection"


def describe_token(describe):
    """A probe token for people: a serial described as elsewhere, other tokens as they are."""
    return lambda token: describe(token) if isinstance(token, int) else str(token)


def compare(ops: list, cpython: dict, heapd: dict) -> list[tuple[str, str]]:
    """The differences between the two observations, as (kind, description), in program order."""
    if "error" in cpython:
        return [("harness", f"CPython side failed: {cpython['error']}")]
    if "error" in heapd:
        return [("heapd-error", heapd["error"])]
    describe = Describer(ops)
    out: list[tuple[str, str]] = []
    cps, hps = cpython["checkpoints"], heapd["checkpoints"]
    if len(cps) != len(hps):
        return [("harness", f"{len(cps)} checkpoints in CPython, {len(hps)} in heapd")]
    for number, (c, h) in enumerate(zip(cps, hps)):
        label = f"checkpoint {number} (op {c['op']}: {_collection_text(ops[c['op']])})"
        if c["ret"] != h["ret"]:
            out.append(("return", f"{label}: gc.collect() returned {c['ret']} in CPython, {h['ret']} in heapd"))
        crows = {row[0]: row for row in c["alive"]}
        hrows = {row[0]: row for row in h["alive"]}
        for serial in sorted(set(crows) | set(hrows)):
            what = describe(serial)
            if describe.kinds.get(serial) == "tuple0" and not (serial in crows and serial in hrows):
                continue  # CPython's () is an immortal singleton: only its tracking compares
            if serial not in hrows:
                out.append(("alive", f"{label}: {what} is alive in CPython, freed in heapd"))
                continue
            if serial not in crows:
                out.append(("alive", f"{label}: {what} is freed in CPython, alive in heapd"))
                continue
            _, ctracked, cgen, cfin, cdead = crows[serial]
            _, htracked, hgen, hfin, hdead = hrows[serial]
            if ctracked != htracked:
                out.append(("tracked", f"{label}: gc.is_tracked({what}) is {ctracked} in CPython, {htracked} in heapd"))
            elif cgen != hgen:
                out.append(("generation", f"{label}: {what} is in generation {cgen} in CPython, {hgen} in heapd"))
            if cfin != hfin:
                out.append(("finalized", f"{label}: gc.is_finalized({what}) is {cfin} in CPython, {hfin} in heapd"))
            if cdead != hdead:
                out.append(("weakref", f"{label}: {what} reads {'None' if cdead else 'its referent'} in CPython, "
                                       f"{'None' if hdead else 'its referent'} in heapd"))
        if c["garbage"] != h["garbage"]:
            out.append(("garbage", f"{label}: gc.garbage holds [{', '.join(map(describe, c['garbage']))}] in CPython, "
                                   f"[{', '.join(map(describe, h['garbage']))}] in heapd"))
        if c["stats"] != h["stats"]:
            out.append(("stats", f"{label}: gc.get_stats() deltas [collections, collected, uncollectable] per "
                                 f"generation are {c['stats']} in CPython, {h['stats']} in heapd"))
        if c.get("counts") != h.get("counts"):
            out.append(("counts", f"{label}: gc.get_count()[1:] is {c.get('counts')} in CPython, "
                                  f"{h.get('counts')} in heapd"))
        if h.get("foreign"):
            out.append(("foreign", f"{label}: heapd tracks objects the program never created: "
                                   f"{', '.join('#' + str(i) for i in h['foreign'])}"))
    cprobes, hprobes = cpython.get("probes", []), heapd.get("probes", [])
    if len(cprobes) != len(hprobes):
        out.append(("harness", f"{len(cprobes)} probes in CPython, {len(hprobes)} in heapd"))
    for c, h in zip(cprobes, hprobes):
        if c["value"] != h["value"]:
            op = ops[c["op"]]
            out.append(("probe-" + op[0], f"op {c['op']}: gc.get_{op[0]}({op[1]}) is "
                                          f"[{', '.join(map(describe_token(describe), c['value']))}] in CPython, "
                                          f"[{', '.join(map(describe_token(describe), h['value']))}] in heapd"))
    collects = [i for i, op in enumerate(ops) if op[0] in ("collect", "auto")]
    cbs, hbs = cpython["buckets"], heapd["buckets"]
    if len(cbs) != len(hbs):
        return out + [("harness", f"{len(cbs)} event buckets in CPython, {len(hbs)} in heapd")]
    for number, (c, h) in enumerate(zip(cbs, hbs)):
        collect_op = collects[number // 2]
        during = number % 2 == 1
        if during:
            label = f"during op {collect_op} ({_collection_text(ops[collect_op])})"
        else:
            first = collects[number // 2 - 1] + 1 if number >= 2 else 0
            label = f"ops {first}..{collect_op - 1}" if first < collect_op else f"before op {collect_op}"
        prefix = "collect-" if during else ""
        if c["fin"] != h["fin"]:
            out.append((prefix + "finalizers", f"{label}: __del__ ran for [{', '.join(map(describe, c['fin']))}] in CPython, "
                                      f"[{', '.join(map(describe, h['fin']))}] in heapd"))
        if c["wr"] != h["wr"]:
            out.append((prefix + "weakref-callbacks", f"{label}: weakref callbacks ran for [{', '.join(map(describe, c['wr']))}] "
                                             f"in CPython, [{', '.join(map(describe, h['wr']))}] in heapd"))
        if c["cb"] != h["cb"]:
            out.append(("callbacks", f"{label}: gc.callbacks 'stop' infos [generation, collected, uncollectable] "
                                     f"are {c['cb']} in CPython, {h['cb']} in heapd"))
        if during and c["fin"] == h["fin"] and c["wr"] == h["wr"] and c["order"] != h["order"]:
            out.append(("event-order", f"{label}: weakref callbacks (w) and finalizers (f) ran in the order "
                                       f"{c['order']!r} in CPython, {h['order']!r} in heapd"))
    if heapd.get("leaked"):
        out.append(("leak", f"after the epilogue heapd holds {heapd['leaked']} more objects than before the program"))
    return out


# -- running and minimizing ------------------------------------------------------------------------------


class Runner:
    def __init__(self, heapd: Heapd, worker: CPythonWorker) -> None:
        self.heapd = heapd
        self.worker = worker

    def check(self, body: list) -> list[tuple[str, str]]:
        """Runs `body` plus its epilogue on both sides; returns the mismatches. heapd is restarted
        after any mismatch, so that a failing program leaves nothing behind for the next one."""
        ops = programs.with_epilogue(body)
        self.worker.submit(ops)
        try:
            heapd = self.heapd.side.run_program(ops)
        except (HarnessError, OSError) as error:
            detail = str(error)
            if not self.heapd.alive():
                detail += f" (heapd died; log tail:\n{self.heapd.log_tail()})"
            heapd = {"error": f"heapd: {detail}"}
        cpython = self.worker.result()
        mismatches = compare(ops, cpython, heapd)
        if mismatches:
            self.heapd.restart()
        return mismatches

    def minimize(self, body: list, kind: str, seconds: float) -> list:
        """Delta debugging (ddmin) over the ops: the smallest valid program found within `seconds`
        whose first mismatch is still of `kind`."""
        deadline = time.monotonic() + seconds

        def fails(candidate: list) -> bool:
            if not programs.validate(candidate):
                return False
            return any(found_kind == kind for found_kind, _ in self.check(candidate))

        chunks = 2
        while len(body) >= 1 and time.monotonic() < deadline:
            size = max(1, len(body) // chunks)
            reduced = False
            for start in range(0, len(body), size):
                if time.monotonic() >= deadline:
                    break
                candidate = body[:start] + body[start + size:]
                if fails(candidate):
                    body = candidate
                    chunks = max(chunks - 1, 2)
                    reduced = True
                    break
            if not reduced:
                if size == 1:
                    break
                chunks = min(len(body), chunks * 2)
        return body


def report(seed: int | None, body: list, mismatches: list, runner: Runner | None, args, brief: bool) -> None:
    head = f"seed {seed}" if seed is not None else "program"
    if brief:
        print(f"FAIL {head} ({len(body)} ops): {len(mismatches)} mismatch(es); first: {mismatches[0][1]}")
        return
    print(f"FAIL {head} ({len(body)} ops): {len(mismatches)} mismatch(es)")
    for _, text in mismatches[: args.show]:
        print(f"  - {text}")
    if len(mismatches) > args.show:
        print(f"  … {len(mismatches) - args.show} more")
    if runner is not None:
        kinds = [kind for kind, _ in mismatches]
        kind = args.minimize_kind if args.minimize_kind in kinds else kinds[0]
        small = runner.minimize(body, kind, args.minimize_seconds)
        found = runner.check(small)
        print(f"  minimized to {len(small)} ops (still with a {kind!r} mismatch):")
        full = programs.with_epilogue(small)
        print("    # Python (the epilogue after '# --' deletes every variable, empties gc.garbage, collects)")
        for line in programs.format_python(small).splitlines():
            print(f"    {line}")
        print("    # --")
        for line in programs.format_python(full[len(small):]).splitlines():
            print(f"    {line}")
        print("    # heapd commands")
        for op in full:
            for command in commands_for(op):
                print(f"    {command}")
        print("    # mismatches of the minimized program")
        for _, text in found[: args.show]:
            print(f"    - {text}")
    else:
        print(f"  (not minimized; rerun with: {Path(sys.argv[0]).name} --only {seed})")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=300, help="number of programs (default 300)")
    parser.add_argument("--seed", type=int, default=1, help="base seed of the run (default 1)")
    parser.add_argument("--only", type=int, action="append", default=[], metavar="SEED",
                        help="run just the program of this seed (as printed on failure); repeatable")
    parser.add_argument("--min-ops", type=int, default=20)
    parser.add_argument("--max-ops", type=int, default=200)
    parser.add_argument("--without", action="append", default=[], metavar="FEATURE",
                        help="turn a generator feature off: " + ", ".join(programs.Features.__dataclass_fields__))
    parser.add_argument("--with", dest="with_", action="append", default=[], metavar="FEATURE",
                        help="turn a generator feature on (e.g. empty_tuples)")
    parser.add_argument("--minimize", type=int, default=3, metavar="N",
                        help="minimize the first N failing programs (default 3; 0 = none)")
    parser.add_argument("--minimize-seconds", type=float, default=60.0, help="time budget per minimization")
    parser.add_argument("--minimize-kind", metavar="KIND",
                        help="shrink towards a mismatch of this kind when the program has one (return, alive, "
                             "tracked, generation, finalized, weakref, garbage, stats, counts, probe-referents, "
                             "probe-referrers, foreign, finalizers, "
                             "weakref-callbacks (both: during ops; collect-finalizers, collect-weakref-callbacks: "
                             "during a collection), callbacks, event-order, leak); default: the first mismatch's kind")
    parser.add_argument("--only-failing-kind", metavar="KIND",
                        help="count a program as failed only if it has a mismatch of this kind (for triage; "
                             "never in CI)")
    parser.add_argument("--show", type=int, default=8, help="mismatches printed per failing program")
    parser.add_argument("--details", type=int, default=20, metavar="N",
                        help="print the first N failing programs in full, the rest on one line each (default 20)")
    parser.add_argument("--heapd", default=os.environ.get("HEAPD_BINARY") or str(HERE / "../../.build/debug/heapd"),
                        help="heapd binary (default: $HEAPD_BINARY, else .build/debug/heapd)")
    parser.add_argument("--python", default=shutil.which("python3.11") or "python3",
                        help="the CPython 3.11 to compare with (default python3.11, else python3)")
    parser.add_argument("--restart-every", type=int, default=100, metavar="N",
                        help="restart heapd every N programs (default 100; 0 = never). heapd gets slower with "
                             "every event it has emitted (see the module docstring), so long runs would "
                             "otherwise grow quadratically")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()

    binary = os.path.abspath(args.heapd)
    if not os.access(binary, os.X_OK):
        print(f"no heapd binary at {binary}; build it with: swift build --product heapd", file=sys.stderr)
        print("differential: 0 passed, 1 failed")
        return 2
    features = programs.Features.parse(args.without, args.with_)
    seeds = args.only or [programs.program_seed(args.seed, i) for i in range(args.programs)]

    def terminate(signum, frame):  # so that `finally` runs on SIGTERM too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)  # also when started in the background (SIGINT ignored)
    passed = failed = 0
    kinds: dict[str, int] = {}
    started = time.monotonic()
    heapd = None
    worker = None
    try:
        heapd = Heapd(binary)
        heapd.start()
        worker = CPythonWorker(args.python)
        runner = Runner(heapd, worker)
        for number, seed in enumerate(seeds):
            if args.restart_every and number and number % args.restart_every == 0:
                heapd.restart()
            body = programs.generate(seed, features, args.min_ops, args.max_ops)
            mismatches = runner.check(body)
            if args.only_failing_kind and all(kind != args.only_failing_kind for kind, _ in mismatches):
                mismatches = []
            if mismatches:
                failed += 1
                for kind, _ in mismatches:
                    kinds[kind] = kinds.get(kind, 0) + 1
                minimize = failed <= args.minimize and mismatches[0][0] not in ("harness",)
                report(seed, body, mismatches, runner if minimize else None, args, brief=failed > args.details)
            else:
                passed += 1
            if not args.quiet and (number + 1) % 100 == 0:
                print(f"… {number + 1}/{len(seeds)} programs, {failed} failed, "
                      f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        failed += 1
    except (Exception, SystemExit) as error:  # still end with the summary line
        print(f"differential test aborted: {type(error).__name__}: {error}", file=sys.stderr)
        failed += 1
    finally:
        if worker is not None:
            worker.stop()
        if heapd is not None:
            heapd.cleanup()
    if kinds:
        print("mismatch kinds: " + ", ".join(f"{kind} {count}" for kind, count in
                                             sorted(kinds.items(), key=lambda item: -item[1])))
    if not args.quiet:
        starts = heapd.starts if heapd is not None else 0
        print(f"{passed + failed} programs in {time.monotonic() - started:.1f} s "
              f"(heapd started {starts} time(s))", file=sys.stderr)
    print(f"differential: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Big-garbage stress: the collector's parallel free under concurrent clients.

The soak's heaps stay small (about a thousand objects), so a full collection there never frees the
32,768 objects or more that make it free on two threads (docs/002-collector.md, "Freeing"). Here one
client builds cycles of 40,000 lists (with tuples, weakrefs and finalizers among them) and collects
them with GC COLLECT, three clients build and collect small cycles meanwhile, and one runs DEBUG
VERIFY from the side. It starts its own heapd (the binary given), stops it by pid at the end (also on
failure), and checks that every verify passed, every reply was well formed, heapd exited 0 and left
no object. Ends with "big-garbage stress: OK" or "big-garbage stress: FAILED <reason>".

usage: big_garbage.py --heapd PATH [--seconds 20]
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "soak"))
from resp import Connection, RespError  # noqa: E402

NODES = 40_000


def builder(path, stop, report):
    conn = Connection(path, timeout=120)
    rounds = 0
    while not stop.is_set():
        lines = ["NEW head list", "SET cur head"]
        for index in range(NODES):
            lines += ["NEW nxt list", "APPEND cur nxt", "SET cur nxt"]
            if index % 5_000 == 0:
                lines += ["NEW t tuple cur head", "APPEND cur t", "WEAKREF w cur", "FINALIZER cur"]
        lines += ["APPEND cur head", "DEL head cur nxt t w"]
        replies = conn.call(lines)
        bad = [reply for reply in replies if isinstance(reply, RespError)]
        if bad:
            report.append(f"builder: error reply {bad[0]!r}")
            return
        # Collected by this GC COLLECT or by an automatic collection in between: either way none of
        # the cycle may be left once a full collection has run.
        collected = conn.call1("GC COLLECT")
        if not isinstance(collected, int):
            report.append(f"builder: GC COLLECT replied {collected!r}")
            return
        rounds += 1
    conn.quit()
    report.append(("rounds", rounds))


def mutator(path, stop, report, index):
    conn = Connection(path, timeout=120)
    while not stop.is_set():
        lines = [f"NEW a{i} list" for i in range(50)]
        lines += [f"APPEND a{i} a{(i + 1) % 50}" for i in range(50)]
        lines += ["DEL " + " ".join(f"a{i}" for i in range(50)), "GC COLLECT 0"]
        replies = conn.call(lines)
        bad = [reply for reply in replies if isinstance(reply, RespError)]
        if bad:
            report.append(f"mutator {index}: error reply {bad[0]!r}")
            return
    conn.quit()


def verifier(path, stop, report):
    conn = Connection(path, timeout=120)
    runs = 0
    while not stop.is_set():
        reply = conn.call1("DEBUG VERIFY")
        if not (isinstance(reply, str) and reply.startswith("OK")):
            report.append(f"DEBUG VERIFY replied {reply!r}")
            return
        runs += 1
        time.sleep(0.1)
    conn.quit()
    report.append(("verifies", runs))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--heapd", required=True)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="heapd-big-garbage.")
    path = os.path.join(folder, "heapd.sock")
    log_path = os.path.join(folder, "heapd.log")
    log = open(log_path, "w")
    heapd = subprocess.Popen([args.heapd, "--socket", path], stdout=log, stderr=subprocess.STDOUT)
    failure = None
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if heapd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("heapd did not start")
            time.sleep(0.05)
        stop = threading.Event()
        report = []
        threads = [threading.Thread(target=builder, args=(path, stop, report))]
        threads += [threading.Thread(target=mutator, args=(path, stop, report, k)) for k in range(3)]
        threads += [threading.Thread(target=verifier, args=(path, stop, report))]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
        # The small cycles a mutator left with `GC COLLECT 0` may sit in an older generation (an
        # automatic young collection moved them while they were still named): one full collection,
        # then nothing may be left.
        closing = Connection(path, timeout=300)
        final = closing.call1("GC COLLECT")
        if not isinstance(final, int):
            report.append(f"the closing GC COLLECT replied {final!r}")
        closing.quit()
        figures = dict(item for item in report if isinstance(item, tuple))
        errors = [item for item in report if isinstance(item, str)]
        if errors:
            failure = errors[0]
        elif figures.get("rounds", 0) == 0:
            failure = "the builder finished no round"
        print(f"big-garbage stress: {figures.get('rounds', 0)} rounds of {NODES} objects freed, "
              f"DEBUG VERIFY {figures.get('verifies', 0)} times")
    except Exception as error:  # noqa: BLE001 - any failure ends the run with its reason
        failure = f"{type(error).__name__}: {error}"
    finally:
        if heapd.poll() is None:
            heapd.send_signal(signal.SIGTERM)
        try:
            code = heapd.wait(timeout=60)
        except subprocess.TimeoutExpired:
            heapd.kill()
            code = heapd.wait()
        log.close()
        text = open(log_path, errors="replace").read()
        if failure is None and code != 0:
            failure = f"heapd exited with {code}"
        if failure is None and "objects_left=0" not in text:
            failure = "heapd did not stop with objects_left=0"
        if failure is not None:
            sys.stdout.write(text[-4000:])
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    print("big-garbage stress: OK" if failure is None else f"big-garbage stress: FAILED {failure}")
    return 0 if failure is None else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the oracle itself: does ``cpython_side`` observe what plain CPython does?

``cpython_side`` instruments programs (a hidden marker in every container, a frozen variable table,
class keys seeded at import, ``weakref.ref`` subclassed, one worker process for many programs). Each
of these is argued sound in its docstring; this script tests the claim. For each random program it
runs, in a fresh ``python3`` process, the plain Python the program stands for
(``programs.format_python``: module-level variables, plain lists, dicts, tuples, ``weakref.ref``, a
no-op ``__del__``) and compares, collection by collection, ``gc.collect()``'s return value,
``len(gc.garbage)`` and ``gc.get_stats()``, plus ``gc.is_tracked`` of every variable, with what the
instrumented executor reports. No heapd is involved.

Usage: ``python3 tests/differential/selfcheck.py [--programs 200] [--seed 1]``; the last line is
``selfcheck: P passed, F failed``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import programs  # noqa: E402

PRELUDE = '''\
import _testcapi, gc, json, re, weakref
class Node: pass
class NodeDel:
    def __del__(self): pass
@_testcapi.with_tp_del
class NodeLegacy:
    def __tp_del__(self): pass
def callback(ref): pass
for _cls in (Node, NodeDel, NodeLegacy):  # as cpython_side does: every attribute name in the class keys
    _seed = _cls()
    for _name in ("a", "b", "c", "d"):
        setattr(_seed, _name, None)
del _cls, _seed, _name
_started = [0]
def _count_starts(phase, info):
    if phase == "start":
        _started[0] += 1
gc.callbacks.append(_count_starts)
def auto():  # one automatic collection, as cpython_side's _auto
    _started[0] = 0
    gc.set_threshold(1)
    gc.enable()
    first = dict()
    if not _started[0]:
        second = dict()
    gc.disable()
    assert _started[0] == 1
def break_garbage():  # empty every object of gc.garbage (order is irrelevant to what is compared)
    for obj in gc.garbage:
        if type(obj) in (list, dict, set):
            obj.clear()
        elif type(obj) in (Node, NodeDel, NodeLegacy):
            for name in ("a", "b", "c", "d"):
                if hasattr(obj, name):
                    delattr(obj, name)
_out = []  # results as JSON strings: nothing tracked outlives a check (automatic collections see it)
re.match(r"v[0-9]+$", "v0")  # compiles and caches the pattern now, so that it is frozen with the rest
gc.disable(); gc.set_threshold(700, 10, 10); gc.collect(); gc.freeze(); gc.collect()
_base = json.dumps(gc.get_stats())
'''

#: Per collection: [return value, len(gc.garbage), stats deltas,
#: sorted [variable, is_tracked, generation or None]].
CHECK = '''\
_ret = {call}
_gens = {{id(o): g for g in range(3) for o in gc.get_objects(g)}}
_out.append(json.dumps([_ret, len(gc.garbage),
             [[s["collections"] - b["collections"], s["collected"] - b["collected"],
               s["uncollectable"] - b["uncollectable"]] for s, b in zip(gc.get_stats(), json.loads(_base))],
             sorted([k, gc.is_tracked(v), _gens.get(id(v)) if gc.is_tracked(v) else None]
                    for k, v in list(globals().items()) if re.match(r"v[0-9]+$", k))]))
del _gens, _ret
'''


def plain_program(ops: list) -> str:
    lines = [PRELUDE.replace("import gc,", "import re, gc,")]
    for line in programs.format_python(ops).splitlines():
        match = re.match(r"gc\.collect\((\d)\)", line)
        if match:
            lines.append(CHECK.format(call=f"gc.collect({match.group(1)})"))
        elif line.startswith("auto()"):
            lines.append(CHECK.format(call="auto()"))
        else:
            lines.append(line)
    lines.append("gc.set_debug(0)\nprint(json.dumps([json.loads(entry) for entry in _out]))\n")
    return "\n".join(lines)


def oracle_view(ops: list, observation: dict) -> list:
    """The same fields, from cpython_side's observation (variables' tracking replayed on the model)."""
    model = programs.Model()
    alive_by_checkpoint = iter(observation["checkpoints"])
    view = []
    for op in ops:
        model.apply(op)
        if op[0] not in ("collect", "auto"):
            continue
        checkpoint = next(alive_by_checkpoint)
        rows = {row[0]: row for row in checkpoint["alive"]}
        variables = sorted(
            [name, rows[serial][1], rows[serial][2]] if serial in rows else [name, False, None]
            for name, serial in model.vars.items())
        view.append([checkpoint["ret"], len(checkpoint["garbage"]), checkpoint["stats"], variables])
    return view


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--python", default="python3")
    parser.add_argument("--only", type=int, action="append", default=[], metavar="SEED",
                        help="check just the program of this seed; repeatable")
    parser.add_argument("--without", action="append", default=[], metavar="FEATURE")
    parser.add_argument("--with", dest="with_", action="append", default=[], metavar="FEATURE")
    args = parser.parse_args()
    worker = subprocess.Popen([args.python, str(HERE / "cpython_side.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    features = programs.Features.parse(args.without, args.with_)
    passed = failed = 0
    try:
        seeds = args.only or [programs.program_seed(args.seed, index) for index in range(args.programs)]
        for seed in seeds:
            ops = programs.with_epilogue(programs.generate(seed, features))
            worker.stdin.write(json.dumps(ops) + "\n")
            worker.stdin.flush()
            plain = subprocess.run([args.python, "-c", plain_program(ops)], capture_output=True, text=True)
            observation = json.loads(worker.stdout.readline())
            if plain.returncode != 0 or "error" in observation:
                failed += 1
                print(f"FAIL seed {seed}: {plain.stderr.strip()[-500:] or observation.get('error')}")
                continue
            expected = json.loads(plain.stdout)
            got = oracle_view(ops, observation)
            if expected == got:
                passed += 1
                continue
            failed += 1
            print(f"FAIL seed {seed}: the instrumented executor disagrees with plain CPython")
            for number, (want, have) in enumerate(zip(expected, got)):
                if want != have:
                    print(f"  collection {number}: plain {want}\n  {'':15}oracle {have}")
                    break
    finally:
        worker.stdin.close()
        worker.wait()
    print(f"selfcheck: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

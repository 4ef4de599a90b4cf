"""Runs a differential-test program in CPython 3.11 and records what its ``gc`` module observes.

This is the oracle half of the differential test (``run.py`` starts it as a worker process and sends
it one JSON program per line; it answers one JSON observation per line). The program format is in
``programs.py``; the observation format is shared with ``heapd_side.py``:

``{"checkpoints": [checkpoint…], "buckets": [bucket…], "probes": [probe…], "leaked": 0}``

- a *checkpoint* is taken right after every ``gc.collect(g)`` op and every ``auto`` op (an automatic
  collection, see ``auto`` below):
  ``{"op": index, "ret": gc.collect's return value (None for auto), "alive": [[serial, tracked,
  generation, finalized, dead]…], "garbage": sorted serials in gc.garbage, "stats": gc.get_stats()
  deltas, "counts": gc.get_count()[1:]}`` (count0 is left out: CPython does not count lists, dicts and
  tuples reused from its free lists, so it depends on the interpreter's history, not the program).
  ``alive`` lists every container the program created that is still alive (lists, tuples, dicts,
  sets, instances, weak references), with ``gc.is_tracked``, the generation ``gc.get_objects(g)``
  lists it in (None when untracked), ``gc.is_finalized`` for instances with ``__del__`` (else None)
  and, for weak references, whether the referent is gone (else None);
- a *bucket* is what happened between two boundaries, one before and one after every collection:
  ``{"fin": sorted serials whose __del__ ran, "wr": sorted serials of weakrefs whose callback ran,
  "order": the run-length-collapsed sequence of "w"/"f" events, "cb": [[generation, collected,
  uncollectable]…] from gc.callbacks' "stop" phase}``;
- a *probe* is the answer to a ``referents``/``referrers`` op: ``{"op": index, "value": [token…]}``,
  a token being the serial of a program container, ``"int"``/``"str"`` for an atom, ``"type"`` for an
  instance's class (heapd: its class-name str); in ``gc.get_referents`` order for lists, tuples and
  dicts, sorted otherwise.

Isolation (one worker runs many programs): before each program the worker empties ``gc.garbage``,
runs a full collection and calls ``gc.freeze()``, which moves every tracked object into the permanent
generation that collections never examine; it then checks that ``gc.get_objects()`` is empty, and runs
one more full collection so that the long-lived counts of ``collect_generations`` start from zero, as
heapd's do. Automatic collection is off except inside an ``auto`` op. So each program's collections see
only the objects it creates; the executor's own bookkeeping (the variable table, registries, result
lists) is created before the freeze, and what it creates during the program is either untracked (the
results are kept as JSON strings) or dead before the next collection, so it is never counted, never
moves between generations, and never changes the long-lived counts that decide automatic full
collections. It creates no cyclic garbage and raises no exceptions (tracebacks would create frames).

An automatic collection (``auto``) is compared soundly although CPython collects inside an allocation
and heapd after the allocating command: the collection is triggered by an allocation outside the
program, of an untracked object (``dict()``, counted and never tracked, on both sides), with threshold
0 lowered to 1 so that one or two such allocations pass it whatever count0 is; so it happens at the
same point of the program on both sides and examines the same objects, and which generation it collects
depends only on count1, count2, the thresholds and the long-lived counts, which both sides keep alike.
heapd's side waits for it with ``GC WAIT``.

How liveness is observed without keeping objects alive (the crux of this side):

- ``id()`` values are reused after a free, and lists, dicts and tuples do not support weak
  references, so every container the program creates carries a hidden *marker*: a fresh code object
  (``code.replace(co_name=…)``), at index 0 of a list, last in a tuple, under the key ``MARKER_KEY``
  in a dict, as an element of a set, as the attribute ``_m`` of an instance (whose ``_s`` attribute
  holds its serial, for ``__del__``). Code objects are not GC objects, so a marker is invisible to the
  collector: it does not make a dict or tuple trackable and is never counted. The registry holds every
  marker of the program (so its id is never reused) and a container is alive iff its marker has a
  reference besides the registry's (``sys.getrefcount``): the container's. A weakref to the marker
  would do too, but it would be a tracked object made during the program, which the long-lived counts
  of automatic collections would see.
- Why not weakrefs to the instances and sets themselves: a collection clears the weakrefs to every
  unreachable object *even under DEBUG_SAVEALL*, when the object itself survives in ``gc.garbage``.
- A tracked container is found by scanning ``gc.get_objects(g)`` for its marker (which also gives its
  generation); a container whose marker is alive but which is in no generation list is alive and
  untracked. Programs never see the markers: list indices are shifted by one, ``clear`` keeps the
  marker, instances only get and set the attributes ``a``-``d``.
- weak references are instances of ``WRef``, a ``weakref.ref`` subclass with a ``serial`` slot
  (always tracked, like ``weakref.ref``); they are found by the same scan.

``__del__``, ``__tp_del__`` (a real legacy ``tp_del``, made by ``_testcapi.with_tp_del``) and weakref
callbacks only append integers to a list (no GC allocation, no resurrection), so finalizers cannot
perturb the collection they run in.
"""

from __future__ import annotations

import _testcapi
import gc
import json
import signal
import sys
import weakref

MARKER_KEY = "__heapd_differential_marker__"
_MARKER_TEMPLATE = compile("None", "<heapd-differential-marker>", "eval")
_CODE_TYPE = type(_MARKER_TEMPLATE)

#: Events, as integers so that logging them allocates nothing the collector tracks:
#: 2*serial for a finalizer, 2*serial+1 for a weakref callback.
_events: list = []
#: gc.callbacks "stop" phases, flattened: generation, collected, uncollectable.
_callbacks: list = []
#: Collections started since an ``auto`` op reset it (gc.callbacks "start" phases).
_started = [0]


class Node:
    """A plain instance: attributes kept inline (3.11), weak-referenceable."""


class NodeDel:
    """An instance whose class has a finalizer (``__del__``, PEP 442). Same layout as Node."""

    def __del__(self):
        _events.append(self._s * 2)


@_testcapi.with_tp_del
class NodeLegacy:
    """An instance whose class has a legacy finalizer (a real ``tp_del`` slot, as C extensions had
    before PEP 442): a cycle through it is uncollectable. Same layout as Node."""

    def __tp_del__(self):
        _events.append(self._s * 2)


class WRef(weakref.ref):
    """A program's weak reference: knows its serial, for callbacks and the checkpoint scan."""

    __slots__ = ("serial", "_m")


def _seed_shared_keys(cls):
    """Puts every attribute name programs use into the class's shared keys, once, at import.

    CPython 3.11 keeps an instance's attributes inline only for names in its class's shared keys,
    and a class stops adding names to them after about 30 instances (``dk_usable`` shrinks by one
    per instance created). An instance that later sets a name no earlier instance used gets a real
    ``__dict__``, which the collector then counts: a cycle of two such instances is 4 objects, not 2.
    heapd models instances as always inline, so the worker, which creates many instances over many
    programs, registers the names on the first instance of each class.
    """
    seed = cls.__new__(cls)
    seed._s = 0
    seed._m = None
    for name in ("a", "b", "c", "d"):
        setattr(seed, name, None)
    if cls is not Node:
        seed.__class__ = Node  # let it die without running (or logging) its finalizer
    del seed


_seed_shared_keys(Node)
_seed_shared_keys(NodeDel)
_seed_shared_keys(NodeLegacy)


def _weakref_callback(ref):
    _events.append(ref.serial * 2 + 1)


def _gc_callback(phase, info):
    if phase == "start":
        _started[0] += 1
    elif phase == "stop":
        _callbacks.append(info["generation"])
        _callbacks.append(info["collected"])
        _callbacks.append(info["uncollectable"])


def _auto():
    """One automatic collection, at this point of the program (see the module docstring): threshold 0
    goes to 1, and one or two untracked allocations pass it. Called as a plain function (no bound
    method or argument tuple alive during the collection). Returns how many collections started."""
    _started[0] = 0
    gc.set_threshold(1)
    gc.enable()
    first = dict()
    if not _started[0]:
        second = dict()
    gc.disable()
    first = second = None
    return _started[0]


class Program:
    """Executes one program's ops. Every handler keeps no reference in a local after it returns, so
    the only references to program objects are the variable table and the objects themselves."""

    def __init__(self):
        #: The program's variables. They must be roots *outside* the collected generations, as
        #: heapd's session variables (and a function's locals, or an old module's globals) are: a
        #: young dict holding them would make every variable reference an internal one, and CPython
        #: would visit objects in another order (move_unreachable moves objects with gc_refs == 0
        #: behind the ones that reach them), which changes e.g. which nested tuples get untracked.
        #: So the dict is made tracked (an empty dict is not) and then frozen with everything else
        #: by run_program's gc.freeze(); a frozen dict stays frozen when items are added to it.
        self.env = {"": []}
        #: serial -> kind, for every container created
        self.kinds = {}
        #: serial -> the container's marker (every kind but weakref), held for the whole program
        self.markers = {}
        #: id(marker) -> serial
        self.marker_serial = {}
        self.finalizable = set()
        self.empty_tuples = set()
        #: serial -> [finalized, weakref reads None] of every program object gc.freeze() moved to the
        #: permanent generation, which gc.get_objects() does not list (until unfreeze)
        self.frozen = {}
        #: results, as JSON strings (untracked: see the module docstring)
        self.checkpoints = []
        self.buckets = []
        self.probes = []
        self.stats0 = None

    # -- creation ------------------------------------------------------------------------------

    def _marker(self, serial, kind):
        """A new marker for container `serial` (the caller stores it in the container at once)."""
        marker = _MARKER_TEMPLATE.replace(co_name=f"m{serial}")
        self.kinds[serial] = kind
        self.markers[serial] = marker
        self.marker_serial[id(marker)] = serial
        return marker

    def _alive(self, serial):
        """Whether the container of `serial` lives: its marker has a reference besides the registry's
        (the two counted here are the registry's and getrefcount's argument)."""
        return sys.getrefcount(self.markers[serial]) > 2

    def op_int(self, var, serial, value):
        self.env[var] = int(str(value))

    def op_str(self, var, serial, value):
        self.env[var] = "".join([value])

    def op_list(self, var, serial, items):
        env = self.env
        new = [self._marker(serial, "list")]
        for name in items:
            new.append(env[name])
        env[var] = new

    def op_tuple(self, var, serial, items):
        env = self.env
        if not items:
            # CPython's () is a singleton (untracked, never freed): nothing to register.
            self.empty_tuples.add(serial)
            env[var] = tuple(items)
            return
        parts = [env[name] for name in items]
        parts.append(self._marker(serial, "tuple"))
        env[var] = tuple(parts)

    def op_dict(self, var, serial):
        new = {}
        new[MARKER_KEY] = self._marker(serial, "dict")
        self.env[var] = new

    def op_set(self, var, serial, items):
        env = self.env
        new = {self._marker(serial, "set")}
        for name in items:
            new.add(env[name])
        env[var] = new

    def op_obj(self, var, serial, fin):
        new = NodeLegacy() if fin == "legacy" else NodeDel() if fin else Node()
        new._s = serial
        new._m = self._marker(serial, "obj")
        if fin is True:
            self.finalizable.add(serial)
        self.env[var] = new

    def op_weakref(self, var, serial, target):
        new = WRef(self.env[target], _weakref_callback)
        new.serial = serial
        new._m = self._marker(serial, "weakref")
        self.env[var] = new

    # -- mutation ------------------------------------------------------------------------------

    @staticmethod
    def _list_index(index):
        """Program index -> index in the real list (whose item 0 is the marker)."""
        return index + 1 if index >= 0 else index

    def op_append(self, lvar, item):
        self.env[lvar].append(self.env[item])

    def op_lset(self, lvar, index, item):
        self.env[lvar][self._list_index(index)] = self.env[item]

    def op_ldel(self, lvar, index):
        del self.env[lvar][self._list_index(index)]

    def op_pop(self, var, lvar, index):
        self.env[var] = self.env[lvar].pop(self._list_index(index))

    def op_getitem(self, var, container, key):
        obj = self.env[container]
        if type(obj) is list:
            self.env[var] = obj[self._list_index(key)]
        elif type(obj) is tuple:
            self.env[var] = obj[key if key >= 0 else key - 1]
        else:
            self.env[var] = obj[key]

    def op_dset(self, dvar, key, item):
        self.env[dvar][key] = self.env[item]

    def op_ddel(self, dvar, key):
        del self.env[dvar][key]

    def op_setattr(self, ovar, name, item):
        setattr(self.env[ovar], name, self.env[item])

    def op_delattr(self, ovar, name):
        delattr(self.env[ovar], name)

    def op_getattr(self, var, ovar, name):
        self.env[var] = getattr(self.env[ovar], name)

    def op_add(self, svar, item):
        self.env[svar].add(self.env[item])

    def op_discard(self, svar, item):
        self.env[svar].discard(self.env[item])

    def op_clear(self, var):
        obj = self.env[var]
        kind = type(obj)
        if kind is list:
            del obj[1:]
        elif kind is dict:
            marker = obj[MARKER_KEY]
            obj.clear()
            obj[MARKER_KEY] = marker
        else:
            # A set. (Programs never clear an instance: see programs.py. Instances are only ever
            # touched through attribute access, since vars(obj)/obj.__dict__ would materialise the
            # dict 3.11 keeps inline, which changes collection counts.)
            marker = _set_marker(obj)
            obj.clear()
            obj.add(marker)

    def op_bind(self, var, source):
        self.env[var] = self.env[source]

    def op_del(self, names):
        for name in names:
            del self.env[name]

    def op_saveall(self, on):
        gc.set_debug(gc.DEBUG_SAVEALL if on else 0)

    def op_gclear(self):
        del gc.garbage[:]

    def op_freeze(self):
        """gc.freeze(), noting first what it moves out of sight of gc.get_objects(): a frozen object
        stays tracked, is never finalized by the collector, and its weakref reads None once the callback
        ran (which checkpoint() sees in the event log)."""
        found = self._scan()
        for serial, (generation, obj) in found.items():
            finalized = gc.is_finalized(obj) if serial in self.finalizable else None
            dead = obj() is None if type(obj) is WRef else None
            self.frozen[serial] = [finalized, dead]
        found = obj = generation = None
        gc.freeze()

    def op_unfreeze(self):
        gc.unfreeze()
        self.frozen.clear()

    def op_thresholds(self, t1, t2):
        gc.set_threshold(700, t1, t2)

    def op_breakgarbage(self):
        """Empties every object in gc.garbage, in serial order, so the uncollectable cycles can go: an
        instance loses its attributes a-d (in that order), a list, dict or set its items."""
        entries = sorted(gc.garbage, key=self._garbage_key)
        for obj in entries:
            kind = type(obj)
            if kind is list:
                del obj[1:]
            elif kind is dict:
                marker = obj[MARKER_KEY]
                obj.clear()
                obj[MARKER_KEY] = marker
            elif kind is set:
                marker = _set_marker(obj)
                obj.clear()
                obj.add(marker)
            elif kind is Node or kind is NodeDel or kind is NodeLegacy:
                for name in ("a", "b", "c", "d"):
                    if hasattr(obj, name):
                        delattr(obj, name)
        obj = entries = None

    def _garbage_key(self, obj):
        serial = self._serial_of(obj)
        return -1 if serial is None else serial

    # -- probes --------------------------------------------------------------------------------

    def _token(self, obj):
        serial = self._serial_of(obj)
        if serial is not None:
            return serial
        kind = type(obj)
        if kind is int or kind is str:
            return kind.__name__
        if obj is Node or obj is NodeDel or obj is NodeLegacy:
            return "type"
        return "?" + kind.__name__

    def probe_referents(self, var):
        obj = self.env[var]
        kind = type(obj)
        own_serial = obj._s if kind is Node or kind is NodeDel or kind is NodeLegacy else \
            obj.serial if kind is WRef else None
        tokens = []
        for child in gc.get_referents(obj):
            if type(child) is _CODE_TYPE or child is _weakref_callback or child is WRef:
                # A marker; a weakref's callback (an event, not an object, in heapd) and the WRef
                # subclass the harness needs (heapd's weakrefs are plain weakref.ref).
                continue
            if own_serial is not None and child is own_serial:
                own_serial = None  # the instance's hidden serial attribute, once
                continue
            tokens.append(self._token(child))
        child = obj = None
        if kind is not list and kind is not tuple and kind is not dict:
            tokens.sort(key=str)
        return tokens

    def probe_referrers(self, var):
        tokens = sorted((self._token(holder) for holder in gc.get_referrers(self.env[var])), key=str)
        return tokens

    # -- observation ---------------------------------------------------------------------------

    def close_bucket(self, start):
        """Ends the current event bucket; `start` holds where it began in _events and _callbacks."""
        self.buckets.append(json.dumps(_bucket(_events[start[0]:], _callbacks[start[1]:])))
        start[0] = len(_events)
        start[1] = len(_callbacks)

    def _serial_of(self, obj):
        """The serial of a live program container, or None for any other object."""
        kind = type(obj)
        if kind is WRef:
            return obj.serial
        if kind is list:
            marker = obj[0] if obj else None
        elif kind is tuple:
            marker = obj[-1] if obj else None
        elif kind is dict:
            marker = obj.get(MARKER_KEY)
        elif kind is set:
            marker = _set_marker(obj)
        elif kind is Node or kind is NodeDel or kind is NodeLegacy:
            marker = getattr(obj, "_m", None)
        else:
            return None
        if type(marker) is not _CODE_TYPE:
            return None
        serial = self.marker_serial.get(id(marker))
        if serial is None or self.markers[serial] is not marker:
            return None
        return serial

    def _scan(self):
        """serial -> (generation, object) of every tracked program container. The caller must drop
        the result before the next op."""
        found = {}
        for g in range(3):
            for obj in gc.get_objects(g):
                serial = self._serial_of(obj)
                if serial is not None:
                    found[serial] = (g, obj)
        return found

    def checkpoint(self, index, returned, stats0):
        found = self._scan()
        fired = set(code // 2 for code in _events if code % 2 == 1)
        obj = None
        alive = []
        for serial, kind in self.kinds.items():
            if not self._alive(serial):
                continue
            generation, obj = found.get(serial, (None, None))
            if obj is None and serial in self.frozen:
                finalized, dead = self.frozen[serial]
                if dead is not None:
                    dead = dead or serial in fired
                alive.append([serial, True, None, finalized, dead])
                continue
            if kind == "weakref":
                # Always tracked (like weakref.ref): found by the scan while alive.
                alive.append([serial, True, generation, None, obj() is None])
                continue
            finalized = gc.is_finalized(obj) if serial in self.finalizable and obj is not None else None
            alive.append([serial, obj is not None, generation, finalized, None])
        del found, obj, fired
        for serial in self.empty_tuples:
            alive.append([serial, False, None, None, None])
        alive.sort()
        garbage = []
        for obj in gc.garbage:
            serial = self._serial_of(obj)
            garbage.append(-1 if serial is None else serial)
        garbage.sort()
        stats = [
            [now["collections"] - then["collections"], now["collected"] - then["collected"],
             now["uncollectable"] - then["uncollectable"]]
            for now, then in zip(gc.get_stats(), stats0)
        ]
        counts = list(gc.get_count()[1:])
        return {"op": index, "ret": returned, "alive": alive, "garbage": garbage, "stats": stats,
                "counts": counts}


def _set_marker(s):
    for item in s:
        if type(item) is _CODE_TYPE:
            return item
    return None


def _bucket(events, callbacks):
    fin = sorted(code // 2 for code in events if code % 2 == 0)
    wr = sorted(code // 2 for code in events if code % 2 == 1)
    order = ""
    for code in events:
        letter = "f" if code % 2 == 0 else "w"
        if not order or order[-1] != letter:
            order += letter
    cb = [callbacks[i:i + 3] for i in range(0, len(callbacks), 3)]
    return {"fin": fin, "wr": wr, "order": order, "cb": cb}


def run_program(ops):
    """Runs `ops` (a program with its epilogue) in a fresh collector state; returns the observation.

    Everything that lives through the program is made before the freeze; the loop itself allocates
    nothing that is tracked and outlives an op (see the module docstring)."""
    gc.disable()
    gc.set_debug(0)
    gc.set_threshold(700, 10, 10)
    del gc.garbage[:]
    program = Program()
    events_start = [0, 0]
    gc.collect()
    program.stats0 = gc.get_stats()
    gc.freeze()
    if gc.get_objects() or not gc.is_tracked(program.env):
        raise RuntimeError("isolation: tracked objects left outside the permanent generation")
    # Long-lived counts from an empty generation 2, as heapd's after its own full collection.
    gc.collect()
    program.stats0[2]["collections"] += 1
    del _events[:]
    del _callbacks[:]
    count = len(ops)
    index = 0
    while index < count:
        op = ops[index]
        code = op[0]
        if code == "collect" or code == "auto":
            Program.close_bucket(program, events_start)
            returned = gc.collect(op[1]) if code == "collect" else None
            if code == "auto" and _auto() != 1:
                raise RuntimeError("an auto op started other than one collection")
            Program.close_bucket(program, events_start)
            program.checkpoints.append(json.dumps(Program.checkpoint(program, index, returned, program.stats0)))
        elif code == "referents" or code == "referrers":
            value = Program.probe_referents(program, op[1]) if code == "referents" else \
                Program.probe_referrers(program, op[1])
            program.probes.append(json.dumps({"op": index, "value": value}))
            value = None
        else:
            getattr(program, "op_" + code)(*op[1:])
        index += 1
    gc.set_debug(0)
    return {"checkpoints": [json.loads(text) for text in program.checkpoints],
            "buckets": [json.loads(text) for text in program.buckets],
            "probes": [json.loads(text) for text in program.probes], "leaked": 0}


def worker():
    """Reads programs (JSON lists of ops), one per line; writes observations, one per line."""
    if sys.version_info[:2] != (3, 11):
        sys.stdout.write(json.dumps({"error": f"CPython 3.11 required, this is {sys.version.split()[0]}"}) + "\n")
        sys.stdout.flush()
        return
    # Ctrl-C reaches the whole process group: leave shutdown to run.py, which closes stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()
    gc.callbacks.append(_gc_callback)
    for line in sys.stdin:
        ops = json.loads(line)
        try:
            result = run_program(ops)
        except Exception as error:  # a bug in the harness, not a finding
            result = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    worker()

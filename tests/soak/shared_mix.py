"""The shared world: requests every client races on, over every command kind heapd has.

All clients name the same globals (``g.soak_x0``…, weak references ``g.soak_w0``…) and rebind,
delete, fill, empty, link into cycles and weakly reference them, while others collect, freeze,
trace and walk the heap. No client can predict these replies, so each is checked for what must hold
whatever the interleaving (see ``expect.Race``): a race error code, or a well-formed success.

The client also keeps locals bound to shared objects (``s0``…, ``w``, and the "pins" ``pin0``…): a
pin's id and type are recorded when it is bound and must stay the same for as long as the client holds
it, whatever the others do to the globals it came from.
"""

from __future__ import annotations

import random

from expect import (Custom, Race, Step, at_least, describe, is_array, is_bulk,
                    is_cursor_batch, is_int, is_ok, is_simple, is_traceback, refcount_sane)

SHARED = [f"g.soak_x{i}" for i in range(16)]
SHARED_WEAK = [f"g.soak_w{i}" for i in range(4)]
SHARED_LOCALS = ["s0", "s1", "s2", "s3", "w"]
PINS = ["pin0", "pin1", "pin2"]
ATTRS = ("a0", "a1", "a2")
KEYS = ("k0", "k1", "k2", "k3")
MAX_SHARED_LEN = 12  # past this a client clears the container, so nothing grows without bound

TRACE_CODES = frozenset({"LIMIT"})  # 64 snapshots at most, server-wide


class SharedState:
    """What one client knows of its part of the shared world."""

    def __init__(self, client: int, rng: random.Random, own_heapd: bool) -> None:
        self.client = client
        self.rng = rng
        self.own_heapd = own_heapd  # DUMP/LOAD write files only into a snapshot dir the soak owns
        self.frames: list[set[str]] = [set()]  # shared locals bound, per frame
        self.pins: dict[str, tuple[int, str]] = {}  # pin -> (id, type) when bound
        self.snapshots: list[int] = []
        self.ids: list[int] = []  # ids of shared objects seen (they may die: NOOBJ is fine)
        self.dumped = False
        self.pending: list[Step] = []  # follow-ups learnt from replies (a container to clear)

    def ref(self) -> str:
        """A name of a shared object: mostly a global, sometimes a local bound to one."""
        roll = self.rng.random()
        if roll < 0.75:
            return self.rng.choice(SHARED)
        if roll < 0.85:
            return self.rng.choice(SHARED_WEAK)
        return self.rng.choice(SHARED_LOCALS)

    def target(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            return self.rng.choice(SHARED)
        if roll < 0.8:
            return self.rng.choice(SHARED_WEAK)
        return self.rng.choice(SHARED_LOCALS)

    def binds(self, name: str):
        """After a success, a local target is bound in the current frame."""
        if name.startswith("g."):
            return None
        return lambda reply: self.frames[-1].add(name)

    def unbinds(self, name: str):
        if name.startswith("g."):
            return None
        return lambda reply: self.frames[-1].discard(name)

    def remember_id(self, reply) -> None:
        if isinstance(reply, int) and reply > 0:
            self.ids.append(reply)
            del self.ids[:-32]


def race(cmd: str, shape=None, after=None, extra=frozenset()) -> Step:
    return Step(cmd, "", Race(shape, extra), after=after)


def _both(first, second):
    if first is None:
        return second
    if second is None:
        return first
    return lambda reply: (first(reply), second(reply))


# ---- operation families ----------------------------------------------------------------------
# Each takes the client's SharedState and returns the steps of one operation.

def new_object(st: SharedState) -> list[Step]:
    rng = st.rng
    t = st.target()
    form = rng.choice(("list", "list", "tuple", "dict", "set", "object", "int", "float", "str", "bytes",
                       "big_bytes", "range", "iter", "none", "bool"))
    if form in ("list", "tuple", "set"):
        items = " ".join(st.ref() for _ in range(rng.randint(1 if form == "tuple" else 0, 3)))
        cmd = f"NEW {t} {form} {items}".rstrip()
    elif form == "dict":
        cmd = f"NEW {t} dict"
    elif form == "object":
        cmd = f"NEW {t} object {rng.choice(('SoakShared', 'SoakNode'))}"
    elif form == "int":
        cmd = f"NEW {t} int {rng.randint(-5, 40)}"  # small values: equal ints meet in sets
    elif form == "float":
        cmd = f"NEW {t} float {rng.randint(0, 20) / 2}"
    elif form == "str":
        cmd = f"NEW {t} str s{rng.randint(0, 30)}"
    elif form == "bytes":
        cmd = f"NEW {t} bytes DATA x{rng.randint(0, 30)}"
    elif form == "big_bytes":
        cmd = f"NEW {t} bytes {rng.choice((600, 4096, 20000))}"
    elif form == "range":
        cmd = f"NEW {t} gen range {rng.randint(0, 12)}"
    elif form == "iter":
        cmd = f"NEW {t} gen iter {st.ref()}"
    elif form == "none":
        cmd = f"NEW {t} none"
    else:
        cmd = f"NEW {t} bool {rng.choice(('true', 'false'))}"
    return [race(cmd, is_ok, st.binds(t))]


def rebind(st: SharedState) -> list[Step]:
    rng = st.rng
    roll = rng.random()
    if roll < 0.45:
        t = st.target()
        return [race(f"SET {t} {st.ref()}", is_ok, st.binds(t))]
    name = st.target()
    return [race(f"DEL {name}", at_least(1), st.unbinds(name))]


def weakref_storm(st: SharedState) -> list[Step]:
    """The interleaving that crashed heapd (issue 9): weakrefs to globals that are rebound to lists,
    to the weakrefs themselves, and deleted, while other clients do the same."""
    rng = st.rng
    x, y = rng.choice(SHARED), rng.choice(SHARED)
    wg = rng.choice(SHARED_WEAK)
    pool = [
        race(f"WEAKREF w {x}", is_ok, st.binds("w")),
        race(f"WEAKREF {y} {x}", is_ok),
        race(f"WEAKREF {wg} {x}", is_ok),
        race(f"NEW {x} list", is_ok),
        race(f"SET {x} w", is_ok),
        race(f"SET {y} {wg}", is_ok),
        race(f"DEL {x}", at_least(1)),
        race(f"DEREF s0 {rng.choice(('w', wg, y))}", is_bulk, st.binds("s0")),
        race(f"DEREF {y} {wg}", is_bulk),
        race(f"REPR {rng.choice(('w', wg, x))} 1", is_bulk),
    ]
    return rng.sample(pool, rng.randint(2, 5))


def container_change(st: SharedState) -> list[Step]:
    rng = st.rng
    x = rng.choice(SHARED)
    r = st.ref()
    form = rng.choice(("APPEND", "APPEND", "INSERT", "SETITEM_I", "SETITEM_K", "DELITEM_I", "DELITEM_K",
                       "POP", "GETITEM", "ADD", "DISCARD", "REMOVE", "CLEAR", "SETATTR", "DELATTR", "GETATTR"))
    if form == "APPEND":
        def maybe_clear(reply, x=x):
            if isinstance(reply, int) and reply > MAX_SHARED_LEN:
                st.pending.append(race(f"CLEAR {x}", is_ok))
        return [race(f"APPEND {x} {r}", is_int, maybe_clear)]
    if form == "INSERT":
        return [race(f"INSERT {x} {rng.randint(-3, 5)} {r}", is_ok)]
    if form == "SETITEM_I":
        return [race(f"SETITEM {x} {rng.randint(-3, 3)} {r}", is_ok)]
    if form == "SETITEM_K":
        return [race(f"SETITEM {x} {rng.choice(KEYS)} {r}", is_ok)]
    if form == "DELITEM_I":
        return [race(f"DELITEM {x} {rng.randint(-3, 3)}", is_ok)]
    if form == "DELITEM_K":
        return [race(f"DELITEM {x} {rng.choice(KEYS)}", is_ok)]
    if form == "POP":
        t = rng.choice(("s0", "s1", "s2", "s3"))
        index = f" {rng.randint(-2, 2)}" if rng.random() < 0.5 else ""
        return [race(f"POP {t} {x}{index}", is_bulk, st.binds(t))]
    if form == "GETITEM":
        t = rng.choice(("s0", "s1", "s2", "s3"))
        key = rng.choice(KEYS) if rng.random() < 0.5 else str(rng.randint(-2, 2))
        return [race(f"GETITEM {t} {x} {key}", is_bulk, st.binds(t))]
    if form in ("ADD", "DISCARD", "REMOVE"):
        return [race(f"{form} {x} {r}", is_ok)]
    if form == "CLEAR":
        return [race(f"CLEAR {x}", is_ok)]
    if form == "SETATTR":
        return [race(f"SETATTR {x} {rng.choice(ATTRS)} {r}", is_ok)]
    if form == "DELATTR":
        return [race(f"DELATTR {x} {rng.choice(ATTRS)}", is_ok)]
    t = rng.choice(("s0", "s1", "s2", "s3"))
    return [race(f"GETATTR {t} {x} {rng.choice(ATTRS)}", is_bulk, st.binds(t))]


def generators(st: SharedState) -> list[Step]:
    rng = st.rng
    x = st.ref()
    t = rng.choice(("s0", "s1", "s2", "s3"))
    form = rng.choice(("NEXT", "NEXT_T", "LIST", "SUM", "NEW"))
    if form == "NEW":
        g = rng.choice(SHARED)
        return [race(f"NEW {g} gen range {rng.randint(0, 8)}", is_ok),
                race(f"NEXT {g}", is_bulk)]
    if form == "NEXT":
        return [race(f"NEXT {x}", is_bulk)]
    if form == "NEXT_T":
        return [race(f"NEXT {x} {t}", is_ok, st.binds(t))]
    if form == "LIST":
        return [race(f"LIST {t} {x}", at_least(0), st.binds(t))]
    return [race(f"SUM {t} {x}", is_bulk, st.binds(t))]


def finalizer(st: SharedState) -> list[Step]:
    # Never LEGACY here: a legacy finalizer in shared cyclic garbage would be uncollectable for good
    # and the heap could not return to its baseline. The private world and cycle_batch cover LEGACY.
    return [race(f"FINALIZER {st.ref()}", is_ok)]


def introspect(st: SharedState) -> list[Step]:
    rng = st.rng
    x = st.ref()
    form = rng.choice(("GETREFCOUNT", "REFCOUNT", "TYPE", "ID", "REPR", "LEN", "CONTAINS", "BYID", "DENIED",
                       "IS_TRACKED", "IS_FINALIZED", "REFERENTS", "OBJTRACE"))
    if form == "GETREFCOUNT":
        return [race(f"GETREFCOUNT {x}", refcount_sane)]
    if form == "REFCOUNT":
        # At least 0, not 1: another client may rebind the shared global between this command resolving
        # it (with a temporary reference) and reading the count, and the raw count leaves the temporary
        # out (seen once under load: `REFCOUNT g.soak_x4` replied 0, a true count at that moment).
        return [race(f"REFCOUNT {x}", at_least(0))]
    if form == "TYPE":
        return [race(f"TYPE {x}", is_simple)]
    if form == "ID":
        return [race(f"ID {x}", at_least(0), st.remember_id)]
    if form == "REPR":
        return [race(f"REPR {x} 2", is_bulk)]
    if form == "LEN":
        return [race(f"LEN {x}", at_least(0))]
    if form == "CONTAINS":
        second = rng.choice(KEYS) if rng.random() < 0.3 else st.ref()
        return [race(f"CONTAINS {x} {second}", lambda r: None if r in (0, 1) else f"expected 0 or 1, got {r!r}")]
    if form == "IS_TRACKED":
        return [race(f"GC IS_TRACKED {x}", is_int)]
    if form == "IS_FINALIZED":
        return [race(f"GC IS_FINALIZED {x}", is_int)]
    if form == "REFERENTS":
        return [race(f"GC GET_REFERENTS {x}", is_array)]
    if form == "OBJTRACE":
        return [race(f"TRACEMALLOC GET_OBJECT_TRACEBACK {x}", is_traceback)]
    if not st.ids:
        return [race(f"ID {x}", at_least(0), st.remember_id)]
    oid = rng.choice(st.ids)
    if form == "DENIED":
        # An id gives read-only access: taking a reference through it is refused, dead or alive.
        return [Step(f"SET s0 #{oid}", "", Custom(
            lambda r: None if getattr(r, "code", None) in ("DENIED", "NOOBJ") else f"expected -DENIED, got {describe(r)}"))]
    return [race(f"{rng.choice(('GETREFCOUNT', 'TYPE', 'REPR', 'LEN'))} #{oid}")]


def collector(st: SharedState) -> list[Step]:
    rng = st.rng
    roll = rng.random()
    if roll < 0.35:
        gen = rng.choice((0, 0, 0, 1, 1, 2))
        return [race(f"GC COLLECT {gen}", at_least(0))]
    options = [
        ("GC FREEZE", is_ok), ("GC UNFREEZE", is_ok), ("GC UNFREEZE", is_ok), ("GC GET_FREEZE_COUNT", is_int),
        ("GC ENABLE", is_ok), ("GC ENABLE", is_ok), ("GC DISABLE", is_ok), ("GC ISENABLED", is_int),
        (f"GC SET_THRESHOLD {rng.choice((10, 50, 100, 700))} {rng.randint(2, 10)} {rng.randint(2, 10)}", is_ok),
        ("GC GET_THRESHOLD", is_array), ("GC GET_COUNT", is_array), ("GC GET_STATS", is_array),
        (f"GC GARBAGE COUNT {rng.randint(1, 5)}", is_cursor_batch), ("GC GARBAGE CLEAR", at_least(0)),
        (f"GC GET_OBJECTS {rng.choice(('', '0 ', '1 ', '2 '))}COUNT {rng.randint(1, 10)}", is_cursor_batch),
        (f"GC GET_OBJECTS CURSOR {rng.randint(0, 5000)} COUNT 5", is_cursor_batch),
        (f"GC GET_REFERRERS {st.ref()} COUNT {rng.randint(1, 5)}", is_cursor_batch),
        ("GC SET_DEBUG SAVEALL" if rng.random() < 0.3 else "GC SET_DEBUG NONE", is_ok),
        ("GC GET_DEBUG", is_int), ("GC HEARTBEAT", is_array),
    ]
    cmd, shape = rng.choice(options)
    return [race(cmd.strip(), shape)]


def tracemalloc(st: SharedState) -> list[Step]:
    rng = st.rng

    def took(reply):
        if isinstance(reply, int):
            st.snapshots.append(reply)

    options = [
        (f"TRACEMALLOC START {rng.randint(1, 4)}", is_ok, None), ("TRACEMALLOC START", is_ok, None),
        ("TRACEMALLOC STOP", is_ok, None), ("TRACEMALLOC IS_TRACING", is_int, None),
        ("TRACEMALLOC GET_TRACEBACK_LIMIT", is_int, None), ("TRACEMALLOC GET_TRACED_MEMORY", is_array, None),
        ("TRACEMALLOC RESET_PEAK", is_ok, None), ("TRACEMALLOC CLEAR_TRACES", is_ok, None),
        ("TRACEMALLOC GET_TRACEMALLOC_MEMORY", is_int, None), ("TRACEMALLOC SNAPSHOTS", is_array, None),
        ("TRACEMALLOC TAKE_SNAPSHOT", at_least(1), took), ("TRACEMALLOC TAKE_SNAPSHOT", at_least(1), took),
    ]
    if st.snapshots:
        snap = rng.choice(st.snapshots)
        other = rng.choice(st.snapshots)
        key = rng.choice(("filename", "lineno", "traceback"))
        cumulative = " CUMULATIVE" if key != "traceback" and rng.random() < 0.3 else ""
        options += [
            (f"TRACEMALLOC STATISTICS {snap} {key}{cumulative} LIMIT 3", is_array, None),
            (f"TRACEMALLOC STATISTICS {snap} lineno LIMIT 2 RAW", is_array, None),
            (f"TRACEMALLOC COMPARE {snap} {other} {key} LIMIT 3", is_array, None),
            (f"TRACEMALLOC FILTER {snap} INCLUDE soak* EXCLUDE <client*", at_least(1), took),
        ]
        if st.own_heapd:
            options.append((f"TRACEMALLOC DUMP {snap} soak-c{st.client}.json", is_bulk,
                            lambda r: setattr(st, "dumped", True)))
    if st.own_heapd and st.dumped:
        options.append((f"TRACEMALLOC LOAD soak-c{st.client}.json", at_least(1), took))
    steps = []
    cmd, shape, after = rng.choice(options)
    steps.append(race(cmd, shape, after, extra=TRACE_CODES))
    # A client keeps at most two snapshots: the server keeps 64, for all 48 clients.
    while len(st.snapshots) > 2:
        steps.append(race(f"TRACEMALLOC DROP_SNAPSHOT {st.snapshots.pop(0)}", is_ok))
    return steps


def views(st: SharedState) -> list[Step]:
    rng = st.rng
    x = st.ref()
    options = [
        (f"TYPES LIMIT {rng.randint(1, 5)}", is_array), (f"GROWTH LIMIT {rng.randint(1, 5)}", is_array),
        (f"CHAIN {x}", lambda r: None if r is None or isinstance(r, list) else f"expected a chain, got {describe(r)}"),
        # Retained sizes: the whole reachable heap read in steps, its dominator tree on another thread.
        (f"TYPES LIMIT {rng.randint(1, 5)} RETAINED", is_array),
        (f"CHAIN {x} RETAINED",
         lambda r: None if r is None or isinstance(r, list) else f"expected a chain, got {describe(r)}"),
        (f"GRAPH {x} DEPTH {rng.randint(0, 2)} MAX {rng.randint(1, 20)}", is_array),
        (f"GRAPH {x} DEPTH 1 BACKREFS MAX 10", is_array),
        ("DOCTOR", is_bulk),
        (f"SIZEOF {x}", is_array),
        # A walk over what x reaches, bounded: a shared graph bigger than MAX is -LIMIT, not an error.
        (f"SIZEOF {x} DEEP MAX {rng.choice((10, 1000, 100000))}", is_array),
    ]
    cmd, shape = rng.choice(options)
    return [race(cmd, shape, extra=frozenset({"LIMIT"}) if " DEEP " in cmd else frozenset())]


def server(st: SharedState) -> list[Step]:
    rng = st.rng
    options = [
        (f"INFO {rng.choice(('', 'server', 'clients', 'memory', 'objects', 'gc', 'tracemalloc'))}".strip(), is_bulk),
        ("PING", is_simple), ("ECHO soak", lambda r: None if r == b"soak" else f"ECHO replied {describe(r)}"),
        # Not `VARS GLOBALS`: it takes a reference to every global while it formats its repr, as
        # CPython's repr(globals()) does, so another client's GETREFCOUNT of its private global can see
        # one more at that moment: a true count, but not the one the private world predicts.
        ("SCOPE LIST", is_array), ("VARS", is_array), ("HELP NEW", is_array),
        ("AT", is_bulk), ("METRICS", is_bulk),
    ]
    cmd, shape = rng.choice(options)
    return [race(cmd, shape)]


def images(st: SharedState) -> list[Step]:
    """Heap images while everything else races: SAVE stops the world to copy the heap, BGSAVE writes
    while the others mutate. One save at a time, so a race may answer STATE."""
    options = [("LASTSAVE", is_int), ("INFO persistence", is_bulk)]
    if st.own_heapd:
        name = f"soak-c{st.client % 4}.image"
        options += [(f"SAVE {name}", is_ok), (f"BGSAVE {name}", is_simple)]
    cmd, shape = st.rng.choice(options)
    return [race(cmd, shape, extra=frozenset({"STATE"}))]


def pin(st: SharedState) -> list[Step]:
    """Binds a pin to a shared object and records its id and type, or checks a pin held: the object
    a local holds stays the same object, whatever happens to the global it was taken from."""
    rng = st.rng
    name = rng.choice(PINS)
    if name in st.pins and rng.random() < 0.6:
        return pin_check(st, name)
    source = rng.choice(SHARED)
    outcome = {}

    def bound(reply):
        outcome["bound"] = True

    def check_id(reply):
        if "bound" not in outcome:  # the SET lost a race (NOVAR): the pin is unchanged
            old = st.pins.get(name)
            if old is None:
                return None if getattr(reply, "code", None) == "NOVAR" else f"unbound pin has an id: {describe(reply)}"
            return None if reply == old[0] else f"{name}'s id changed from {old[0]} to {describe(reply)}"
        if not isinstance(reply, int) or reply < 0:  # the immortal singletons have small ids, None's is 0
            return f"ID of a pin replied {describe(reply)}"
        outcome["id"] = reply
        return None

    def check_type(reply):
        if "bound" not in outcome:
            old = st.pins.get(name)
            if old is None:
                return None if getattr(reply, "code", None) == "NOVAR" else f"unbound pin has a type: {describe(reply)}"
            return None if reply == old[1] else f"{name}'s type changed from {old[1]} to {describe(reply)}"
        if not isinstance(reply, str):
            return f"TYPE of a pin replied {describe(reply)}"
        st.pins[name] = (outcome["id"], str(reply))
        st.frames[0].add(name)
        return None

    return [race(f"SET {name} {source}", is_ok, bound),
            Step(f"ID {name}", "", Custom(check_id)),
            Step(f"TYPE {name}", "", Custom(check_type))]


def pin_check(st: SharedState, name: str) -> list[Step]:
    # The record is read when the reply arrives, not now: a SET of the same pin earlier in the batch
    # replaces it first.
    def same_id(reply):
        oid = st.pins[name][0]
        return None if reply == oid else f"{name} held #{oid}, ID now {describe(reply)}"

    def same_type(reply):
        type_name = st.pins[name][1]
        return None if reply == type_name else f"{name} held a {type_name}, TYPE now {describe(reply)}"

    def by_id(reply, oid=st.pins[name][0]):
        if st.pins[name][0] != oid and getattr(reply, "code", None) == "NOOBJ":
            return None  # re-pinned earlier in the batch: the old object may be gone
        return refcount_sane(reply)

    return [Step(f"ID {name}", "", Custom(same_id)), Step(f"TYPE {name}", "", Custom(same_type)),
            Step(f"GETREFCOUNT {name}", "", Custom(refcount_sane)),
            Step(f"GETREFCOUNT #{st.pins[name][0]}", "", Custom(by_id))]


FAMILIES = [
    (new_object, 14), (rebind, 10), (weakref_storm, 12), (container_change, 16), (generators, 5),
    (finalizer, 2), (introspect, 8), (collector, 4), (tracemalloc, 3), (views, 1.5), (server, 2), (pin, 2),
    (images, 1),
]


FAMILY_BY_NAME = {family.__name__: family for family, _ in FAMILIES}


def draw(st: SharedState) -> list[Step]:
    family = st.rng.choices([f for f, _ in FAMILIES], weights=[w for _, w in FAMILIES])[0]
    return family(st)

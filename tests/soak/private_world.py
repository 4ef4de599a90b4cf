"""A client's private world: objects only this client can reach, so it knows every count exactly.

Each soak client owns some globals (``g.soak_c<N>_<k>``) and locals (``p<k>``, in whatever frame is
current) and the objects reachable from them: atoms, lists, tuples, dicts, sets, instances, weak
references and generators. No other client ever names them, and nothing of them is put in a shared
container, so this model predicts every reply exactly: each reference count, each length, each
``-INDEX``/``-KEY``/``-NOVAR``, each repr of an atom, which ids are dead (``-NOOBJ``). A difference
means heapd lost or invented a reference while 47 other clients raced on the shared objects next to
these — the bug class this soak exists to catch.

Why the private graph stays acyclic: the count of an object referenced from cyclic garbage depends on
when the collector runs, which any client may trigger at any moment. Keeping private containers a DAG
makes every death happen by refcount, at a moment the model knows. Cycles are still built every few
requests (``cycle_batch``), from fresh objects that reference nothing private; they become garbage for
the collector, and the heap's return to its baseline at the end proves they were freed.

Atom values are unique per client (``(client+1) * 10**7 + n``) so that equality by value, which sets,
``CONTAINS`` and tuples use, coincides with what the model can compute.
"""

from __future__ import annotations

import random

from expect import IMMORTAL_COUNT, Bulk, Custom, Err, Int, Ok, SimpleText, Step, describe

MAX_LIVE = 250  # private objects alive per client: past this the mix prefers deleting
MAX_LEN = 10  # items per private container
ATTRS = ("a0", "a1", "a2", "a3")
KEYS = ("k0", "k1", "k2", "k3", "k4")
CLASSES = ("SoakNode", "SoakLeaf")


class Obj:
    """One private object, as the model sees it."""

    __slots__ = ("kind", "refs", "alive", "immortal", "value", "items", "mapping", "members", "target",
                 "source", "pos", "rng", "heap_id", "serial")

    _serial = 0

    def __init__(self, kind: str, value=None, immortal: bool = False) -> None:
        Obj._serial += 1
        self.serial = Obj._serial
        self.kind = kind  # int float str bytes bool NoneType list tuple dict set object weakref generator
        self.refs = 0
        self.alive = True
        self.immortal = immortal
        self.value = value  # atoms: the Python value; object: the class name
        self.items: list[Obj] = []  # list, tuple
        self.mapping: dict[str, Obj] = {}  # dict values by key, instance attributes by name
        self.members: dict[object, Obj] = {}  # set: equality key -> the element kept
        self.target: Obj | None = None  # weakref
        self.source: Obj | None = None  # generator over a list or tuple, until it finds no next item
        self.pos = 0
        self.rng: list[int] | None = None  # generator over a range: [next, stop, step]
        self.heap_id: int | None = None

    def type_name(self) -> str:
        return self.value if self.kind == "object" else self.kind

    def children(self) -> list[Obj]:
        kids = list(self.items) + list(self.mapping.values()) + list(self.members.values())
        if self.source is not None:
            kids.append(self.source)
        return kids

    def eq_key(self):
        """What Python's == compares: numbers and strs/bytes by value, tuples item by item, the
        rest by identity."""
        if self.kind in ("int", "float", "bool"):
            return ("n", self.value)
        if self.kind == "str":
            return ("s", self.value)
        if self.kind == "bytes":
            return ("b", self.value)
        if self.kind == "tuple":
            return ("t",) + tuple(item.eq_key() for item in self.items)
        return ("id", self.serial)

    def hashable(self):
        """True, False, or None when heapd's answer is not specified (instances, weakrefs, …)."""
        if self.kind in ("int", "float", "bool", "str", "bytes", "NoneType"):
            return True
        if self.kind in ("list", "dict", "set"):
            return False
        if self.kind == "tuple":
            answers = [item.hashable() for item in self.items]
            if False in answers:
                return False
            return None if None in answers else True
        return None

    def repr_text(self) -> str | None:
        """The repr when the model can predict it exactly (atoms), else None."""
        if self.kind == "int":
            return str(self.value)
        if self.kind == "float":
            return repr(self.value)
        if self.kind == "str":
            return repr(self.value)
        if self.kind == "NoneType":
            return "None"
        if self.kind == "bool":
            return "True" if self.value else "False"
        return None

    def length(self) -> int | None:
        if self.kind in ("list", "tuple"):
            return len(self.items)
        if self.kind in ("dict", "object"):
            return len(self.mapping)
        if self.kind == "set":
            return len(self.members)
        if self.kind in ("str", "bytes"):
            return len(self.value)
        return None


NONE = Obj("NoneType", None, immortal=True)
TRUE = Obj("bool", True, immortal=True)
FALSE = Obj("bool", False, immortal=True)


class PrivateWorld:
    """The model of one client's private objects, and the requests that act on them."""

    def __init__(self, client: int, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.global_names = [f"g.soak_c{client}_{k}" for k in range(5)]
        self.local_names = [f"p{k}" for k in range(5)]
        self.globals: dict[str, Obj] = {}
        self.frames: list[dict[str, Obj]] = [{}]
        self.live: set[Obj] = set()
        self.weakrefs: set[Obj] = set()
        self.dead_ids: list[int] = []
        self.next_value = (client + 1) * 10_000_000

    # ---- reference bookkeeping -------------------------------------------------------------

    def _new(self, obj: Obj) -> Obj:
        self.live.add(obj)
        if obj.kind == "weakref":
            self.weakrefs.add(obj)
        return obj

    def incref(self, obj: Obj) -> None:
        if not obj.immortal:
            obj.refs += 1

    def decref(self, obj: Obj) -> None:
        """Drops a reference; frees the object and, iteratively, what only it kept alive."""
        pending = [obj]
        while pending:
            o = pending.pop()
            if o.immortal:
                continue
            o.refs -= 1
            assert o.refs >= 0, "model bug: negative count"
            if o.refs:
                continue
            o.alive = False
            self.live.discard(o)
            self.weakrefs.discard(o)
            if o.heap_id is not None:
                self.dead_ids.append(o.heap_id)
                del self.dead_ids[:-40]
            pending.extend(o.children())
            o.items, o.mapping, o.members, o.source = [], {}, {}, None

    def lookup(self, name: str) -> Obj | None:
        return self.globals.get(name) if name.startswith("g.") else self.frames[-1].get(name)

    def bind(self, name: str, obj: Obj) -> None:
        self.incref(obj)  # first, so that rebinding a name to its own object keeps it alive
        space = self.globals if name.startswith("g.") else self.frames[-1]
        old = space.get(name)
        space[name] = obj
        if old is not None:
            self.decref(old)

    def unbind(self, name: str) -> None:
        space = self.globals if name.startswith("g.") else self.frames[-1]
        self.decref(space.pop(name))

    def reaches(self, start: Obj, goal: Obj) -> bool:
        """Whether ``goal`` is reachable from ``start`` through strong references."""
        seen, pending = set(), [start]
        while pending:
            o = pending.pop()
            if o is goal:
                return True
            if o.serial in seen:
                continue
            seen.add(o.serial)
            pending.extend(o.children())
        return False

    def would_cycle(self, container: Obj, item: Obj) -> bool:
        return self.reaches(item, container)

    def _value(self) -> int:
        self.next_value += 1
        return self.next_value

    # ---- choosing names ----------------------------------------------------------------------

    def names(self) -> list[str]:
        return self.global_names + self.local_names

    def bound(self, test=None) -> list[str]:
        return [n for n in self.names() if (o := self.lookup(n)) is not None and (test is None or test(o))]

    def pick(self, test=None) -> str | None:
        choices = self.bound(test)
        return self.rng.choice(choices) if choices else None

    def target(self) -> str:
        return self.rng.choice(self.names())

    def crowded(self) -> bool:
        return len(self.live) > MAX_LIVE

    # ---- requests ----------------------------------------------------------------------------
    # Each returns the steps of one operation and applies it to the model, or [] when it does not
    # apply now (the client then draws another). The model is updated as the request is made, so
    # steps of one batch see the effects of those before them, as heapd does.

    def _step(self, cmd: str, expect) -> Step:
        return Step(cmd, "", expect, private=True)

    def op_new_atom(self) -> list[Step]:
        t = self.target()
        form = self.rng.choice(("int", "int", "float", "str", "str", "bytes", "zero_bytes", "none", "bool"))
        v = self._value()
        if form == "int":
            obj, cmd = Obj("int", v), f"NEW {t} int {v}"
        elif form == "float":
            obj, cmd = Obj("float", v + 0.25), f"NEW {t} float {v + 0.25!r}"
        elif form == "str":
            text = f"c{self.client}_{v}"
            obj, cmd = Obj("str", text), f"NEW {t} str {text}"
        elif form == "bytes":
            text = f"b{v}"
            obj, cmd = Obj("bytes", text.encode()), f"NEW {t} bytes DATA {text}"
        elif form == "zero_bytes":
            size = self.rng.choice((1, 8, 100, 513, 700, 3000))  # past 512 bytes: a large block
            obj, cmd = Obj("bytes", bytes(size)), f"NEW {t} bytes SIZE {size}"
        elif form == "none":
            obj, cmd = NONE, f"NEW {t} none"
        else:
            obj, cmd = (TRUE, f"NEW {t} bool true") if v % 2 else (FALSE, f"NEW {t} bool false")
        if not obj.immortal:
            self._new(obj)
        self.bind(t, obj)
        return [self._step(cmd, Ok())]

    def op_new_container(self) -> list[Step]:
        t = self.target()
        form = self.rng.choice(("list", "list", "tuple", "set", "dict", "object"))
        if form == "dict":
            obj, cmd = Obj("dict"), f"NEW {t} dict"
            self._new(obj)
            self.bind(t, obj)
            return [self._step(cmd, Ok())]
        if form == "object":
            cls = self.rng.choice(CLASSES)
            obj = self._new(Obj("object", cls))
            self.bind(t, obj)
            return [self._step(f"NEW {t} object {cls}", Ok())]
        count = self.rng.randint(1 if form == "tuple" else 0, 3)
        pool = self.bound()
        if form == "tuple" and not pool:
            return []
        names = [self.rng.choice(pool) for _ in range(count)] if pool else []
        items = [self.lookup(n) for n in names]
        cmd = f"NEW {t} {form} {' '.join(names)}".rstrip()
        if form == "set":
            answers = [item.hashable() for item in items]
            if None in answers:
                return []
            if False in answers:
                return [self._step(cmd, Err("TYPE"))]
            obj = Obj("set")
            for item in items:
                if item.eq_key() not in obj.members:
                    obj.members[item.eq_key()] = item
                    self.incref(item)
        else:
            obj = Obj(form)
            obj.items = items
            for item in items:
                self.incref(item)
        self._new(obj)
        self.bind(t, obj)
        return [self._step(cmd, Ok())]

    def op_set(self) -> list[Step]:
        t = self.target()
        source = self.rng.choice(self.names())
        obj = self.lookup(source)
        if obj is None:
            return [self._step(f"SET {t} {source}", Err("NOVAR"))]
        self.bind(t, obj)
        return [self._step(f"SET {t} {source}", Ok())]

    def op_del(self) -> list[Step]:
        names = self.rng.sample(self.names(), self.rng.choice((1, 1, 2)))
        cmd = "DEL " + " ".join(names)
        if any(self.lookup(n) is None for n in names):
            return [self._step(cmd, Err("NOVAR"))]  # all or nothing
        for n in names:
            self.unbind(n)
        return [self._step(cmd, Int(len(names)))]

    def op_list_change(self) -> list[Step]:
        name = self.pick(lambda o: o.kind == "list")
        if name is None:
            return []
        lst = self.lookup(name)
        n = len(lst.items)
        form = self.rng.choice(
            ("append", "insert", "setitem", "delitem", "pop", "pop_index", "getitem", "clear", "contains", "len"))
        if form == "len":
            return [self._step(f"LEN {name}", Int(n))]
        if form == "contains":
            other = self.lookup(item_name := self.pick())
            present = any(i is other or i.eq_key() == other.eq_key() for i in lst.items)
            return [self._step(f"CONTAINS {name} {item_name}", Int(int(present)))]
        if form in ("append", "insert", "setitem"):
            item_name = self.pick()
            item = self.lookup(item_name)
            if self.would_cycle(lst, item) or (form != "setitem" and n >= MAX_LEN):
                return []
            if form == "append":
                lst.items.append(item)
                self.incref(item)
                return [self._step(f"APPEND {name} {item_name}", Int(n + 1))]
            if form == "insert":
                index = self.rng.randint(-n - 2, n + 2)
                lst.items.insert(index, item)  # Python's clamping is the contract
                self.incref(item)
                return [self._step(f"INSERT {name} {index} {item_name}", Ok())]
            index = self.rng.randint(-n - 1, n)
            if not -n <= index < n:
                return [self._step(f"SETITEM {name} {index} {item_name}", Err("INDEX"))]
            old = lst.items[index]
            self.incref(item)
            lst.items[index] = item
            self.decref(old)
            return [self._step(f"SETITEM {name} {index} {item_name}", Ok())]
        if form == "delitem":
            index = self.rng.randint(-n - 1, n)
            if not -n <= index < n:
                return [self._step(f"DELITEM {name} {index}", Err("INDEX"))]
            self.decref(lst.items.pop(index))
            return [self._step(f"DELITEM {name} {index}", Ok())]
        if form in ("pop", "pop_index"):
            t = self.target()
            index = self.rng.randint(-n - 1, n) if form == "pop_index" else -1
            cmd = f"POP {t} {name}" + (f" {index}" if form == "pop_index" else "")
            if not -n <= index < n:
                return [self._step(cmd, Err("INDEX"))]
            item = lst.items.pop(index)  # the list's reference moves to the call
            self.bind(t, item)
            self.decref(item)
            return [self._step(cmd, Bulk(item.repr_text()))]
        if form == "getitem":
            t = self.target()
            index = self.rng.randint(-n - 1, n)
            cmd = f"GETITEM {t} {name} {index}"
            if not -n <= index < n:
                return [self._step(cmd, Err("INDEX"))]
            item = lst.items[index]
            self.bind(t, item)
            return [self._step(cmd, Bulk(item.repr_text()))]
        old = lst.items
        lst.items = []
        for item in old:
            self.decref(item)
        return [self._step(f"CLEAR {name}", Ok())]

    def op_tuple_read(self) -> list[Step]:
        name = self.pick(lambda o: o.kind == "tuple")
        if name is None:
            return []
        tup = self.lookup(name)
        n = len(tup.items)
        t = self.target()
        index = self.rng.randint(-n - 1, n)
        form = self.rng.choice(("getitem", "clear", "contains"))
        if form == "clear":
            return [self._step(f"CLEAR {name}", Err("WRONGTYPE"))]
        if form == "contains":
            other = self.pick()
            present = any(i is self.lookup(other) or i.eq_key() == self.lookup(other).eq_key() for i in tup.items)
            return [self._step(f"CONTAINS {name} {other}", Int(int(present)))]
        if not -n <= index < n:
            return [self._step(f"GETITEM {t} {name} {index}", Err("INDEX"))]
        item = tup.items[index]
        self.bind(t, item)
        return [self._step(f"GETITEM {t} {name} {index}", Bulk(item.repr_text()))]

    def op_dict_change(self) -> list[Step]:
        name = self.pick(lambda o: o.kind == "dict")
        if name is None:
            return []
        d = self.lookup(name)
        key = self.rng.choice(KEYS)
        form = self.rng.choice(("setitem", "setitem", "delitem", "getitem", "contains", "clear", "len"))
        if form == "setitem":
            item_name = self.pick()
            item = self.lookup(item_name)
            if self.would_cycle(d, item):
                return []
            self.incref(item)
            old = d.mapping.get(key)
            d.mapping[key] = item  # an existing key keeps its place, as in Python
            if old is not None:
                self.decref(old)
            return [self._step(f"SETITEM {name} {key} {item_name}", Ok())]
        if form == "delitem":
            if key not in d.mapping:
                return [self._step(f"DELITEM {name} {key}", Err("KEY"))]
            self.decref(d.mapping.pop(key))
            return [self._step(f"DELITEM {name} {key}", Ok())]
        if form == "getitem":
            t = self.target()
            if key not in d.mapping:
                return [self._step(f"GETITEM {t} {name} {key}", Err("KEY"))]
            item = d.mapping[key]
            self.bind(t, item)
            return [self._step(f"GETITEM {t} {name} {key}", Bulk(item.repr_text()))]
        if form == "contains":
            return [self._step(f"CONTAINS {name} {key}", Int(int(key in d.mapping)))]
        if form == "len":
            return [self._step(f"LEN {name}", Int(len(d.mapping)))]
        old = list(d.mapping.values())
        d.mapping = {}
        for item in old:
            self.decref(item)
        return [self._step(f"CLEAR {name}", Ok())]

    def op_set_change(self) -> list[Step]:
        name = self.pick(lambda o: o.kind == "set")
        if name is None:
            return []
        s = self.lookup(name)
        item_name = self.pick()
        item = self.lookup(item_name)
        form = self.rng.choice(("ADD", "ADD", "DISCARD", "REMOVE", "CONTAINS", "CLEAR", "LEN"))
        if form == "CLEAR":
            old = list(s.members.values())
            s.members = {}
            for member in old:
                self.decref(member)
            return [self._step(f"CLEAR {name}", Ok())]
        if form == "LEN":
            return [self._step(f"LEN {name}", Int(len(s.members)))]
        hashable = item.hashable()
        if hashable is None or (form == "ADD" and len(s.members) >= MAX_LEN):
            return []
        cmd = f"{form} {name} {item_name}"
        if not hashable:
            return [self._step(cmd, Err("TYPE"))]
        key = item.eq_key()
        if form == "CONTAINS":
            return [self._step(cmd, Int(int(key in s.members)))]
        if form == "ADD":
            if key not in s.members:  # an equal element already there stays
                s.members[key] = item
                self.incref(item)
            return [self._step(cmd, Ok())]
        if key not in s.members:
            return [self._step(cmd, Ok() if form == "DISCARD" else Err("KEY"))]
        self.decref(s.members.pop(key))
        return [self._step(cmd, Ok())]

    def op_attr(self) -> list[Step]:
        name = self.pick(lambda o: o.kind == "object")
        if name is None:
            return []
        o = self.lookup(name)
        attr = self.rng.choice(ATTRS)
        form = self.rng.choice(("SETATTR", "SETATTR", "DELATTR", "GETATTR", "CONTAINS", "CLEAR", "LEN"))
        if form == "SETATTR":
            item_name = self.pick()
            item = self.lookup(item_name)
            if self.would_cycle(o, item):
                return []
            self.incref(item)
            old = o.mapping.get(attr)
            o.mapping[attr] = item
            if old is not None:
                self.decref(old)
            return [self._step(f"SETATTR {name} {attr} {item_name}", Ok())]
        if form == "DELATTR":
            if attr not in o.mapping:
                return [self._step(f"DELATTR {name} {attr}", Err("KEY"))]
            self.decref(o.mapping.pop(attr))
            return [self._step(f"DELATTR {name} {attr}", Ok())]
        if form == "GETATTR":
            t = self.target()
            if attr not in o.mapping:
                return [self._step(f"GETATTR {t} {name} {attr}", Err("KEY"))]
            item = o.mapping[attr]
            self.bind(t, item)
            return [self._step(f"GETATTR {t} {name} {attr}", Bulk(item.repr_text()))]
        if form == "CONTAINS":
            return [self._step(f"CONTAINS {name} {attr}", Int(int(attr in o.mapping)))]
        if form == "LEN":
            return [self._step(f"LEN {name}", Int(len(o.mapping)))]
        old = list(o.mapping.values())
        o.mapping = {}
        for item in old:
            self.decref(item)
        return [self._step(f"CLEAR {name}", Ok())]

    def op_wrong_type(self) -> list[Step]:
        """Requests that must fail by type: heapd checks the type before it changes anything."""
        name = self.pick()
        obj = self.lookup(name)
        other = self.pick()
        form = self.rng.choice(("APPEND", "SETATTR", "LEN", "NEXT"))
        if form == "APPEND" and obj.kind != "list":
            return [self._step(f"APPEND {name} {other}", Err("WRONGTYPE"))]
        if form == "SETATTR" and obj.kind != "object":
            return [self._step(f"SETATTR {name} a0 {other}", Err("WRONGTYPE"))]
        if form == "LEN" and obj.length() is None:
            return [self._step(f"LEN {name}", Err("WRONGTYPE"))]
        if form == "NEXT" and obj.kind != "generator":
            return [self._step(f"NEXT {name}", Err("WRONGTYPE"))]
        return []

    def op_weak(self) -> list[Step]:
        if self.rng.random() < 0.6:
            t = self.target()
            name = self.pick()
            obj = self.lookup(name)
            if obj.immortal:
                return [self._step(f"WEAKREF {t} {name}", Err("TYPE"))]
            w = self._new(Obj("weakref"))
            w.target = obj
            self.bind(t, w)
            return [self._step(f"WEAKREF {t} {name}", Ok())]
        name = self.pick(lambda o: o.kind == "weakref")
        if name is None:
            return []
        t = self.target()
        w = self.lookup(name)
        referent = w.target if w.target.alive else NONE
        self.bind(t, referent)
        return [self._step(f"DEREF {t} {name}", Bulk(referent.repr_text()))]

    def op_finalizer(self) -> list[Step]:
        name = self.pick()
        obj = self.lookup(name)
        legacy = " LEGACY" if self.rng.random() < 0.4 else ""  # safe: no private object is ever cyclic garbage
        return [self._step(f"FINALIZER {name}{legacy}", Err("TYPE") if obj.immortal else Ok())]

    def op_generator(self) -> list[Step]:
        form = self.rng.choice(("range", "iter", "next", "next", "next_target", "list", "sum", "copy"))
        if form == "range":
            t = self.target()
            start = self._value()
            length = self.rng.randint(0, 5)
            step = self.rng.choice((1, 1, 2))
            self.next_value += length * step
            g = self._new(Obj("generator"))
            g.rng = [start, start + length * step, step]
            self.bind(t, g)
            args = f"{start} {start + length * step}" + (f" {step}" if step != 1 else "")
            return [self._step(f"NEW {t} gen range {args}", Ok())]
        if form == "iter":
            t = self.target()
            name = self.pick(lambda o: o.kind in ("list", "tuple", "generator"))
            if name is None:
                return []
            source = self.lookup(name)
            if source.kind == "generator":  # iter(generator) is the generator itself
                self.bind(t, source)
            else:
                g = self._new(Obj("generator"))
                g.source = source
                self.incref(source)
                self.bind(t, g)
            return [self._step(f"NEW {t} gen iter {name}", Ok())]
        if form == "copy":
            t = self.target()
            name = self.pick(lambda o: o.kind in ("list", "tuple"))
            if name is None:
                return []
            items = list(self.lookup(name).items)
            copy = self._new(Obj("list"))
            copy.items = items
            for item in items:
                self.incref(item)
            self.bind(t, copy)
            return [self._step(f"LIST {t} {name}", Int(len(items)))]
        name = self.pick(lambda o: o.kind == "generator")
        if name is None:
            return []
        g = self.lookup(name)
        if form == "sum":
            if g.rng is None:
                return []  # over container items the sum could meet a non-number midway
            t = self.target()
            total = sum(range(*g.rng))
            g.rng[0] = g.rng[1]
            result = self._new(Obj("int", total))
            self.bind(t, result)
            return [self._step(f"SUM {t} {name}", Bulk(str(total)))]
        if form == "list":
            t = self.target()
            items = []
            while (item := self._advance(g)) is not None:
                items.append(item)  # each item's reference moves into the new list
            lst = self._new(Obj("list"))
            lst.items = items
            self.bind(t, lst)
            return [self._step(f"LIST {t} {name}", Int(len(items)))]
        t = self.target() if form == "next_target" else None
        item = self._advance(g)
        cmd = f"NEXT {name}" + (f" {t}" if t else "")
        if item is None:
            return [self._step(cmd, Err("STOP"))]
        if t:
            self.bind(t, item)
            self.decref(item)
            return [self._step(cmd, Ok())]
        self.decref(item)
        return [self._step(cmd, Bulk(item.repr_text()))]

    def _advance(self, g: Obj) -> Obj | None:
        """next(g) in the model: a new reference to the item, or None (and the source dropped)."""
        if g.rng is not None:
            value, stop, step = g.rng
            if value >= stop:
                return None
            g.rng[0] = value + step
            item = self._new(Obj("int", value))
            item.refs = 1
            return item
        if g.source is None:
            return None
        if g.pos < len(g.source.items):  # a list iterator reads the length at every step
            item = g.source.items[g.pos]
            g.pos += 1
            self.incref(item)
            return item
        source, g.source = g.source, None
        self.decref(source)
        return None

    def op_check(self) -> list[Step]:
        """Reads that must match the model exactly."""
        name = self.pick()
        obj = self.lookup(name)
        form = self.rng.choice(("GETREFCOUNT", "GETREFCOUNT", "REFCOUNT", "TYPE", "LEN", "REPR", "ID", "BYID"))
        count = IMMORTAL_COUNT if obj.immortal else obj.refs
        if form == "GETREFCOUNT":
            return [self._step(f"GETREFCOUNT {name}", Int(count if obj.immortal else count + 1))]
        if form == "REFCOUNT":
            return [self._step(f"REFCOUNT {name}", Int(count))]
        if form == "TYPE":
            return [self._step(f"TYPE {name}", SimpleText(obj.type_name()))]
        if form == "LEN":
            length = obj.length()
            return [self._step(f"LEN {name}", Err("WRONGTYPE") if length is None else Int(length))]
        if form == "REPR":
            return [self._step(f"REPR {name} 3", Bulk(obj.repr_text()))]
        if form == "BYID":
            known = [o for o in self.live if o.heap_id is not None]
            if self.dead_ids and self.rng.random() < 0.4:
                dead = self.rng.choice(self.dead_ids)
                return [self._step(f"GETREFCOUNT #{dead}", Err("NOOBJ"))]
            if known:
                o = self.rng.choice(known)
                return [self._step(f"GETREFCOUNT #{o.heap_id}", Int(o.refs + 1)),
                        self._step(f"SET p0 #{o.heap_id}", Err("DENIED"))]
            return []
        if obj.immortal:
            return []
        return [self._step(f"ID {name}", Custom(lambda reply, o=obj: self._learn_id(o, reply)))]

    def _learn_id(self, obj: Obj, reply) -> str | None:
        if not isinstance(reply, int) or reply <= 0:
            return f"expected an id, got {describe(reply)}"
        if obj.heap_id is None:
            obj.heap_id = reply
            if not obj.alive:  # freed later in the same batch
                self.dead_ids.append(reply)
        elif obj.heap_id != reply:
            return f"the id of one object changed from {obj.heap_id} to {reply}"
        return None

    # ---- whole-world checks ------------------------------------------------------------------

    def full_check(self) -> list[Step]:
        """Every named object's count, type and length; every weakref's liveness; every known id."""
        steps = []
        for name in self.bound():
            obj = self.lookup(name)
            count = IMMORTAL_COUNT if obj.immortal else obj.refs + 1
            steps.append(self._step(f"GETREFCOUNT {name}", Int(count)))
            steps.append(self._step(f"TYPE {name}", SimpleText(obj.type_name())))
            if obj.length() is not None:
                steps.append(self._step(f"LEN {name}", Int(obj.length())))
            if obj.kind == "weakref":
                dead = not obj.target.alive
                steps.append(self._step(f"REPR {name}", Custom(
                    lambda r, dead=dead: None if isinstance(r, bytes) and r.endswith(b"dead>") == dead
                    else f"weakref should be {'dead' if dead else 'alive'}: {describe(r)}")))
        for obj in self.live:
            if obj.heap_id is not None:
                steps.append(self._step(f"GETREFCOUNT #{obj.heap_id}", Int(obj.refs + 1)))
        for dead in self.dead_ids:
            steps.append(self._step(f"GETREFCOUNT #{dead}", Err("NOOBJ")))
        return steps

    # ---- frames ------------------------------------------------------------------------------

    def push_frame(self) -> None:
        self.frames.append({})

    def pop_frame(self) -> int:
        """Releases the current frame's private locals; returns how many there were."""
        frame = self.frames.pop()
        for obj in frame.values():
            self.decref(obj)
        return len(frame)

    def drop_session(self) -> None:
        """The connection closed: every local of every frame is released; globals stay."""
        while len(self.frames) > 1:
            self.pop_frame()
        self.pop_frame()
        self.frames = [{}]

    def local_names_bound(self) -> set[str]:
        return set(self.frames[-1])


def cycle_batch(rng: random.Random, shared_refs: list[str]) -> list[Step]:
    """Cyclic garbage for the collector: fresh objects in a cycle, sometimes linking to shared objects,
    sometimes with a finalizer or a weakref watching them, then unnamed. Or a cycle with a legacy
    finalizer, broken by hand while still reachable (a legacy finalizer in cyclic garbage would be
    uncollectable for good, and the heap could not return to its baseline)."""
    from expect import Race, is_int  # local: the model's module otherwise knows nothing of the shared world
    steps: list[Step] = []

    def exact(cmd, expect):
        steps.append(Step(cmd, "", expect, private=True))

    if rng.random() < 0.25:
        exact("NEW q0 list", Ok())
        exact("NEW q1 object SoakLegacy", Ok())
        exact("APPEND q0 q1", Int(1))
        exact("SETATTR q1 back q0", Ok())
        exact("FINALIZER q1 LEGACY", Ok())
        exact(rng.choice(("CLEAR q0", "DELATTR q1 back")), Ok())
        exact("DEL q0 q1", Int(2))
        return steps
    exact("NEW q0 list", Ok())
    exact(f"NEW q1 {rng.choice(('dict', 'object SoakCycle', 'list'))}", Ok())
    exact("APPEND q0 q1", Int(1))
    exact("NEW q2 tuple q0 q1", Ok())
    exact("APPEND q0 q2", Int(2))
    # q1 closes the cycle by whatever its type offers; TYPE/WRONGTYPE are for the types that lack it.
    steps.append(Step(rng.choice(("SETITEM q1 back q0", "SETATTR q1 back q0", "APPEND q1 q0")), "",
                      Race(), private=False))
    if rng.random() < 0.5:
        exact(f"FINALIZER q{rng.randint(0, 2)}", Ok())
    if rng.random() < 0.5:
        exact("WEAKREF q3 q0", Ok())
        exact("SET q0 q3", Ok())  # only the weakref keeps a name now; it dies with the cycle
    if shared_refs and rng.random() < 0.5:
        # The garbage reaches the shared world, or the shared world adopts the cycle (then it is not
        # garbage until another client lets go of it).
        steps.append(Step(f"SETITEM q1 link {rng.choice(shared_refs)}", "", Race(), private=False))
        steps.append(Step(f"APPEND {rng.choice(shared_refs)} q1", "", Race(is_int), private=False))
    exact("DEL q0 q1 q2", Int(3))
    if any(s.cmd == "WEAKREF q3 q0" for s in steps):
        exact("DEL q3", Int(1))
    return steps

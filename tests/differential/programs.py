"""Seeded random programs for the differential test of heapd against CPython's ``gc``.

A *program* is a list of operations over named variables (``v0`` … ``v11``), in a form both sides
can execute: ``cpython_side`` runs it as real Python objects, ``heapd_side`` as heapd commands. An
operation is a JSON-friendly list whose first item is its opcode:

=====================================  ==============================================================
op                                     meaning (Python)
=====================================  ==============================================================
``["int", v, serial, n]``              ``v = n`` (a fresh ``int``)
``["str", v, serial, s]``              ``v = s`` (a fresh ``str``)
``["list", v, serial, [a, b]]``        ``v = [a, b]``
``["tuple", v, serial, [a, b]]``       ``v = (a, b)`` (built at run time, so tracked at creation)
``["dict", v, serial]``                ``v = {}``
``["set", v, serial, [a, b]]``         ``v = {a, b}`` (items are ints and strs only)
``["obj", v, serial, fin]``            ``v = Node()``; ``fin`` true: the class has a ``__del__``;
                                       ``"legacy"``: a legacy ``tp_del`` (``FINALIZER v LEGACY``)
``["weakref", v, serial, x]``          ``v = weakref.ref(x)`` (x is an instance or a set)
``["append", l, x]``                   ``l.append(x)``
``["lset", l, i, x]``                  ``l[i] = x``
``["ldel", l, i]``                     ``del l[i]``
``["pop", v, l, i]``                   ``v = l.pop(i)``
``["getitem", v, c, k]``               ``v = c[k]`` (list or tuple index, or dict key)
``["dset", d, k, x]``                  ``d[k] = x``
``["ddel", d, k]``                     ``del d[k]``
``["setattr", o, name, x]``            ``o.name = x``
``["delattr", o, name]``               ``del o.name``
``["getattr", v, o, name]``            ``v = o.name``
``["add", s, x]`` / ``["discard", s, x]``  ``s.add(x)`` / ``s.discard(x)``
``["clear", c]``                       ``c.clear()`` (list, dict, set)
``["bind", v, x]``                     ``v = x``
``["del", [a, b]]``                    ``del a, b`` (in that order)
``["collect", g]``                     ``gc.collect(g)``; a *checkpoint*: both sides report their state
``["saveall", on]``                    ``gc.set_debug(gc.DEBUG_SAVEALL if on else 0)``
``["gclear"]``                         ``del gc.garbage[:]``
``["freeze"]`` / ``["unfreeze"]``      ``gc.freeze()`` / ``gc.unfreeze()`` (unfreeze: epilogue only)
``["thresholds", t1, t2]``             ``gc.set_threshold(700, t1, t2)`` (first op, with ``auto``)
``["auto"]``                           an automatic collection now (a checkpoint; ``cpython_side``
                                       explains how both sides make it happen at the same point)
``["referents", v]``                   ``gc.get_referents(v)``, compared (a *probe*)
``["referrers", v]``                   ``gc.get_referrers(v)``, compared (a *probe*)
``["breakgarbage"]``                   empty every object in ``gc.garbage`` (epilogue only)
=====================================  ==============================================================

Every object a program creates gets a *serial* (its creation op carries it), so both sides can name
the same object in their reports whatever ids their runtimes give it.

Why the generator keeps a model: every op it emits is valid (the variable is bound, has the right
type, the index is in range, the key or attribute exists), so neither side ever raises: an exception
in CPython would create traceback/frame objects that the collector sees, and an error in heapd would
be a harness failure rather than a finding. The same model (:func:`validate`) lets the minimizer in
``run.py`` drop ops and keep only programs that are still valid.

What the generator deliberately does not produce, and why:

- ``__del__`` that resurrects its object, weakref callbacks that do anything but log: heapd's
  finalizers and weakref "callbacks" run no code, so there is nothing to compare;
- finalizers added after creation: in CPython a ``__del__`` belongs to the class and assigning
  ``__class__`` materialises the instance's ``__dict__`` (which changes collection counts), so an
  instance gets its finalizer at creation;
- tuples or other containers inside sets, and tuples as dict keys: CPython needs a hidden marker in
  every tuple (see ``cpython_side``), which would change tuple equality;
- empty tuples by default: CPython's ``()`` is an untracked singleton, heapd allocates a tracked
  tuple; ``--empty-tuples`` turns them on (a known disagreement, reported separately);
- ``CLEAR`` on an instance: Python has no such operation short of ``obj.__dict__.clear()``, which
  materialises the dict; the order in which attributes are dropped would be the test's invention
  (and weakref callbacks depend on it), so instances lose attributes through ``delattr`` only;
- ``gc.unfreeze()`` in the middle of a program: CPython's permanent generation holds the whole
  interpreter, which would join generation 2 and change the long-lived counts that decide automatic
  full collections; the epilogue unfreezes, when no automatic collection follows;
- scopes and globals: outside the collector semantics this test compares.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

VARIABLES = [f"v{i}" for i in range(12)]
KEYS = ["a", "b", "c", "d"]
ATTRS = ["a", "b", "c", "d"]

#: Kinds whose objects both sides track by serial (alive, tracked, generation…). Atoms are left out:
#: CPython caches small ints and interns strs, so their lifetime is not comparable.
CONTAINER_KINDS = {"list", "tuple", "dict", "set", "obj", "weakref"}


@dataclass
class Features:
    """Which parts of the object model the generator uses (all on by default except empty tuples)."""

    weakrefs: bool = True
    #: Weak references stored inside containers (so they can be part of cyclic garbage).
    weakrefs_in_containers: bool = True
    finalizers: bool = True
    #: Instances with a legacy finalizer (a real ``tp_del`` in CPython).
    legacy: bool = True
    saveall: bool = True
    freeze: bool = True
    #: gc.get_referents / gc.get_referrers probes.
    probes: bool = True
    #: Automatic collections (with thresholds 1 and 2 set at random).
    auto: bool = True
    sets: bool = True
    empty_tuples: bool = False

    @classmethod
    def parse(cls, disabled: list[str], enabled: list[str]) -> "Features":
        features = cls()
        for name in disabled:
            _check_feature(name)
            setattr(features, name.replace("-", "_"), False)
        for name in enabled:
            _check_feature(name)
            setattr(features, name.replace("-", "_"), True)
        return features


def _check_feature(name: str) -> None:
    if name.replace("-", "_") not in Features.__dataclass_fields__:
        raise SystemExit(f"unknown feature {name!r}; known: {', '.join(Features.__dataclass_fields__)}")


@dataclass
class Obj:
    """The generator's model of one object."""

    kind: str  # int, str, list, tuple, tuple0, dict, set, obj, weakref
    value: object = None  # atoms: the value; weakref: the target's serial
    items: list = field(default_factory=list)  # list, tuple: serials
    mapping: dict = field(default_factory=dict)  # dict: key -> serial; obj: attribute -> serial
    members: set = field(default_factory=set)  # set: (kind, value) of its atoms
    fin: object = False  # obj: False, True (__del__) or "legacy"


class InvalidOp(Exception):
    """An op that would fail at run time (only raised while validating or replaying)."""


class Model:
    """Variables and objects as the program sees them: enough to know which ops are valid."""

    def __init__(self) -> None:
        self.vars: dict[str, int] = {}
        self.objs: dict[int, Obj] = {}

    def kind(self, var: str) -> str:
        return self.objs[self.vars[var]].kind

    def obj(self, var: str) -> Obj:
        if var not in self.vars:
            raise InvalidOp(f"{var} is unbound")
        return self.objs[self.vars[var]]

    def expect(self, var: str, *kinds: str) -> Obj:
        obj = self.obj(var)
        if obj.kind not in kinds:
            raise InvalidOp(f"{var} is a {obj.kind}, not {'/'.join(kinds)}")
        return obj

    def apply(self, op: list) -> None:
        """Applies `op` to the model; raises InvalidOp when it could not run."""
        code = op[0]
        if code in ("int", "str"):
            _, var, serial, value = op
            self._create(var, serial, Obj(code, value=value))
        elif code == "list":
            _, var, serial, items = op
            self._create(var, serial, Obj("list", items=[self._ref(v) for v in items]))
        elif code == "tuple":
            _, var, serial, items = op
            kind = "tuple" if items else "tuple0"
            self._create(var, serial, Obj(kind, items=[self._ref(v) for v in items]))
        elif code == "dict":
            _, var, serial = op
            self._create(var, serial, Obj("dict"))
        elif code == "set":
            _, var, serial, items = op
            members = {self._atom(v) for v in items}
            self._create(var, serial, Obj("set", members=members))
        elif code == "obj":
            _, var, serial, fin = op
            if fin not in (False, True, "legacy"):
                raise InvalidOp(f"finalizer {fin!r}")
            self._create(var, serial, Obj("obj", fin=fin))
        elif code == "weakref":
            _, var, serial, target = op
            self.expect(target, "obj", "set")
            self._create(var, serial, Obj("weakref", value=self.vars[target]))
        elif code == "append":
            _, lvar, item = op
            self.expect(lvar, "list").items.append(self._ref(item))
        elif code == "lset":
            _, lvar, index, item = op
            items = self.expect(lvar, "list").items
            self._index(items, index)
            items[index] = self._ref(item)
        elif code == "ldel":
            _, lvar, index = op
            items = self.expect(lvar, "list").items
            self._index(items, index)
            del items[index]
        elif code == "pop":
            _, var, lvar, index = op
            items = self.expect(lvar, "list").items
            self._index(items, index)
            self.vars[var] = items.pop(index)
        elif code == "getitem":
            _, var, container, key = op
            obj = self.expect(container, "list", "tuple", "dict")
            if obj.kind == "dict":
                if key not in obj.mapping:
                    raise InvalidOp(f"no key {key!r}")
                self.vars[var] = obj.mapping[key]
            else:
                self._index(obj.items, key)
                self.vars[var] = obj.items[key]
        elif code == "dset":
            _, dvar, key, item = op
            self.expect(dvar, "dict").mapping[key] = self._ref(item)
        elif code == "ddel":
            _, dvar, key = op
            mapping = self.expect(dvar, "dict").mapping
            if key not in mapping:
                raise InvalidOp(f"no key {key!r}")
            del mapping[key]
        elif code == "setattr":
            _, ovar, name, item = op
            self.expect(ovar, "obj").mapping[name] = self._ref(item)
        elif code == "delattr":
            _, ovar, name = op
            mapping = self.expect(ovar, "obj").mapping
            if name not in mapping:
                raise InvalidOp(f"no attribute {name!r}")
            del mapping[name]
        elif code == "getattr":
            _, var, ovar, name = op
            mapping = self.expect(ovar, "obj").mapping
            if name not in mapping:
                raise InvalidOp(f"no attribute {name!r}")
            self.vars[var] = mapping[name]
        elif code == "add":
            _, svar, item = op
            self.expect(svar, "set").members.add(self._atom(item))
        elif code == "discard":
            _, svar, item = op
            self.expect(svar, "set").members.discard(self._atom(item))
        elif code == "clear":
            _, var = op
            obj = self.expect(var, "list", "dict", "set")
            obj.items.clear()
            obj.mapping.clear()
            obj.members.clear()
        elif code == "bind":
            _, var, source = op
            self.vars[var] = self._ref(source)
        elif code == "del":
            _, names = op
            if len(set(names)) != len(names):
                raise InvalidOp("a name twice in del")
            for name in names:
                self._ref(name)
            for name in names:
                del self.vars[name]
        elif code == "collect":
            if op[1] not in (0, 1, 2):
                raise InvalidOp("generation")
        elif code in ("saveall", "gclear", "freeze", "unfreeze", "auto", "breakgarbage"):
            pass
        elif code == "thresholds":
            if not all(isinstance(t, int) and t > 0 for t in op[1:]) or len(op) != 3:
                raise InvalidOp("thresholds")
        elif code in ("referents", "referrers"):
            self.expect(op[1], *CONTAINER_KINDS)
        else:
            raise InvalidOp(f"unknown op {code!r}")

    def _create(self, var: str, serial: int, obj: Obj) -> None:
        if serial in self.objs:
            raise InvalidOp(f"serial {serial} reused")
        self.objs[serial] = obj
        self.vars[var] = serial

    def _ref(self, var: str) -> int:
        if var not in self.vars:
            raise InvalidOp(f"{var} is unbound")
        return self.vars[var]

    def _atom(self, var: str) -> tuple:
        obj = self.expect(var, "int", "str")
        return (obj.kind, obj.value)

    @staticmethod
    def _index(items: list, index: int) -> None:
        if not -len(items) <= index < len(items):
            raise InvalidOp(f"index {index} out of range")


def validate(ops: list) -> bool:
    """Whether every op of `ops` can run (used by the minimizer)."""
    model = Model()
    try:
        for op in ops:
            model.apply(op)
    except InvalidOp:
        return False
    return True


def epilogue(ops: list) -> list:
    """The ops both sides run after a program: delete every variable, stop SAVEALL, unfreeze (if the
    program froze), then, if it made legacy finalizers, empty gc.garbage, collect all and empty every
    object then in gc.garbage (the uncollectable cycles would outlive the program otherwise), then
    empty gc.garbage and collect: that last checkpoint must find nothing alive on either side."""
    model = Model()
    for op in ops:
        model.apply(op)
    tail: list = []
    if model.vars:
        tail.append(["del", sorted(model.vars, key=_natural)])
    tail.append(["saveall", False])
    if any(op[0] == "freeze" for op in ops):
        tail.append(["unfreeze"])
    if any(op[0] == "obj" and op[3] == "legacy" for op in ops):
        # With nothing else holding them, every uncollectable object with a legacy finalizer is in
        # gc.garbage after one collection, and emptying those breaks every uncollectable cycle.
        tail += [["gclear"], ["collect", 2], ["breakgarbage"]]
    return tail + [["gclear"], ["collect", 2]]


def _natural(name: str) -> tuple:
    """v2 before v10 (and any other names after, alphabetically)."""
    digits = name[1:]
    return (0, int(digits), name) if name[:1] == "v" and digits.isdigit() else (1, 0, name)


def with_epilogue(ops: list) -> list:
    return list(ops) + epilogue(ops)


class Generator:
    """Produces one random program from a seed. Deterministic: same seed, same program."""

    def __init__(self, seed: int, features: Features, min_ops: int = 20, max_ops: int = 200) -> None:
        self.rng = random.Random(seed)
        self.features = features
        self.length = self.rng.randint(min_ops, max_ops)
        self.model = Model()
        self.next_serial = 1
        self.saveall = False

    def program(self) -> list:
        ops: list = []
        if self.features.auto:
            ops.append(["thresholds", self.rng.choice([1, 2, 3, 10]), self.rng.choice([1, 2, 3, 10])])
            self.model.apply(ops[0])
        while len(ops) < self.length:
            op = self._one()
            if op is None:
                continue
            self.model.apply(op)  # never raises: _one only builds valid ops
            ops.append(op)
        return ops

    # -- choosing variables --------------------------------------------------------------------

    def _bound(self, *kinds: str) -> list[str]:
        return [v for v, s in self.model.vars.items() if not kinds or self.model.objs[s].kind in kinds]

    def _pick(self, *kinds: str) -> str | None:
        names = self._bound(*kinds)
        return self.rng.choice(names) if names else None

    def _target(self) -> str:
        """A variable to bind: usually a fresh one while there are some, often a rebinding."""
        free = [v for v in VARIABLES if v not in self.model.vars]
        if free and self.rng.random() < 0.6:
            return self.rng.choice(free)
        return self.rng.choice(VARIABLES)

    def _value(self, for_container: str | None = None) -> str | None:
        """A variable whose object to store somewhere: containers are favoured (they make cycles),
        and the container itself is a common choice (self-references)."""
        rng = self.rng
        if for_container is not None and rng.random() < 0.2:
            return for_container
        kinds = ["list", "tuple", "dict", "set", "obj", "tuple0"]
        if self.features.weakrefs_in_containers:
            kinds.append("weakref")
        if rng.random() < 0.8:
            name = self._pick(*kinds)
            if name is not None:
                return name
        return self._pick(*kinds, "int", "str")

    def _serial(self) -> int:
        serial = self.next_serial
        self.next_serial += 1
        return serial

    # -- one op --------------------------------------------------------------------------------

    def _one(self) -> list | None:
        rng = self.rng
        f = self.features
        choices = [
            ("new_container", 14),
            ("new_atom", 4),
            ("link", 26),
            ("unlink", 9),
            ("read", 6),
            ("bind", 4),
            ("del", 12),
            ("collect", 7),
        ]
        if f.weakrefs:
            choices.append(("weakref", 4))
        if f.saveall:
            choices.append(("saveall", 1))
            choices.append(("gclear", 1))
        if f.freeze:
            choices.append(("freeze", 1))
        if f.probes:
            choices.append(("probe", 4))
        if f.auto:
            choices.append(("auto", 5))
        action = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
        return getattr(self, "_op_" + action)()

    def _op_new_atom(self) -> list:
        if self.rng.random() < 0.5:
            return ["int", self._target(), self._serial(), self.rng.choice([0, 1, 7, 42, 1000, 123456789])]
        return ["str", self._target(), self._serial(), self.rng.choice(["s", "t", "hello", "x1"])]

    def _op_new_container(self) -> list | None:
        rng = self.rng
        f = self.features
        kinds = ["list", "list", "tuple", "dict", "obj", "obj"]
        if f.sets:
            kinds.append("set")
        kind = rng.choice(kinds)
        var = self._target()
        if kind == "list":
            items = [self._value() for _ in range(rng.choice([0, 0, 1, 2, 3]))]
            return ["list", var, self._serial(), [v for v in items if v is not None]]
        if kind == "tuple":
            count = rng.choice([1, 1, 2, 3] + ([0] if f.empty_tuples else []))
            items = [v for v in (self._value() for _ in range(count)) if v is not None]
            if not items and not f.empty_tuples:
                return None
            return ["tuple", var, self._serial(), items]
        if kind == "dict":
            return ["dict", var, self._serial()]
        if kind == "set":
            atoms = self._bound("int", "str")
            items = [rng.choice(atoms) for _ in range(rng.choice([0, 1, 2]))] if atoms else []
            return ["set", var, self._serial(), items]
        fin: object = f.finalizers and rng.random() < 0.35
        if not fin and f.legacy and rng.random() < 0.12:
            fin = "legacy"
        return ["obj", var, self._serial(), fin]

    def _op_weakref(self) -> list | None:
        use_set = self.features.sets and self.rng.random() < 0.25
        target = self._pick("set") if use_set else self._pick("obj")
        if target is None:
            return None
        return ["weakref", self._target(), self._serial(), target]

    def _op_link(self) -> list | None:
        rng = self.rng
        container = self._pick("list", "dict", "obj", "set")
        if container is None:
            return None
        kind = self.model.kind(container)
        if kind == "set":
            atom = self._pick("int", "str")
            return None if atom is None else ["add", container, atom]
        value = self._value(for_container=container)
        if value is None:
            return None
        if kind == "list":
            items = self.model.obj(container).items
            if items and rng.random() < 0.3:
                return ["lset", container, rng.randrange(-len(items), len(items)), value]
            return ["append", container, value]
        if kind == "dict":
            return ["dset", container, rng.choice(KEYS), value]
        return ["setattr", container, rng.choice(ATTRS), value]

    def _op_unlink(self) -> list | None:
        rng = self.rng
        container = self._pick("list", "dict", "obj", "set")
        if container is None:
            return None
        obj = self.model.obj(container)
        if obj.kind != "obj" and rng.random() < 0.15:
            return ["clear", container]
        if obj.kind == "list":
            if not obj.items:
                return None
            index = rng.randrange(-len(obj.items), len(obj.items))
            if rng.random() < 0.5:
                return ["pop", self._target(), container, index]
            return ["ldel", container, index]
        if obj.kind == "dict":
            return ["ddel", container, rng.choice(sorted(obj.mapping))] if obj.mapping else None
        if obj.kind == "obj":
            return ["delattr", container, rng.choice(sorted(obj.mapping))] if obj.mapping else None
        atom = self._pick("int", "str")
        return None if atom is None else ["discard", container, atom]

    def _op_read(self) -> list | None:
        """Binds something reachable only through a container, so nested objects become mutable."""
        container = self._pick("list", "tuple", "dict", "obj")
        if container is None:
            return None
        obj = self.model.obj(container)
        if obj.kind in ("list", "tuple"):
            if not obj.items:
                return None
            return ["getitem", self._target(), container, self.rng.randrange(-len(obj.items), len(obj.items))]
        if not obj.mapping:
            return None
        key = self.rng.choice(sorted(obj.mapping))
        if obj.kind == "dict":
            return ["getitem", self._target(), container, key]
        return ["getattr", self._target(), container, key]

    def _op_bind(self) -> list | None:
        source = self._pick()
        return None if source is None else ["bind", self._target(), source]

    def _op_del(self) -> list | None:
        bound = self._bound()
        if not bound:
            return None
        count = min(len(bound), self.rng.choice([1, 1, 1, 2, 3]))
        return ["del", self.rng.sample(bound, count)]

    def _op_collect(self) -> list:
        return ["collect", self.rng.choice([0, 0, 1, 1, 2])]

    def _op_saveall(self) -> list:
        self.saveall = not self.saveall
        return ["saveall", self.saveall]

    def _op_gclear(self) -> list:
        return ["gclear"]

    def _op_freeze(self) -> list:
        return ["freeze"]

    def _op_auto(self) -> list:
        return ["auto"]

    def _op_probe(self) -> list | None:
        target = self._pick(*CONTAINER_KINDS)
        if target is None or self.model.kind(target) == "tuple0":
            return None
        return [self.rng.choice(["referents", "referrers"]), target]


def generate(seed: int, features: Features | None = None, min_ops: int = 20, max_ops: int = 200) -> list:
    """The program of `seed` (without its epilogue)."""
    return Generator(seed, features or Features(), min_ops, max_ops).program()


def program_seed(base: int, index: int) -> int:
    """The seed of the `index`-th program of a run with `--seed base`."""
    return base * 1_000_003 + index


def format_python(ops: list) -> str:
    """The program as the Python it stands for (what the CPython side runs, markers aside)."""
    lines = []
    for op in ops:
        code = op[0]
        if code in ("int", "str"):
            text = f"{op[1]} = {op[3]!r}"
        elif code == "list":
            text = f"{op[1]} = [{', '.join(op[3])}]"
        elif code == "tuple":
            inner = ", ".join(op[3]) + ("," if len(op[3]) == 1 else "")
            text = f"{op[1]} = ({inner})"
        elif code == "dict":
            text = f"{op[1]} = {{}}"
        elif code == "set":
            text = f"{op[1]} = {{{', '.join(op[3])}}}" if op[3] else f"{op[1]} = set()"
        elif code == "obj":
            text = f"{op[1]} = {'NodeLegacy' if op[3] == 'legacy' else 'NodeDel' if op[3] else 'Node'}()"
        elif code == "weakref":
            text = f"{op[1]} = weakref.ref({op[3]}, callback)"
        elif code == "append":
            text = f"{op[1]}.append({op[2]})"
        elif code == "lset":
            text = f"{op[1]}[{op[2]}] = {op[3]}"
        elif code == "ldel":
            text = f"del {op[1]}[{op[2]}]"
        elif code == "pop":
            text = f"{op[1]} = {op[2]}.pop({op[3]})"
        elif code == "getitem":
            text = f"{op[1]} = {op[2]}[{op[3]!r}]"
        elif code == "dset":
            text = f"{op[1]}[{op[2]!r}] = {op[3]}"
        elif code == "ddel":
            text = f"del {op[1]}[{op[2]!r}]"
        elif code == "setattr":
            text = f"{op[1]}.{op[2]} = {op[3]}"
        elif code == "delattr":
            text = f"del {op[1]}.{op[2]}"
        elif code == "getattr":
            text = f"{op[1]} = {op[2]}.{op[3]}"
        elif code == "add":
            text = f"{op[1]}.add({op[2]})"
        elif code == "discard":
            text = f"{op[1]}.discard({op[2]})"
        elif code == "clear":
            text = f"{op[1]}.clear()"
        elif code == "bind":
            text = f"{op[1]} = {op[2]}"
        elif code == "del":
            text = f"del {', '.join(op[1])}"
        elif code == "collect":
            text = f"gc.collect({op[1]})"
        elif code == "saveall":
            text = f"gc.set_debug({'gc.DEBUG_SAVEALL' if op[1] else '0'})"
        elif code == "gclear":
            text = "del gc.garbage[:]"
        elif code in ("freeze", "unfreeze"):
            text = f"gc.{code}()"
        elif code == "thresholds":
            text = f"gc.set_threshold(700, {op[1]}, {op[2]})"
        elif code == "auto":
            text = "auto()  # an automatic collection: threshold 0 at 1, gc on for one or two dict()"
        elif code == "referents":
            text = f"gc.get_referents({op[1]})"
        elif code == "referrers":
            text = f"gc.get_referrers({op[1]})"
        elif code == "breakgarbage":
            text = "break_garbage()  # empty every object in gc.garbage, by serial"
        else:
            text = repr(op)
        if code in ("int", "str", "list", "tuple", "dict", "set", "obj", "weakref"):
            text += f"  # serial {op[2]}"
        lines.append(text)
    return "\n".join(lines)

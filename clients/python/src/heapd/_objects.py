"""heapd's names and objects as Python objects: a variable, an object id, a scope."""


class ObjectRef:
    """An object named by id, as heapd's listings give it (``'#17 list'``): read-only, like an ``#id``
    argument (protocol.md §2). ``str(ref)`` is ``#17``, so a ref is usable as a command argument."""

    __slots__ = ("id", "type")

    def __init__(self, id, type=None):
        self.id = int(id)
        self.type = type

    @classmethod
    def parse(cls, item):
        """``'#17 list'`` (a listing's item) or ``'#17'``."""
        word, _, type_name = item.partition(" ")
        if not word.startswith("#"):
            raise ValueError(f"not an object id: {item!r}")
        return cls(int(word[1:]), type_name or None)

    def __str__(self):
        return f"#{self.id}"

    def __repr__(self):
        return f"<heapd object #{self.id}{' ' + self.type if self.type else ''}>"

    def __eq__(self, other):
        return isinstance(other, ObjectRef) and other.id == self.id

    def __hash__(self):
        return hash(self.id)


class Variable:
    """A name in the session's current frame (``x``) or a global (``g.x``). It holds no reference of its
    own: each method asks heapd about what the name is bound to now. ``str(var)`` is the name."""

    __slots__ = ("session", "name")

    def __init__(self, session, name):
        self.session = session
        self.name = name

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<heapd variable {self.name}>"

    def __eq__(self, other):
        return isinstance(other, Variable) and other.session is self.session and other.name == self.name

    def __hash__(self):
        return hash((id(self.session), self.name))

    def getrefcount(self):
        """``sys.getrefcount(x)``: the count plus the call's own temporary reference."""
        return self.session.execute("GETREFCOUNT", self.name)

    def refcount(self):
        """The raw reference count (``REFCOUNT``)."""
        return self.session.execute("REFCOUNT", self.name)

    @property
    def type(self):
        """``type(x).__name__``."""
        return self.session.execute("TYPE", self.name)

    @property
    def id(self):
        """``id(x)``, usable as ``#id``."""
        return self.session.execute("ID", self.name)

    def ref(self):
        """The object the name is bound to now, by id."""
        return ObjectRef(self.id, self.type)

    def repr(self, depth=None):
        """``repr(x)``, containers to ``depth`` levels."""
        if depth is None:
            return self.session.execute("REPR", self.name)
        return self.session.execute("REPR", self.name, depth)

    def __len__(self):
        return self.session.execute("LEN", self.name)

    def __contains__(self, item):
        return self.session.execute("CONTAINS", self.name, item) == 1

    def append(self, item):
        """``x.append(item)``; returns the new length."""
        return self.session.execute("APPEND", self.name, item)

    def delete(self):
        """``del x``."""
        self.session.execute("DEL", self.name)


class Scope:
    """A function frame: ``with session.scope("work"):`` is ``SCOPE PUSH work`` … ``SCOPE POP``. Variables
    made inside are its locals, released when the block ends (``released`` says how many)."""

    def __init__(self, session, name):
        self.session = session
        self.name = name
        self.depth = None
        self.released = None

    def __enter__(self):
        self.depth = self.session.execute("SCOPE", "PUSH", self.name)
        return self

    def __exit__(self, *exc_info):
        if self.session.closed:
            return False
        self.released = self.session.execute("SCOPE", "POP")
        return False

    def __repr__(self):
        return f"<heapd scope {self.name} depth={self.depth}>"

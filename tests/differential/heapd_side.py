"""Runs a differential-test program against a running heapd and records what its ``GC`` commands
report, in the same observation format as ``cpython_side.py`` (described there).

The program format is in ``programs.py``. Each op becomes heapd commands (``NEW``, ``APPEND``,
``SETITEM``, ``SETATTR``, ``DEL``, ``WEAKREF``, ``FINALIZER``, ``GC COLLECT``, …), sent inline over the
Unix socket by the small RESP2 client below, pipelined between collections.

How each observation is made:

- identity: after every creation op, ``ID v`` gives the object's id; heapd ids carry the slot's
  generation, so an id never names a later tenant of the slot (``-NOOBJ`` once the object is freed);
- alive / tracked: ``GC IS_TRACKED #id`` (``-NOOBJ`` means dead); generation: ``GC GET_OBJECTS g`` for
  g = 0, 1, 2; finalized: ``GC IS_FINALIZED #id``; a weakref's referent gone: ``REPR #id`` ends in
  ``dead>``; ``gc.garbage``: ``GC GARBAGE``; stats: ``GC GET_STATS`` minus its value when the program
  started;
- events (finalizers, weakref clears, collection stop infos) arrive on a second connection in
  ``GC SUBSCRIBE`` mode. To cut that stream into the same buckets as CPython's (one boundary before
  and one after every collection), the program's connection emits a *barrier*: it creates an
  instance of a class named ``DiffBarrierN``, gives it a finalizer and deletes it; the subscriber
  reads events until that finalizer's event arrives. Events are pushed in the order heapd emits
  them, and everything the program did before the barrier was emitted before it. The barrier after
  a collection is sent only once the collection's reply is back: the collector thread's events are
  queued on the subscriber's event loop and must be queued before the barrier's.
- leaks: after the epilogue (every variable deleted, gc.garbage emptied, a full collection) heapd's
  ``INFO objects`` count must be back to what it was before the program;
- an automatic collection (``auto``): ``GC GET_COUNT`` gives count0; threshold 0 goes to 1 and one
  ``NEW _autoN dict`` (two when count0 is 0) passes it, the last of them right before ``GC WAIT``, which
  counts from the start of the command before it, so the collection that allocation triggered cannot be
  missed however the requests are chunked. An empty dict is untracked, as CPython's ``dict()``, so it is
  not part of the collection on either side (see ``cpython_side``);
- probes: ``GC GET_REFERENTS v`` and ``GC GET_REFERRERS v``, each '#id type' mapped to the serial of
  a program object (atoms to their type), an unknown ``str`` (an instance's class name) to ``"type"``;
- breaking uncollectable cycles at the end (``breakgarbage``): ``GC GARBAGE GETITEM`` binds each entry
  of gc.garbage, in serial order, which is then emptied with ``CLEAR`` or ``DELATTR`` a-d.
"""

from __future__ import annotations

import socket

BARRIER_PREFIX = "DiffBarrier"


class RespError:
    """An error reply (``-CODE message``): a value, not an exception, since some are expected."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.code = text.split(" ", 1)[0]

    def __repr__(self) -> str:
        return f"RespError({self.text!r})"


class HarnessError(Exception):
    """heapd did something the harness cannot go on from (a command failed, a timeout)."""


class RespConnection:
    """A minimal RESP2 client over a Unix socket: inline requests, parsed replies."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = bytearray()
        self.position = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, lines: list[str]) -> None:
        if lines:
            self.sock.sendall(("\n".join(lines) + "\n").encode())

    def call(self, lines: list[str]) -> list:
        """Sends the requests pipelined, returns their replies in order."""
        self.send(lines)
        return [self.read() for _ in lines]

    def call1(self, line: str):
        return self.call([line])[0]

    def _fill(self) -> None:
        if self.position > 65536:
            del self.buffer[: self.position]
            self.position = 0
        try:
            chunk = self.sock.recv(1 << 16)
        except socket.timeout as error:
            raise HarnessError("timed out waiting for heapd") from error
        if not chunk:
            raise HarnessError("heapd closed the connection")
        self.buffer += chunk

    def _line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n", self.position)
            if end >= 0:
                line = bytes(self.buffer[self.position : end])
                self.position = end + 2
                return line
            self._fill()

    def read(self):
        """One reply: str (simple or bulk; None for nil), int, RespError or a list."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            while len(self.buffer) - self.position < length + 2:
                self._fill()
            data = bytes(self.buffer[self.position : self.position + length])
            self.position += length + 2
            return data.decode()
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read() for _ in range(count)]
        raise HarnessError(f"unparseable reply line {line!r}")


def commands_for(op: list) -> list[str]:
    """The heapd commands that perform `op` (without the ID queries that follow creations)."""
    code = op[0]
    if code in ("int", "str"):
        return [f"NEW {op[1]} {code} {op[3]}"]
    if code in ("list", "tuple", "set"):
        return [" ".join([f"NEW {op[1]} {code}"] + list(op[3]))]
    if code == "dict":
        return [f"NEW {op[1]} dict"]
    if code == "obj":
        finalizer = [f"FINALIZER {op[1]} LEGACY"] if op[3] == "legacy" else [f"FINALIZER {op[1]}"] if op[3] else []
        return [f"NEW {op[1]} object Node"] + finalizer
    if code == "weakref":
        return [f"WEAKREF {op[1]} {op[3]}"]
    simple = {
        "append": "APPEND {1} {2}",
        "lset": "SETITEM {1} {2} {3}",
        "ldel": "DELITEM {1} {2}",
        "pop": "POP {1} {2} {3}",
        "getitem": "GETITEM {1} {2} {3}",
        "dset": "SETITEM {1} {2} {3}",
        "ddel": "DELITEM {1} {2}",
        "setattr": "SETATTR {1} {2} {3}",
        "delattr": "DELATTR {1} {2}",
        "getattr": "GETATTR {1} {2} {3}",
        "add": "ADD {1} {2}",
        "discard": "DISCARD {1} {2}",
        "clear": "CLEAR {1}",
        "bind": "SET {1} {2}",
        "collect": "GC COLLECT {1}",
    }
    if code in simple:
        return [simple[code].format(*op)]
    if code == "del":
        return [f"DEL {name}" for name in op[1]]
    if code == "saveall":
        return ["GC SET_DEBUG SAVEALL" if op[1] else "GC SET_DEBUG NONE"]
    if code == "gclear":
        return ["GC GARBAGE CLEAR"]
    if code in ("freeze", "unfreeze"):
        return [f"GC {code.upper()}"]
    if code == "thresholds":
        return [f"GC SET_THRESHOLD 700 {op[1]} {op[2]}"]
    if code == "auto":
        return AUTO_COMMANDS
    if code == "referents":
        return [f"GC GET_REFERENTS {op[1]}"]
    if code == "referrers":
        return [f"GC GET_REFERRERS {op[1]} COUNT 100000"]
    if code == "breakgarbage":
        return ["GC GARBAGE GETITEM _g <i> ; CLEAR _g or DELATTR _g a..d ; DEL _g  (each entry, by serial)"]
    raise ValueError(f"unknown op {op!r}")


#: An automatic collection (shown for reports; ``HeapdSide`` sends one NEW when count0 >= 1).
AUTO_COMMANDS = ["GC GET_COUNT", "GC SET_THRESHOLD 1", "GC ENABLE", "NEW _auto1 dict", "NEW _auto2 dict",
                 "GC WAIT 1 TIMEOUT 20000", "GC DISABLE", "DEL _auto1 _auto2"]


CREATIONS = {"int", "str", "list", "tuple", "dict", "set", "obj", "weakref"}


def _object_id(text: str) -> int:
    """'#17 list' or '#17' -> 17."""
    return int(text.split(" ", 1)[0].lstrip("#"))


class HeapdSide:
    """Runs programs against one heapd: a subscriber connection for the whole run, and a fresh
    connection (a fresh session) per program."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.barriers = 0
        self.subscriber = RespConnection(socket_path)
        reply = self.subscriber.call1("GC SUBSCRIBE")
        if not (isinstance(reply, list) and reply[:1] == ["subscribe"]):
            raise HarnessError(f"GC SUBSCRIBE replied {reply!r}")

    def close(self) -> None:
        self.subscriber.close()

    # -- events ----------------------------------------------------------------------------------

    def _barrier_commands(self) -> tuple[str, list[str]]:
        self.barriers += 1
        name = f"{BARRIER_PREFIX}{self.barriers}"
        return name, [f"NEW _barrier object {name}", "FINALIZER _barrier", "DEL _barrier"]

    def _read_until(self, barrier: str) -> list[list]:
        """Pushed events up to the barrier's finalizer event (excluded)."""
        events = []
        while True:
            event = self.subscriber.read()
            if not isinstance(event, list) or not event:
                raise HarnessError(f"unexpected push {event!r}")
            if event[0] == "finalizer" and event[2] == barrier:
                return events
            if event[0] == "finalizer" and str(event[2]).startswith(BARRIER_PREFIX):
                continue  # a barrier of an earlier, abandoned program
            events.append(event)

    def _bucket(self, events: list[list], serial_of: dict[int, int]) -> dict:
        fin, wr, cb = [], [], []
        order = ""

        def name(text: str) -> int:
            return serial_of.get(_object_id(text), -1)

        for event in events:
            letter = None
            if event[0] == "finalizer":
                fin.append(name(event[1]))
                letter = "f"
            elif event[0] == "weakref-cleared":
                wr.append(name(event[1]))
                letter = "w"
            elif event[0] == "gc-stop":
                cb.append([event[1], event[2], event[3]])
            if letter and (not order or order[-1] != letter):
                order += letter
        return {"fin": sorted(fin), "wr": sorted(wr), "order": order, "cb": cb}

    # -- a program ---------------------------------------------------------------------------------

    def objects_count(self, conn: RespConnection) -> int:
        info = conn.call1("INFO objects")
        for line in info.splitlines():
            if line.startswith("objects:"):
                return int(line.split(":", 1)[1])
        raise HarnessError("INFO objects has no objects: line")

    def run_program(self, ops: list) -> dict:
        conn = RespConnection(self.socket_path)
        try:
            result = self._run(conn, ops)
            conn.call1("QUIT")
            return result
        finally:
            conn.close()

    def _run(self, conn: RespConnection, ops: list) -> dict:
        serial_of: dict[int, int] = {}  # heapd id -> serial
        id_of: dict[int, int] = {}  # serial -> heapd id
        kinds: dict[int, str] = {}  # serial -> kind (containers only)
        finalizable: set[int] = set()

        # Start: flush events of earlier programs, turn automatic collection off, and collect all, so the
        # long-lived counts start from an empty generation 2, as CPython's side does; note the stats.
        # The collection's events come from the collector thread: its reply must be back before the
        # barrier is sent (see the module docstring).
        # The class's shared keys get the attribute names in the order the oracle seeds them at import
        # (``cpython_side._seed_shared_keys``): a dying instance drops its attributes in that order on
        # both sides, whatever order the program set them in.
        seed = ["NEW __seed object Node", "NEW __value int 0"]
        seed += [f"SETATTR __seed {name} __value" for name in "abcd"] + ["DEL __seed", "DEL __value"]
        settings = seed + ["GC DISABLE", "GC SET_DEBUG NONE", "GC SET_THRESHOLD 700 10 10", "GC COLLECT 2"]
        self._check(conn.call(settings), settings)
        barrier, commands = self._barrier_commands()
        self._check(conn.call(commands), commands)
        self._read_until(barrier)
        before = self.objects_count(conn)
        stats0 = self._stats(conn)

        checkpoints: list[dict] = []
        buckets: list[dict] = []
        probes: list[dict] = []
        atoms: dict[int, str] = {}  # serial -> "int" or "str"
        pending: list[str] = []  # commands not sent yet
        id_requests: list[tuple[int, int]] = []  # (position in pending, serial)

        def flush() -> list:
            replies = conn.call(pending)
            self._check(replies, pending)
            for position, serial in id_requests:
                serial_of[replies[position]] = serial
                id_of[serial] = replies[position]
            result = replies
            pending.clear()
            id_requests.clear()
            return result

        for index, op in enumerate(ops):
            code = op[0]
            if code in ("referents", "referrers"):
                if pending:
                    flush()
                probes.append({"op": index, "value": self._probe(conn, op, serial_of, kinds, atoms)})
                continue
            if code == "breakgarbage":
                if pending:
                    flush()
                self._break_garbage(conn, serial_of, kinds)
                continue
            if code not in ("collect", "auto"):
                pending.extend(commands_for(op))
                if code in CREATIONS:
                    serial = op[2]
                    id_requests.append((len(pending), serial))
                    pending.append(f"ID {op[1]}")
                    if code not in ("int", "str"):
                        kinds[serial] = "tuple0" if code == "tuple" and not op[3] else code
                    else:
                        atoms[serial] = code
                    if code == "obj" and op[3] is True:
                        finalizable.add(serial)
                continue
            # A collection: barrier, collect (one round trip), then barrier and checkpoint (another).
            before_name, before_commands = self._barrier_commands()
            pending.extend(before_commands)
            if code == "collect":
                collect_position = len(pending)
                pending.extend(commands_for(op))
                returned = flush()[collect_position]
            else:
                returned = self._auto(conn, pending, flush)
            after_name, after_commands = self._barrier_commands()
            self._check(conn.call(after_commands), after_commands)
            buckets.append(self._bucket(self._read_until(before_name), serial_of))
            buckets.append(self._bucket(self._read_until(after_name), serial_of))
            checkpoints.append(
                self._checkpoint(conn, index, returned, stats0, id_of, serial_of, kinds, finalizable))
        if pending:
            flush()
        leaked = self.objects_count(conn) - before
        return {"checkpoints": checkpoints, "buckets": buckets, "probes": probes, "leaked": leaked}

    def _auto(self, conn: RespConnection, pending: list[str], flush) -> None:
        """An automatic collection now (see the module docstring); the before-barrier is pending."""
        pending.append("GC GET_COUNT")
        count0 = flush()[-1][0]
        news = ["NEW _auto1 dict"] + (["NEW _auto2 dict"] if count0 < 1 else [])
        commands = ["GC SET_THRESHOLD 1", "GC ENABLE"] + news + ["GC WAIT 1 TIMEOUT 20000", "GC DISABLE"]
        replies = conn.call(commands)
        self._check(replies, commands)
        if replies[-2] != 1:
            raise HarnessError(f"GC WAIT after an automatic collection replied {replies[-2]!r}")
        self._check(conn.call(["DEL _auto1"] + (["DEL _auto2"] if len(news) == 2 else [])), ["DEL"])
        return None

    def _token(self, entry: str, serial_of: dict, kinds: dict, atoms: dict):
        object_id = _object_id(entry)
        type_name = entry.split(" ", 1)[1] if " " in entry else "?"
        serial = serial_of.get(object_id)
        if serial is not None and serial in kinds:
            return serial
        if serial is not None and serial in atoms:
            return atoms[serial]
        if type_name in ("int", "str") and serial is None:
            # An atom the program never named (a dict key, an attribute name) or an instance's class
            # name: only the class name can be a referent.
            return "type" if type_name == "str" else "int"
        return "?" + type_name

    def _probe(self, conn: RespConnection, op: list, serial_of: dict, kinds: dict, atoms: dict) -> list:
        if op[0] == "referents":
            reply = conn.call1(f"GC GET_REFERENTS {op[1]}")
            if isinstance(reply, RespError):
                raise HarnessError(f"GC GET_REFERENTS {op[1]} failed: {reply.text}")
            tokens = [self._token(entry, serial_of, kinds, atoms) for entry in reply]
            if reply and not conn.call1(f"TYPE {op[1]}") in ("list", "tuple", "dict"):
                tokens.sort(key=str)
            return tokens
        ids = self._listing(conn, f"GC GET_REFERRERS {op[1]}")
        return sorted((serial_of.get(i, f"?#{i}") for i in ids), key=str)

    def _break_garbage(self, conn: RespConnection, serial_of: dict, kinds: dict) -> None:
        """Empties every object of gc.garbage, in serial order (as cpython_side's op_breakgarbage)."""
        entries = self._listing(conn, "GC GARBAGE")
        order = sorted(range(len(entries)), key=lambda i: serial_of.get(entries[i], -1))
        for position in order:
            kind = kinds.get(serial_of.get(entries[position], -1))
            commands = [f"GC GARBAGE GETITEM _g {position}"]
            if kind in ("list", "dict", "set"):
                commands.append("CLEAR _g")
            elif kind == "obj":
                commands += [f"DELATTR _g {name}" for name in ("a", "b", "c", "d")]
            commands.append("DEL _g")
            for reply, command in zip(conn.call(commands), commands):
                if isinstance(reply, RespError) and not (command.startswith("DELATTR") and reply.code == "KEY"):
                    raise HarnessError(f"{command!r} failed: {reply.text}")

    @staticmethod
    def _check(replies: list, commands: list[str]) -> None:
        for reply, command in zip(replies, commands):
            if isinstance(reply, RespError):
                raise HarnessError(f"{command!r} failed: {reply.text}")

    @staticmethod
    def _stats(conn: RespConnection) -> list[list[int]]:
        stats = []
        for generation in conn.call1("GC GET_STATS"):
            fields = dict(zip(generation[::2], generation[1::2]))
            stats.append([fields["collections"], fields["collected"], fields["uncollectable"]])
        return stats

    @staticmethod
    def _listing(conn: RespConnection, command: str) -> list[int]:
        """The ids of a cursor-paged listing (GC GET_OBJECTS g, GC GARBAGE)."""
        ids: list[int] = []
        cursor = 0
        while True:
            reply = conn.call1(f"{command} CURSOR {cursor} COUNT 100000")
            if isinstance(reply, RespError):
                raise HarnessError(f"{command!r} failed: {reply.text}")
            cursor, batch = reply
            ids.extend(_object_id(entry) for entry in batch)
            if cursor == 0:
                return ids

    def _checkpoint(self, conn, index, returned, stats0, id_of, serial_of, kinds, finalizable) -> dict:
        serials = sorted(kinds)
        queries = [f"GC IS_TRACKED #{id_of[s]}" for s in serials]
        extra: list[tuple[int, str]] = []
        for serial in serials:
            if serial in finalizable:
                extra.append((serial, "fin"))
                queries.append(f"GC IS_FINALIZED #{id_of[serial]}")
            elif kinds[serial] == "weakref":
                extra.append((serial, "dead"))
                queries.append(f"REPR #{id_of[serial]}")
        replies = conn.call(queries)
        generation: dict[int, int] = {}
        foreign: list[int] = []
        for g in range(3):
            for object_id in self._listing(conn, f"GC GET_OBJECTS {g}"):
                serial = serial_of.get(object_id)
                if serial is None:
                    foreign.append(object_id)
                else:
                    generation[serial] = g
        rows: dict[int, list] = {}
        for serial, reply in zip(serials, replies):
            if isinstance(reply, RespError):
                if reply.code != "NOOBJ":
                    raise HarnessError(f"GC IS_TRACKED #{id_of[serial]} failed: {reply.text}")
                continue
            rows[serial] = [serial, bool(reply), generation.get(serial), None, None]
        for (serial, what), reply in zip(extra, replies[len(serials):]):
            if serial not in rows:
                continue
            if isinstance(reply, RespError):
                raise HarnessError(f"query for serial {serial} failed: {reply.text}")
            if what == "fin":
                rows[serial][3] = bool(reply)
            else:
                rows[serial][4] = reply.endswith("dead>")
        garbage = sorted(serial_of.get(object_id, -1) for object_id in self._listing(conn, "GC GARBAGE"))
        stats = [[now[i] - then[i] for i in range(3)] for now, then in zip(self._stats(conn), stats0)]
        counts = conn.call1("GC GET_COUNT")[1:]
        checkpoint = {"op": index, "ret": returned, "alive": [rows[s] for s in sorted(rows)],
                      "garbage": garbage, "stats": stats, "counts": counts}
        if foreign:
            checkpoint["foreign"] = sorted(foreign)
        return checkpoint

"""What a reply must be: exact expectations (the private world) and lenient ones (the shared world).

A ``Step`` is one request and the test its reply must pass. Exact steps come from the client's own
model, so any difference is a lost or leaked reference. Lenient steps act on objects every client
races on: their reply may be any of the error codes such races produce, but never a dropped
connection, a malformed reply, a code that means the soak itself sent nonsense (``SYNTAX``,
``ARGS``, ``UNKNOWN``), or a value that no consistent heap can give (a bound name whose
``GETREFCOUNT`` is below 2).
"""

from __future__ import annotations

from typing import Callable

from resp import NIL_ARRAY, RespError, Simple

# The codes a request on shared objects may get when another client got there first. SYNTAX, ARGS,
# UNKNOWN, SCOPE, PROTO, IO and anything unlisted are failures: either heapd misbehaves or the soak
# sends requests it does not mean to, and both must be seen.
RACE_CODES = frozenset(
    {"NOVAR", "NOOBJ", "WRONGTYPE", "TYPE", "INDEX", "KEY", "VALUE", "DENIED", "STOP", "STATE", "NOSNAPSHOT"})

IMMORTAL_COUNT = 4294967295


def describe(reply) -> str:
    if isinstance(reply, bytes):
        text = reply.decode("utf-8", "replace")
        return repr(text if len(text) <= 120 else text[:120] + "…")
    return repr(reply)


class Expect:
    """The reply a step must get; ``check`` returns None or what was wrong."""

    def check(self, reply) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError


class Ok(Expect):
    def check(self, reply):
        return None if isinstance(reply, Simple) and reply == "OK" else f"expected +OK, got {describe(reply)}"


class Int(Expect):
    def __init__(self, value: int) -> None:
        self.value = value

    def check(self, reply):
        if isinstance(reply, int) and not isinstance(reply, bool) and reply == self.value:
            return None
        return f"expected :{self.value}, got {describe(reply)}"


class Err(Expect):
    def __init__(self, code: str) -> None:
        self.code = code

    def check(self, reply):
        return None if isinstance(reply, RespError) and reply.code == self.code else \
            f"expected -{self.code}, got {describe(reply)}"


class Bulk(Expect):
    """A bulk string, equal to ``text`` when given (a repr the model can predict)."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text

    def check(self, reply):
        if not isinstance(reply, bytes):
            return f"expected a bulk string, got {describe(reply)}"
        if self.text is not None and reply.decode("utf-8", "replace") != self.text:
            return f"expected {self.text!r}, got {describe(reply)}"
        return None


class SimpleText(Expect):
    def __init__(self, text: str) -> None:
        self.text = text

    def check(self, reply):
        return None if isinstance(reply, Simple) and reply == self.text else \
            f"expected +{self.text}, got {describe(reply)}"


class Custom(Expect):
    """A test of the reply by a function (returns None or what was wrong)."""

    def __init__(self, test: Callable[[object], str | None]) -> None:
        self.test = test

    def check(self, reply):
        return self.test(reply)


class Race(Expect):
    """A shared-world reply: a race code, or a success that passes ``shape`` (if given)."""

    def __init__(self, shape: Callable[[object], str | None] | None = None, extra_codes=frozenset()) -> None:
        self.shape = shape
        self.extra_codes = extra_codes

    def check(self, reply):
        if isinstance(reply, RespError):
            if reply.code in RACE_CODES or reply.code in self.extra_codes:
                return None
            return f"unexpected error {describe(reply)}"
        return self.shape(reply) if self.shape else None


# Shapes of successful shared replies: what holds whatever the other clients did.
def is_ok(reply):
    return None if isinstance(reply, Simple) and reply == "OK" else f"expected +OK, got {describe(reply)}"


def is_int(reply):
    return None if isinstance(reply, int) else f"expected an integer, got {describe(reply)}"


def at_least(n: int):
    def test(reply):
        if isinstance(reply, int) and reply >= n:
            return None
        return f"expected an integer >= {n}, got {describe(reply)}"
    return test


def is_bulk(reply):
    return None if isinstance(reply, bytes) else f"expected a bulk string, got {describe(reply)}"


def is_simple(reply):
    return None if isinstance(reply, Simple) else f"expected a simple string, got {describe(reply)}"


def is_array(reply):
    return None if isinstance(reply, list) else f"expected an array, got {describe(reply)}"


def is_bulk_or_ok(reply):
    return is_bulk(reply) if not isinstance(reply, Simple) else is_ok(reply)


def is_traceback(reply):
    if reply is NIL_ARRAY:
        return None
    if isinstance(reply, list) and all(isinstance(frame, bytes) for frame in reply):
        return None
    return f"expected frames or a nil array, got {describe(reply)}"


def is_cursor_batch(reply):
    """A listing batch: [next cursor, ['#id type', …]]."""
    if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[0], int) and isinstance(reply[1], list) \
            and all(isinstance(item, bytes) and item.startswith(b"#") for item in reply[1]):
        return None
    return f"expected [cursor, ['#id type' …]], got {describe(reply)}"


def refcount_sane(reply):
    """GETREFCOUNT of a bound name: the binding and the call's own reference, so at least 2."""
    return at_least(2)(reply)


class Step:
    """One request of a batch: the command, the reply it needs, and what the client learns from a
    successful reply (``after``: run when the check passed and the reply is not an error)."""

    __slots__ = ("cmd", "kind", "expect", "after", "private")

    def __init__(self, cmd: str, kind: str, expect: Expect, after=None, private: bool = False) -> None:
        self.cmd = cmd
        self.kind = kind
        self.expect = expect
        self.after = after
        self.private = private


def kind_of(cmd: str) -> str:
    """The command's name for the figures: one word, two for the grouped commands."""
    words = cmd.split()
    if words and words[0] == "AT" and len(words) > 2:
        words = words[2:]
    if not words:
        return "?"
    head = words[0].upper()
    if head in ("GC", "TRACEMALLOC", "SCOPE", "DEBUG") and len(words) > 1:
        return f"{head} {words[1].upper()}"
    return head

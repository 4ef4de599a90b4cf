"""A heapd session: one connection, its variables and scopes, and ``gc`` and ``tracemalloc`` over it."""

import datetime
import os

from . import _socket
from ._command import split_line
from ._errors import ConnectionFailed, HeapdError
from ._gc import GC
from ._objects import Scope, Variable
from ._tracemalloc import Tracemalloc
from ._transport import Transport


def connect(path=None, timeout=None, protocol=2):
    """Connects to heapd and returns a new ``Session``.

    ``path`` is the socket; without it, heapctl's choice: ``$HEAPD_SOCKET`` when set, else the first of the
    per-user default (``$XDG_RUNTIME_DIR/heapd.sock``, ``/tmp/heapd-UID.sock``) and the system socket
    ``/run/heapd/heapd.sock`` that exists. ``timeout`` bounds each reply in seconds (default: none, since
    ``GC COLLECT`` on a big heap or ``GC WAIT`` may take long). ``protocol`` is the reply encoding, 2
    (RESP2, the default: no ``HELLO``) or 3 (``HELLO 3`` first); the session's methods return the same
    values with either, ``execute`` returns dicts for RESP3's maps. Raises ``ConnectionFailed``.
    """
    if protocol not in (2, 3):
        raise ValueError(f"protocol must be 2 or 3, not {protocol!r}")
    if path is None:
        candidates = _socket.candidates()
        path = find_socket(candidates)
        tried = [path] if _socket.is_socket(path) else candidates
    else:
        path = os.fspath(path)
        tried = [path]
    try:
        return Session(Transport(path, timeout=timeout, protocol=protocol))
    except HeapdError:
        raise
    except Exception as error:  # redis.ConnectionError wraps the OSError; say which paths were tried
        reason = _reason(error)
        raise ConnectionFailed([(p, reason if p == path else "no socket there") for p in tried]) from error


def find_socket(candidates=None):
    """The socket ``connect()`` uses without a path: the first candidate that exists, else the first."""
    candidates = _socket.candidates() if candidates is None else candidates
    return next((candidate for candidate in candidates if _socket.is_socket(candidate)), candidates[0])


def _reason(error):
    cause = error.__cause__ or error.__context__ or error
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error)


class Session:
    """One heapd session (one connection), like one Python thread: its variables live in its frames until
    they are deleted, their scope is popped, or the session closes (``close()``, or leaving ``with``).

    ``execute`` runs any command; ``gc`` and ``tracemalloc`` mirror Python's modules; ``new``, ``var``,
    ``scope`` give variables and frames as Python objects.
    """

    def __init__(self, transport):
        self._transport = transport
        self.closed = False
        self.gc = GC(self)
        self.tracemalloc = Tracemalloc(self)

    @property
    def path(self):
        """The socket this session is connected to."""
        return self._transport.path

    @property
    def protocol(self):
        """The reply encoding, 2 (RESP2) or 3 (RESP3), as ``connect`` was given it."""
        return self._transport.protocol

    # -- commands -------------------------------------------------------------------------------------

    def execute(self, *command):
        """Runs one command and returns its reply as Python values: ``+OK`` and bulk strings as ``str``
        (``bytes`` when not UTF-8), integers as ``int``, nil as ``None``, arrays as lists. An error reply
        raises ``HeapdError`` with its ``code``.

        One string is a request line, quoted as at heapctl's prompt (``execute('NEW s str "a b"')``);
        several arguments are sent as they are (``execute("NEW", "s", "str", "a b")``). Variables and
        ``ObjectRef``s stand for their names and ``#id``s, numbers for their decimal text.
        """
        if self.closed:
            raise HeapdError("CLOSED", "the session is closed")
        if len(command) == 1 and isinstance(command[0], (str, bytes)):
            arguments = split_line(command[0])
        else:
            arguments = [_argument(word) for word in command]
        if not arguments:
            raise HeapdError("SYNTAX", "empty request")
        return self._transport.call(*arguments)

    def close(self):
        """Ends the session: heapd releases every reference its frames held."""
        if not self.closed:
            self.closed = True
            self.gc._stop_events()
            self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __repr__(self):
        return f"<heapd.Session {self.path}{' closed' if self.closed else ''}>"

    # -- variables and scopes -------------------------------------------------------------------------

    def new(self, name, type, *arguments):
        """``name = type(arguments…)`` (``NEW``); returns the variable."""
        self.execute("NEW", name, type, *arguments)
        return Variable(self, str(name))

    def var(self, name):
        """The variable ``name`` (``g.name`` for a global); heapd is asked nothing until it is used."""
        return Variable(self, name)

    __getitem__ = var

    def set(self, target, source):
        """``target = source`` (``SET``); returns the target variable."""
        self.execute("SET", target, source)
        return Variable(self, str(target))

    def delete(self, *names):
        """``del name, …`` (``DEL``); returns how many were deleted."""
        return self.execute("DEL", *names)

    def vars(self):
        """The current frame's variables as ``{name: repr}`` (``VARS``)."""
        return _pairs(self.execute("VARS"))

    def globals(self):
        """The shared globals as ``{"g.name": repr}`` (``VARS GLOBALS``)."""
        return _pairs(self.execute("VARS", "GLOBALS"))

    def scope(self, name):
        """A function frame for ``with``: ``SCOPE PUSH name`` on entry, ``SCOPE POP`` on exit."""
        return Scope(self, name)

    def scopes(self):
        """The frame names, outermost first (``SCOPE LIST``)."""
        return self.execute("SCOPE", "LIST")

    def at(self, position=None):
        """Sets the session's position (``AT file:line``), to which tracemalloc attributes allocations;
        without an argument, returns the current position."""
        if position is None:
            return self.execute("AT")
        return self.execute("AT", position)

    def info(self, section=None):
        """``INFO`` as a flat ``{key: value}``: numbers as ``int`` or ``float``, the rest as ``str``."""
        text = self.execute("INFO") if section is None else self.execute("INFO", section)
        result = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(":")
            result[key] = _number(value)
        return result

    # -- heap images ----------------------------------------------------------------------------------

    def save(self, name=None):
        """Writes a heap image into heapd's snapshot directory (``SAVE [name]``; without a name heapd's
        default, ``heap.image``) and returns ``True`` once it is on disk, as redis-py's ``save``. The world
        is stopped while the heap is copied; ``heapctl inspect`` reads the file, ``heapd --image`` loads
        it. A save already running raises ``HeapdStateError``, a bad name ``HeapdError``."""
        return self.execute("SAVE") == "OK" if name is None else self.execute("SAVE", name) == "OK"

    def bgsave(self, name=None):
        """Like ``save`` but returns once the heap is copied (``BGSAVE [name]``), while heapd writes the
        file in the background: ``lastsave()`` changes, and ``info("persistence")["saving"]`` drops to 0,
        when it is on disk. Returns ``True``, as redis-py's ``bgsave``."""
        self.execute("BGSAVE") if name is None else self.execute("BGSAVE", name)
        return True

    def lastsave(self):
        """When the last successful ``save`` or ``bgsave`` landed (``LASTSAVE``), as a local
        ``datetime.datetime`` to the second like redis-py's ``lastsave``; ``None`` before the first."""
        seconds = self.execute("LASTSAVE")
        return datetime.datetime.fromtimestamp(seconds) if seconds else None


def _argument(word):
    if isinstance(word, bytes):
        return word
    if isinstance(word, bool):
        return "true" if word else "false"
    return str(word)


def _pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

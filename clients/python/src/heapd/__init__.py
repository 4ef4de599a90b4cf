"""heapd's Python client: Python's memory model as a service, from Python.

    import heapd
    with heapd.connect() as session:            # the socket heapctl would use
        session.execute("NEW x list")            # any command; the reply as Python values
        x = session.var("x")
        x.getrefcount()                          # 2, as sys.getrefcount
        session.gc.collect()                     # gc's functions, over heapd
        session.tracemalloc.take_snapshot()      # a real tracemalloc.Snapshot

The transport is redis-py (RESP2, one connection a session); see the package's README.md.
"""

from ._errors import (
    ConnectionFailed,
    HeapdError,
    HeapdIndexError,
    HeapdIOError,
    HeapdPermissionError,
    HeapdStateError,
    HeapdTimeoutError,
    HeapdTypeError,
    HeapdValueError,
    NoVariableError,
)
from ._events import Events
from ._objects import ObjectRef, Scope, Variable
from ._session import Session, connect
from ._socket import SYSTEM_SOCKET, candidates as socket_candidates
from ._tracemalloc import load, snapshot_from_json

__version__ = "0.1.0"

__all__ = [
    "ConnectionFailed",
    "Events",
    "HeapdError",
    "HeapdIndexError",
    "HeapdIOError",
    "HeapdPermissionError",
    "HeapdStateError",
    "HeapdTimeoutError",
    "HeapdTypeError",
    "HeapdValueError",
    "NoVariableError",
    "ObjectRef",
    "SYSTEM_SOCKET",
    "Scope",
    "Session",
    "Variable",
    "connect",
    "load",
    "snapshot_from_json",
    "socket_candidates",
]

"""One connection to heapd over redis-py, in RESP2 (the default) or RESP3.

A heapd connection is a session (its variables and scopes live as long as it does), so this is one
``redis.connection.UnixDomainSocketConnection`` with no pool and no retry: a reconnect would silently
start a new, empty session. With ``protocol=2`` (the default) redis-py sends nothing on connect: no
``HELLO`` (redis-py 8 defaults to RESP3), no ``CLIENT SETINFO`` (``driver_info=None``, or
``lib_name=None`` before redis-py 7.2), no ``CLIENT SETNAME``, no ``SELECT``, no health-check ``PING``.
With ``protocol=3`` it sends ``HELLO 3`` first, and heapd answers in RESP3 (protocol.md §1): maps
arrive as dicts, booleans as ``True``/``False``, events as push messages.

RESP2 is the default because it is the encoding every redis-py since 2.x reads the same way (RESP3 needs
redis-py 5, and its parser differs between the pure-Python and hiredis builds), because protocol.md's
examples are written in it, and because it costs no ``HELLO`` round trip per connection. The session's
methods (``gc``, ``tracemalloc``, …) give the same Python values with either.
"""

import inspect

import redis
from redis.connection import UnixDomainSocketConnection
from redis.exceptions import ResponseError

from ._errors import HeapdError

_NO_SETINFO = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(redis.connection.AbstractConnection.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)


class Transport:
    """Sends argument lists and returns replies as Python values; error replies raise HeapdError."""

    def __init__(self, path, timeout=None, protocol=2):
        if protocol not in (2, 3):
            raise ValueError(f"protocol must be 2 or 3, not {protocol!r}")
        self.path = path
        self.protocol = protocol
        self._connection = UnixDomainSocketConnection(
            path=path,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            protocol=protocol,
            health_check_interval=0,
            retry_on_timeout=False,
            **_NO_SETINFO,
        )
        self._connection.connect()

    def call(self, *arguments):
        """heapd's reply to one request, converted by ``to_python``."""
        self._connection.send_command(*arguments, check_health=False)
        return self.read()

    def read(self, timeout=None):
        """The next reply or pushed event; with ``timeout`` seconds, None when nothing arrived by then.
        In RESP3 an event is a push message, which redis-py returns only when asked for one."""
        options = {"push_request": True} if self.protocol == 3 else {}
        try:
            if timeout is None:
                reply = self._connection.read_response(disable_decoding=True, **options)
            else:
                if not self._connection.can_read(timeout=timeout):
                    return None
                reply = self._connection.read_response(disable_decoding=True, **options)
        except ResponseError as error:
            raise _error(error) from None
        return to_python(reply)

    def close(self):
        self._connection.disconnect()


def _error(error):
    code = getattr(error, "status_code", None)
    text = str(error)
    if code and not text.startswith(code):
        return HeapdError(code, text)
    return HeapdError.from_reply(text)


def to_python(reply):
    """RESP values as Python's: bulk and simple strings as str (bytes when not UTF-8), integers as int,
    nil as None, arrays, sets and pushes as lists, maps as dicts, booleans and doubles as they are; an
    error nested in an array as a HeapdError value (not raised)."""
    if isinstance(reply, bytes):
        try:
            return reply.decode("utf-8")
        except UnicodeDecodeError:
            return reply
    if isinstance(reply, list):
        return [to_python(item) for item in reply]
    if isinstance(reply, dict):
        return {to_python(key): to_python(value) for key, value in reply.items()}
    if isinstance(reply, ResponseError):
        return _error(reply)
    return reply

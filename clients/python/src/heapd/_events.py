"""heapd's pushed events (``GC SUBSCRIBE``, protocol.md §5) on a connection of their own.

A subscribed RESP2 connection accepts nothing but ``PING``, ``QUIT``, ``HELLO`` and ``GC UNSUBSCRIBE``, so
events never share the session's connection: ``Events`` opens a second one to the same socket. With
``protocol=3`` the events arrive as RESP3 push messages; the iterator gives the same lists.
"""

from ._transport import Transport


class Events:
    """An iterator over heapd's events, each a list: ``["gc-start", generation]``,
    ``["gc-stop", generation, collected, uncollectable, pause_us]``, ``["finalizer", "#id", type]``,
    ``["weakref-cleared", "#weakref", "#target"]``. Subscribed once the constructor returns."""

    def __init__(self, path=None, timeout=None, protocol=2):
        """``path`` is the socket (default: the one ``heapd.connect()`` finds); ``timeout`` ends the
        iteration after that many seconds without an event (default: wait for ever)."""
        if path is None:
            from ._session import find_socket

            path = find_socket()
        self._transport = Transport(path, protocol=protocol)
        self.timeout = timeout
        reply = self._transport.call("GC", "SUBSCRIBE")
        if not (isinstance(reply, list) and reply[:1] == ["subscribe"]):
            self._transport.close()
            raise RuntimeError(f"GC SUBSCRIBE replied {reply!r}")

    def next(self, timeout=None):
        """The next event, or None when none came within ``timeout`` seconds (None: wait for one)."""
        return self._transport.read(timeout=timeout)

    def __iter__(self):
        return self

    def __next__(self):
        event = self.next(self.timeout)
        if event is None:
            raise StopIteration
        return event

    def close(self):
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

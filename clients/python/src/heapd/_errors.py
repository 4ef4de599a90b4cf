"""heapd's error replies as Python exceptions.

``-CODE message`` becomes a ``HeapdError`` whose ``code`` is the stable wire code of protocol.md §4. Where
the code has a Python analogue, the exception is also an instance of it, so ``except NameError`` catches
``-NOVAR`` and ``except RuntimeError`` catches ``-STATE`` as it would catch CPython's own.
"""


class HeapdError(Exception):
    """An error reply from heapd, or a request heapd would refuse. ``code`` is the wire code (``NOVAR``,
    ``WRONGTYPE``, ``STATE``, …); ``message`` the text for people, which may change between versions."""

    def __init__(self, code, message=""):
        super().__init__(f"{code} {message}".rstrip())
        self.code = code
        self.message = message

    @classmethod
    def from_reply(cls, text):
        """The exception for an error reply's text, ``CODE message``."""
        code, _, message = text.partition(" ")
        return _BY_CODE.get(code, HeapdError)(code, message)


def _error_class(name, analogue):
    return type(name, (HeapdError, analogue), {"__module__": "heapd", "__doc__": f"HeapdError that is a {analogue.__name__}."})


NoVariableError = _error_class("NoVariableError", NameError)
HeapdTypeError = _error_class("HeapdTypeError", TypeError)
HeapdIndexError = _error_class("HeapdIndexError", IndexError)
HeapdValueError = _error_class("HeapdValueError", ValueError)
HeapdPermissionError = _error_class("HeapdPermissionError", PermissionError)
HeapdStateError = _error_class("HeapdStateError", RuntimeError)
HeapdIOError = _error_class("HeapdIOError", OSError)
HeapdTimeoutError = _error_class("HeapdTimeoutError", TimeoutError)

_BY_CODE = {
    "NOVAR": NoVariableError,
    "WRONGTYPE": HeapdTypeError,
    "TYPE": HeapdTypeError,
    "ARGS": HeapdTypeError,
    "INDEX": HeapdIndexError,
    "VALUE": HeapdValueError,
    "DENIED": HeapdPermissionError,
    "STATE": HeapdStateError,
    "IO": HeapdIOError,
    "TIMEOUT": HeapdTimeoutError,
}


class ConnectionFailed(HeapdError, ConnectionError):
    """heapd could not be reached. ``tried`` lists ``(path, reason)`` for each socket tried."""

    def __init__(self, tried):
        self.tried = list(tried)
        reasons = "; ".join(f"{path}: {reason}" for path, reason in self.tried)
        super().__init__("CONNECT", f"could not connect to heapd ({reasons})")

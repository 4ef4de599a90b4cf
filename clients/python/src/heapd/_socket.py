"""Where heapd listens: the socket ``heapd.connect()`` tries, in heapctl's order.

``$HEAPD_SOCKET`` when set (that path only); otherwise the per-user default heapd itself binds
(``$XDG_RUNTIME_DIR/heapd.sock``, else ``/run/heapd/heapd.sock`` for root or ``/tmp/heapd-UID.sock``),
then the system socket that the systemd unit ``heapd.socket`` owns, ``/run/heapd/heapd.sock``.
heapctl resolves the same list (Sources/heapctl/SocketDiscovery.swift).
"""

import os
import stat

SYSTEM_SOCKET = "/run/heapd/heapd.sock"


def user_default(environ, uid):
    """The path heapd binds by default for this user and environment (Sources/HeapProtocol/DefaultSocketPath)."""
    explicit = environ.get("HEAPD_SOCKET")
    if explicit:
        return explicit
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return runtime + "/heapd.sock"
    if uid == 0:
        return SYSTEM_SOCKET
    return f"/tmp/heapd-{uid}.sock"


def candidates(environ=None, uid=None):
    """The socket paths to try, in order."""
    environ = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    first = user_default(environ, uid)
    if environ.get("HEAPD_SOCKET"):
        return [first]
    return [first] if first == SYSTEM_SOCKET else [first, SYSTEM_SOCKET]


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False

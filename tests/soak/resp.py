"""A strict RESP2 client over a Unix socket, for the soak.

Strict on purpose: the soak's claim is that heapd always answers well-formed RESP, so anything the
parser does not recognise (an unknown type byte, a bulk without its CRLF, a non-integer length) is a
``ProtocolFailure``, never skipped. The parser works on a buffer and reports "incomplete" instead of
blocking, so a read that times out in the middle of a reply loses nothing (the subscriber polls with
a short timeout to notice the end of the run).
"""

from __future__ import annotations

import re
import socket
import time

_INTEGER = re.compile(rb"-?[0-9]+\Z")


class ProtocolFailure(Exception):
    """heapd broke the contract: closed the connection, timed out, or sent something not RESP."""


class RespError:
    """An error reply (``-CODE message``). A value, not an exception: most are expected."""

    __slots__ = ("text", "code")

    def __init__(self, text: str) -> None:
        self.text = text
        self.code = text.split(" ", 1)[0]

    def __repr__(self) -> str:
        return f"-{self.text}"


class Simple(str):
    """A simple-string reply (``+OK``), told apart from a bulk string (``bytes``)."""

    def __repr__(self) -> str:
        return f"+{str(self)}"


class NilArray:
    """``*-1``: a nil array (GET_OBJECT_TRACEBACK of an untraced block)."""

    def __repr__(self) -> str:
        return "*-1"


NIL_ARRAY = NilArray()


class _Incomplete(Exception):
    pass


def _parse(buf: bytearray, pos: int):
    """Parses one reply at ``pos``; returns (value, next position) or raises _Incomplete."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        # A line without its CRLF: incomplete, unless it is already absurdly long.
        if len(buf) - pos > 1 << 20:
            raise ProtocolFailure(f"reply line of over 1 MiB without CRLF: {bytes(buf[pos:pos + 80])!r}")
        raise _Incomplete
    head, line = buf[pos:pos + 1], bytes(buf[pos + 1:end])
    nxt = end + 2
    if head == b"+":
        return Simple(line.decode("utf-8", "replace")), nxt
    if head == b"-":
        return RespError(line.decode("utf-8", "replace")), nxt
    if head == b":":
        if not _INTEGER.match(line):
            raise ProtocolFailure(f"integer reply is not an integer: {line!r}")
        return int(line), nxt
    if head == b"$":
        if not _INTEGER.match(line) or int(line) < -1:
            raise ProtocolFailure(f"bad bulk length: {line!r}")
        n = int(line)
        if n == -1:
            return None, nxt
        if len(buf) < nxt + n + 2:
            raise _Incomplete
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise ProtocolFailure(f"bulk of {n} bytes not followed by CRLF: {bytes(buf[nxt + n:nxt + n + 8])!r}")
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if head == b"*":
        if not _INTEGER.match(line) or int(line) < -1:
            raise ProtocolFailure(f"bad array length: {line!r}")
        n = int(line)
        if n == -1:
            return NIL_ARRAY, nxt
        items = []
        for _ in range(n):
            item, nxt = _parse(buf, nxt)
            items.append(item)
        return items, nxt
    raise ProtocolFailure(f"not a RESP reply (type byte {bytes(head)!r}): {bytes(buf[pos:pos + 80])!r}")


class Connection:
    """One session: inline requests, pipelined, replies parsed strictly in order."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as error:
            self.sock.close()
            raise ProtocolFailure(f"connect({path}) failed: {error}") from None
        self.buf = bytearray()
        self.pos = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, lines: list[str], multibulk: bool = False) -> None:
        """Sends requests inline, or as RESP multibulk frames (the form Redis clients use; the words
        of the soak's requests never need quoting, so both forms mean the same)."""
        if multibulk:
            frames = []
            for line in lines:
                words = [w.encode() for w in line.split()]
                frames.append(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words))
            data = b"".join(frames)
        else:
            data = ("\n".join(lines) + "\n").encode()
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise ProtocolFailure(f"send timed out after {self.timeout:.0f} s (heapd stopped reading)") from None
        except OSError as error:
            raise ProtocolFailure(f"send failed: {error}") from None

    def read(self, deadline: float | None = None):
        """The next reply. ``deadline`` (monotonic) overrides the connection's timeout."""
        while True:
            try:
                value, nxt = _parse(self.buf, self.pos)
                self.pos = nxt
                if self.pos > 1 << 16:
                    del self.buf[: self.pos]
                    self.pos = 0
                return value
            except _Incomplete:
                pass
            wait = self.timeout if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                raise socket.timeout
            self.sock.settimeout(wait)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                if deadline is not None:
                    raise
                raise ProtocolFailure(f"no reply within {self.timeout:.0f} s") from None
            except OSError as error:
                raise ProtocolFailure(f"connection error: {error}") from None
            if not chunk:
                raise ProtocolFailure("heapd closed the connection")
            self.buf += chunk

    def call(self, lines: list[str]) -> list:
        """Sends the requests pipelined and returns their replies, in order."""
        self.send(lines)
        return [self.read() for _ in lines]

    def call1(self, line: str):
        return self.call([line])[0]

    def quit(self) -> None:
        """QUIT, then expects exactly ``+OK`` and the end of the stream (no stray reply)."""
        self.send(["QUIT"])
        reply = self.read()
        if not (isinstance(reply, Simple) and reply == "OK"):
            raise ProtocolFailure(f"QUIT replied {reply!r}")
        self.sock.settimeout(self.timeout)
        try:
            rest = self.sock.recv(1024)
        except OSError as error:
            raise ProtocolFailure(f"after QUIT: {error}") from None
        if rest or self.pos < len(self.buf):
            raise ProtocolFailure(f"bytes after QUIT's reply: {bytes(self.buf[self.pos:]) + rest!r}")
        self.close()


def info(conn: Connection, section: str = "") -> dict[str, str]:
    """INFO as a dict of its ``key:value`` lines."""
    reply = conn.call1(f"INFO {section}".strip())
    if not isinstance(reply, bytes):
        raise ProtocolFailure(f"INFO replied {reply!r}")
    fields = {}
    for line in reply.decode().splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value
    return fields

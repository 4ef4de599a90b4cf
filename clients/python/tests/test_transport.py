"""The transport: redis-py speaking RESP2 to heapd, sending nothing but the requests."""

import os
import socket
import tempfile
import threading

import redis

import heapd
from heapd._transport import to_python


def test_the_first_bytes_heapd_receives_are_the_request():
    """No HELLO (redis-py 8 defaults to RESP3), no CLIENT SETINFO, no SELECT: a server that answers only
    PING sees only PING."""
    directory = tempfile.mkdtemp(prefix="heapd-pytest-fake-")
    path = os.path.join(directory, "fake.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    received = bytearray()

    def serve():
        connection, _ = listener.accept()
        with connection:
            while not received.endswith(b"PING\r\n"):
                chunk = connection.recv(4096)
                if not chunk:
                    return
                received.extend(chunk)
            connection.sendall(b"+PONG\r\n")
            connection.recv(4096)  # until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with heapd.connect(path, timeout=5) as session:
            assert session.execute("PING") == "PONG"
    finally:
        thread.join(5)
        listener.close()
        os.unlink(path)
        os.rmdir(directory)
    assert bytes(received) == b"*1\r\n$4\r\nPING\r\n"


def test_redis_py_as_it_is_installed_works_with_protocol_2(server):
    """What the issue's redis-py user should write today: protocol=2 (HELLO is not served yet). The
    CLIENT SETINFO it sends on connect is refused by heapd and ignored by redis-py."""
    client = redis.Redis(unix_socket_path=server.socket, protocol=2)
    try:
        assert client.ping() is True
        assert client.execute_command("NEW", "x", "list") == b"OK"
        assert client.execute_command("GETREFCOUNT", "x") == 2
    finally:
        client.close()


def test_replies_become_python_values():
    assert to_python(b"OK") == "OK"
    assert to_python(b"\xff\x00") == b"\xff\x00"
    assert to_python([b"a", 1, None, [b"b"]]) == ["a", 1, None, ["b"]]


def test_redis_py_version_is_recorded(capsys):
    major = int(redis.__version__.split(".")[0])
    assert major >= 5
    print(f"redis-py {redis.__version__}")

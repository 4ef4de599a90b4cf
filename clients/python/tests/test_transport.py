"""The transport: redis-py speaking RESP2 (sending nothing but the requests) or RESP3 to heapd, and redis-py
itself with its defaults."""

import os
import socket
import tempfile
import threading
import time

import pytest
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


def test_redis_py_with_protocol_2(server):
    """redis-py told to speak RESP2: no HELLO; the CLIENT SETINFO it sends on connect is served."""
    client = redis.Redis(unix_socket_path=server.socket, protocol=2)
    try:
        assert client.ping() is True
        assert client.execute_command("NEW", "x", "list") == b"OK"
        assert client.execute_command("GETREFCOUNT", "x") == 2
        assert client.execute_command("GC", "ISENABLED") == 1
        stats = client.execute_command("GC", "GET_STATS")
        assert [entry[0::2][:3] for entry in stats] == [[b"collections", b"collected", b"uncollectable"]] * 3
        assert client.execute_command("CLIENT", "GETNAME") is None
    finally:
        client.close()


def test_redis_py_defaults_speak_resp3_with_hello(server):
    """redis-py 8 as installed, with its defaults (``HELLO 3``, then ``CLIENT SETINFO``): what failed with
    ``UNKNOWN unknown command 'HELLO'`` before heapd served HELLO."""
    client = redis.Redis(unix_socket_path=server.socket, single_connection_client=True, decode_responses=True)
    try:
        assert client.ping() is True
        hello = client.execute_command("HELLO")
        assert (hello["server"], hello["proto"], hello["mode"]) == ("heapd", 3, "standalone")
        assert hello["id"] == client.client_id()
        assert client.client_getname() is None  # RESP3's nil, `_`
        assert client.client_setname("py-worker") is True
        assert client.client_getname() == "py-worker"
        line = next(line for line in client.execute_command("CLIENT", "LIST").splitlines()
                    if line.startswith(f"id={hello['id']} "))
        assert "name=py-worker" in line and "lib-name=redis-py" in line, line
        assert client.execute_command("GC", "ISENABLED") is True
        stats = client.execute_command("GC", "GET_STATS")
        assert [sorted(entry)[:3] for entry in stats] == [["collected", "collections", "pause_count"]] * 3
        with pytest.raises(redis.ResponseError, match="^NOPROTO"):
            client.execute_command("HELLO", "4")
    finally:
        client.close()


def test_redis_py_command_docs_and_info(server):
    """COMMAND INFO and COMMAND DOCS in Redis 7's shapes, as redis-py parses them in either protocol."""
    for protocol in (2, 3):
        client = redis.Redis(unix_socket_path=server.socket, protocol=protocol, decode_responses=True)
        try:
            info = client.command()
            assert info["new"]["arity"] == -3
            assert "write" in info["new"]["flags"]
            assert client.command_count() == len(info)
            names = client.command_list()
            assert "gc|collect" in names and "hello" in names
            # One string: redis-py would parse a reply to ("COMMAND", "DOCS") with COMMAND's callback.
            docs = client.execute_command("COMMAND DOCS", "gc|collect")
            if protocol == 2:  # a flat array of name, docs; docs a flat array of keys and values
                docs = {docs[0]: dict(zip(docs[1][0::2], docs[1][1::2]))}
            entry = docs["gc|collect"]
            assert entry["group"] == "gc"
            argument = entry["arguments"][0]
            if protocol == 2:
                argument = dict(zip(argument[0::2], argument[1::2]))
            assert (argument["name"], argument["type"], list(argument["flags"])) == ("generation", "string", ["optional"])
        finally:
            client.close()


def test_resp3_events_are_push_messages_on_a_connection_that_still_runs_commands(server):
    """Without pub/sub machinery: a RESP3 connection subscribes, keeps running commands (RESP2 would
    refuse them with SUBSCRIBED), and receives the collector's events as push messages, which redis-py
    hands to its push handler while it reads the replies."""
    client = redis.Redis(unix_socket_path=server.socket, protocol=3, single_connection_client=True)
    pushes = []
    try:
        client.ping()
        client.connection._parser.set_pubsub_push_handler(pushes.append)
        assert client.execute_command("GC", "SUBSCRIBE") == [b"subscribe", b"gc", 1]
        assert client.execute_command("NEW", "x", "list") == b"OK"
        assert client.execute_command("GC", "COLLECT") == 0
        # The events may come after the reply: a PING reads past them.
        deadline = time.monotonic() + 5
        while len(pushes) < 2 and time.monotonic() < deadline:
            client.ping()
        assert pushes[0] == [b"gc-start", 2]
        assert pushes[1][0] == b"gc-stop"
        assert client.execute_command("GC", "UNSUBSCRIBE") == [b"unsubscribe", b"gc", 0]
    finally:
        client.close()


def test_events_read_the_same_in_both_protocols(server):
    with heapd.connect(server.socket) as session:
        for protocol in (2, 3):
            with heapd.Events(server.socket, timeout=5, protocol=protocol) as events:
                session.gc.collect()
                assert next(events) == ["gc-start", 2]
                assert next(events)[0] == "gc-stop"


def test_protocol_must_be_2_or_3(server):
    with pytest.raises(ValueError):
        heapd.connect(server.socket, protocol=4)


def test_replies_become_python_values():
    assert to_python(b"OK") == "OK"
    assert to_python(b"\xff\x00") == b"\xff\x00"
    assert to_python([b"a", 1, None, [b"b"]]) == ["a", 1, None, ["b"]]
    assert to_python({b"proto": 3, b"modules": []}) == {"proto": 3, "modules": []}
    assert to_python([True, 2.5]) == [True, 2.5]


def test_redis_py_version_is_recorded(capsys):
    major = int(redis.__version__.split(".")[0])
    assert major >= 5
    print(f"redis-py {redis.__version__}")

"""heapd.connect() finds the socket as heapctl does."""

import os

import pytest

import heapd
from heapd import _socket


def test_candidates_follow_heapd_then_the_system_socket():
    system = heapd.SYSTEM_SOCKET
    assert _socket.candidates({"HEAPD_SOCKET": "/x.sock", "XDG_RUNTIME_DIR": "/run/user/5"}, 5) == ["/x.sock"]
    assert _socket.candidates({"XDG_RUNTIME_DIR": "/run/user/5"}, 5) == ["/run/user/5/heapd.sock", system]
    assert _socket.candidates({}, 65534) == ["/tmp/heapd-65534.sock", system]
    assert _socket.candidates({}, 0) == [system]
    assert _socket.candidates({"HEAPD_SOCKET": ""}, 0) == [system]


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """No $HEAPD_SOCKET, a per-user runtime directory with no socket in it."""
    monkeypatch.delenv("HEAPD_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def test_heapd_socket_wins(monkeypatch, server):
    monkeypatch.setenv("HEAPD_SOCKET", server.socket)
    with heapd.connect() as session:
        assert session.path == server.socket


def test_the_system_socket_when_the_per_user_one_is_missing(environment, monkeypatch, server):
    monkeypatch.setattr(_socket, "SYSTEM_SOCKET", server.socket)
    with heapd.connect() as session:
        assert session.path == server.socket
        assert session.execute("PING") == "PONG"


def test_the_per_user_socket_first(environment, monkeypatch, server):
    os.symlink(server.socket, environment / "heapd.sock")
    monkeypatch.setattr(_socket, "SYSTEM_SOCKET", str(environment / "no-system.sock"))
    with heapd.connect() as session:
        assert session.path == str(environment / "heapd.sock")


def test_no_socket_anywhere_names_every_path_tried(environment, monkeypatch):
    monkeypatch.setattr(_socket, "SYSTEM_SOCKET", str(environment / "no-system.sock"))
    with pytest.raises(heapd.ConnectionFailed) as caught:
        heapd.connect()
    assert [path for path, _ in caught.value.tried] == [str(environment / "heapd.sock"), str(environment / "no-system.sock")]
    assert isinstance(caught.value, ConnectionError)
    assert "No such file" in str(caught.value)

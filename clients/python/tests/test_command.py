"""execute("line") splits the line as heapd splits an inline request."""

import socket

import pytest

import heapd
from heapd._command import split_line

LINES = [
    'NEW s str "hello world"',
    "NEW s str 'it\\'s'",
    'NEW s str "tab\\there\\x41\\\\"',
    'NEW s str ab"c d"',
    "NEW  s\tstr   x",
    'NEW s str ""',
]


def test_split_line():
    assert split_line("NEW x list") == [b"NEW", b"x", b"list"]
    assert split_line('NEW s str "a b"') == [b"NEW", b"s", b"str", b"a b"]
    assert split_line("SET 'a b' c") == [b"SET", b"a b", b"c"]
    assert split_line('X "\\xff\\n"') == [b"X", b"\xff\n"]
    assert split_line('X ab"c d"') == [b"X", b"abc d"]
    assert split_line("   ") == []


@pytest.mark.parametrize("line", ['X "open', "X 'open", 'X "a"b', 'X "\\q"', 'X "\\x4"'])
def test_split_line_refuses_what_heapd_refuses(line):
    with pytest.raises(heapd.HeapdError) as caught:
        split_line(line)
    assert caught.value.code == "SYNTAX"


def _inline(path, line):
    """heapd's own reading of `line` sent inline, as REPR of the str it made."""
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(path)
        raw.sendall(line.encode() + b"\r\nREPR s\r\n")
        data = b""
        while data.count(b"\r\n") < 3:
            data += raw.recv(4096)
    return data.split(b"\r\n")[2].decode()


@pytest.mark.parametrize("line", LINES)
def test_execute_sends_what_heapd_reads_from_the_same_line(session, server, line):
    session.execute(line)
    assert session.execute("REPR s") == _inline(server.socket, line)


def test_execute_with_arguments_sends_them_as_they_are(session):
    session.execute("NEW", "s", "str", 'a "quoted" b')
    assert session.execute("REPR", "s") == "'a \"quoted\" b'"
    assert session.execute("NEW", "n", "int", 42) == "OK"
    assert session.execute("REPR", session.var("n")) == "42"

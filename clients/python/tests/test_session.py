"""Sessions, variables, scopes and errors against the real heapd."""

import time

import pytest

import heapd


def test_reply_types(session):
    assert session.execute("NEW x list") == "OK"
    assert session.execute("GETREFCOUNT x") == 2
    assert session.execute("PING hello") == "hello"
    assert session.execute("SCOPE LIST") == ["<session>"]
    assert session.execute("TRACEMALLOC GET_OBJECT_TRACEBACK x") is None
    session.execute('NEW b bytes DATA "\\xff\\xfe"')
    assert session.execute("TYPE b") == "bytes"


@pytest.mark.parametrize(
    "line, code, analogue",
    [
        ("GETREFCOUNT nope", "NOVAR", NameError),
        ("NEW x int nope", "SYNTAX", None),
        ("NOSUCHCOMMAND", "UNKNOWN", None),
        ("GETITEM t l 5", "INDEX", IndexError),
        ("APPEND i i", "WRONGTYPE", TypeError),
        ("GC COLLECT 3", "VALUE", ValueError),
        ("SCOPE POP", "SCOPE", None),
    ],
)
def test_errors_carry_the_code(session, line, code, analogue):
    session.execute("NEW l list")
    session.execute("NEW i int 1")
    with pytest.raises(heapd.HeapdError) as caught:
        session.execute(line)
    assert caught.value.code == code
    assert caught.value.message
    if analogue is not None:
        assert isinstance(caught.value, analogue)
    assert session.execute("PING") == "PONG"  # the session goes on


def test_variables_as_python_objects(session):
    a = session.new("a", "list")
    assert a.getrefcount() == 2
    b = session.set("b", a)
    assert a.getrefcount() == 3 and a.refcount() == 2
    assert a.type == "list" and b.id == a.id
    assert a.append(session.new("n", "int", 7)) == 1
    assert len(a) == 1 and a.repr() == "[7]"
    assert "n" in [name for name in session.vars()]
    b.delete()
    assert a.getrefcount() == 2
    assert session.var("g.nothing").name == "g.nothing"
    with pytest.raises(heapd.NoVariableError):
        b.getrefcount()


def test_a_scope_releases_its_locals(session):
    with session.scope("work") as frame:
        assert frame.depth == 1
        assert session.scopes() == ["<session>", "work"]
        session.new("big", "bytes", 1000)
        session.new("other", "list")
        assert set(session.vars()) == {"big", "other"}
    assert frame.released == 2
    assert session.scopes() == ["<session>"]


def test_closing_a_session_releases_its_objects(server, other):
    session = heapd.connect(server.socket)
    ident = session.new("mine", "list").id
    assert other.execute("TYPE", heapd.ObjectRef(ident)) == "list"
    session.close()
    # heapd releases a closed session's frames once it sees the hang-up: poll for a moment.
    deadline = time.monotonic() + 5
    while True:
        try:
            other.execute("TYPE", heapd.ObjectRef(ident))
        except heapd.HeapdError as error:
            assert error.code == "NOOBJ"
            break
        assert time.monotonic() < deadline, "the closed session's list is still alive"
        time.sleep(0.01)
    with pytest.raises(heapd.HeapdError):
        session.execute("PING")


def test_globals_are_shared_between_sessions(session, other):
    session.execute('NEW g.shared str "hi"')
    assert other.globals()["g.shared"] == "'hi'"
    other.execute("DEL g.shared")


def test_info_is_a_dict_of_values(session):
    info = session.info("server")
    assert info["heapd_version"] and isinstance(info["process_id"], int)

"""session.tracemalloc: real tracemalloc.Snapshot objects from heapd's traces."""

import json
import os
import tracemalloc

import pytest

import heapd


@pytest.fixture
def tracing(session):
    session.tracemalloc.start(4)
    try:
        yield session
    finally:
        session.tracemalloc.stop()


def allocate(session):
    """Allocations on three lines, one of them inside a function frame."""
    session.at("app.py:1")
    session.execute("NEW cache list")
    for _ in range(5):
        session.execute("AT app.py:2 NEW item bytes 300")
        session.execute("APPEND cache item")
    session.at("app.py:3")
    with session.scope("load"):
        session.execute("AT lib.py:10 NEW rows bytes 5000")
        session.execute("SET g.rows rows")
    session.execute("DEL item")


def test_start_stop_and_memory(session):
    assert not session.tracemalloc.is_tracing()
    session.tracemalloc.start(3)
    try:
        assert session.tracemalloc.is_tracing()
        assert session.tracemalloc.get_traceback_limit() == 3
        session.execute("NEW block bytes 2000")
        current, peak = session.tracemalloc.get_traced_memory()
        assert current >= 2000 and peak >= current
        session.execute("DEL block")
        assert session.tracemalloc.get_traced_memory()[0] < current
        session.tracemalloc.reset_peak()
        current, peak = session.tracemalloc.get_traced_memory()
        assert peak == current
        assert session.tracemalloc.get_tracemalloc_memory() > 0
    finally:
        session.tracemalloc.stop()
    assert session.tracemalloc.get_traced_memory() == (0, 0)


def test_take_snapshot_while_not_tracing_is_a_runtime_error(session):
    with pytest.raises(RuntimeError) as caught:
        session.tracemalloc.take_snapshot()
    assert caught.value.code == "STATE"


def test_take_snapshot_is_a_real_snapshot_with_heapds_statistics(tracing):
    session = tracing
    allocate(session)
    snapshot = session.tracemalloc.take_snapshot()
    assert isinstance(snapshot, tracemalloc.Snapshot)
    assert snapshot.traceback_limit == 4
    number = session.execute("TRACEMALLOC TAKE_SNAPSHOT")
    try:
        for key in ("filename", "lineno", "traceback"):
            for cumulative in (False, True) if key != "traceback" else (False,):
                command = ["TRACEMALLOC", "STATISTICS", number, key] + (["CUMULATIVE"] if cumulative else [])
                assert [str(stat) for stat in snapshot.statistics(key, cumulative)] == session.execute(*command)
    finally:
        session.execute("TRACEMALLOC", "DROP_SNAPSHOT", number)
    by_line = {str(stat.traceback[0]): stat for stat in snapshot.statistics("lineno")}
    # five bytes objects, and the item array APPEND grew at the same position
    assert by_line["app.py:2"].count >= 5 and by_line["app.py:2"].size >= 1500
    assert by_line["lib.py:10"].size >= 5000
    rows = [stat for stat in snapshot.statistics("traceback") if str(stat.traceback[-1]) == "lib.py:10"]
    assert [str(frame) for frame in rows[0].traceback] == ["app.py:3", "lib.py:10"]  # oldest first
    assert session.execute("TRACEMALLOC SNAPSHOTS") == []  # the server's copy was dropped


def test_compare_to_and_filter_traces_work_on_the_result(tracing):
    session = tracing
    before = session.tracemalloc.take_snapshot()
    allocate(session)
    after = session.tracemalloc.take_snapshot()
    top = after.compare_to(before, "lineno")[0]
    assert str(top.traceback[0]) == "lib.py:10" and top.size_diff >= 5000
    only_lib = after.filter_traces([tracemalloc.Filter(True, "lib.py")])
    assert {str(stat.traceback[0]) for stat in only_lib.statistics("lineno")} == {"lib.py:10"}


def test_dump_and_load_give_the_exact_traces(tracing, server):
    session = tracing
    allocate(session)
    path = session.tracemalloc.dump("pytest-snap.json")
    assert os.path.dirname(path) == server.snapshot_dir
    loaded = heapd.load(path)
    assert isinstance(loaded, tracemalloc.Snapshot) and loaded.traceback_limit == 4
    with open(path) as file:
        raw = json.load(file)
    assert sorted(trace.size for trace in loaded.traces) == sorted(size for size, _ in raw["traces"])
    taken = session.tracemalloc.take_snapshot()

    def groups(snapshot):
        return {(stat.traceback, stat.size, stat.count) for stat in snapshot.statistics("traceback")}

    assert groups(loaded) == groups(taken)
    assert session.tracemalloc.load(path).statistics("lineno")[0].size == loaded.statistics("lineno")[0].size


def test_load_refuses_a_file_that_is_not_a_heapd_snapshot(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "something-else", "traces": []}))
    with pytest.raises(ValueError):
        heapd.load(path)


def test_object_traceback(tracing):
    session = tracing
    session.execute("AT main.py:4 SCOPE PUSH load")
    session.execute("AT lib.py:10 NEW rows list")
    traceback = session.tracemalloc.get_object_traceback("rows")
    assert isinstance(traceback, tracemalloc.Traceback)
    assert [(frame.filename, frame.lineno) for frame in traceback] == [("main.py", 4), ("lib.py", 10)]
    session.execute("SCOPE POP")
    session.execute("NEW untraced none")
    assert session.tracemalloc.get_object_traceback("untraced") is None

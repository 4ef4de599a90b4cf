"""``session.tracemalloc``: Python's ``tracemalloc`` module over a heapd session (protocol.md §5
"Allocation tracing"), whose snapshots are real ``tracemalloc.Snapshot`` objects.

A ``tracemalloc.Snapshot`` is built the way CPython's own ``Snapshot.load`` rebuilds one from its pickle:
``Snapshot(traces, traceback_limit)``, each trace a tuple ``(domain, size, frames, total_nframe)`` with
``frames`` a tuple of ``(filename, lineno)``, most recent first. Everything Python computes from it
(``statistics``, ``compare_to``, ``filter_traces``) is then CPython's own code.
"""

import json
import os
import tracemalloc as _tracemalloc

FORMAT = "heapd-tracemalloc-snapshot"


def snapshot_from_json(data):
    """A ``tracemalloc.Snapshot`` from heapd's dump format (``TRACEMALLOC DUMP``):
    ``{"format": "heapd-tracemalloc-snapshot", "version": 1, "traceback_limit": N,
    "traces": [[size, [[file, line], …most recent first]], …]}``."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a heapd snapshot (format {data.get('format')!r}, expected {FORMAT!r})")
    if data.get("version") != 1:
        raise ValueError(f"unsupported heapd snapshot version {data.get('version')!r}")
    traces = [
        (0, size, tuple((filename, lineno) for filename, lineno in frames), len(frames))
        for size, frames in data["traces"]
    ]
    return _tracemalloc.Snapshot(traces, data["traceback_limit"])


def load(path):
    """``tracemalloc.Snapshot.load`` for a file heapd dumped (JSON, not pickle)."""
    with open(os.fspath(path), encoding="utf-8") as file:
        return snapshot_from_json(json.load(file))


def parse_frame(text):
    """``"file:line"`` as ``(filename, lineno)``: the file is everything before the last colon."""
    filename, _, line = text.rpartition(":")
    return filename, int(line)


class Tracemalloc:
    """The ``tracemalloc`` module's functions. Tracing is heapd-wide, like tracemalloc's is process-wide."""

    def __init__(self, session):
        self._session = session
        self._run = session.execute

    def __repr__(self):
        return f"<heapd tracemalloc of {self._session!r}>"

    def start(self, nframe=1):
        self._run("TRACEMALLOC", "START", nframe)

    def stop(self):
        self._run("TRACEMALLOC", "STOP")

    def is_tracing(self):
        return self._run("TRACEMALLOC", "IS_TRACING") == 1

    def get_traceback_limit(self):
        return self._run("TRACEMALLOC", "GET_TRACEBACK_LIMIT")

    def get_traced_memory(self):
        """``(current, peak)`` bytes."""
        return tuple(self._run("TRACEMALLOC", "GET_TRACED_MEMORY"))

    def reset_peak(self):
        self._run("TRACEMALLOC", "RESET_PEAK")

    def clear_traces(self):
        self._run("TRACEMALLOC", "CLEAR_TRACES")

    def get_tracemalloc_memory(self):
        return self._run("TRACEMALLOC", "GET_TRACEMALLOC_MEMORY")

    def get_object_traceback(self, obj):
        """A ``tracemalloc.Traceback`` of where ``obj`` (a variable, name or ``ObjectRef``) was allocated,
        or None when it was not traced."""
        frames = self._run("TRACEMALLOC", "GET_OBJECT_TRACEBACK", obj)
        if frames is None:
            return None
        # heapd lists the frames oldest first; a Traceback takes them most recent first.
        return _tracemalloc.Traceback(tuple(parse_frame(frame) for frame in reversed(frames)))

    def take_snapshot(self):
        """``tracemalloc.take_snapshot()`` as a real ``tracemalloc.Snapshot``.

        heapd takes the snapshot (one consistent state of every trace), this reads its traces grouped by
        traceback (``STATISTICS n traceback RAW``: each traceback's size and count) and drops it from the
        server. Every statistic, ``compare_to`` and ``filter_traces`` of the result equals heapd's; the
        blocks of one traceback share its size evenly (sizes differ by at most a byte), because that is
        what the protocol returns. For each block's own size, ``dump`` and ``load`` the snapshot.
        Raises ``RuntimeError`` (a ``HeapdError`` with code ``STATE``) when not tracing, as Python does,
        and ``HeapdError`` ``LIMIT`` when the tracebacks do not fit in one reply (heapd's ``max-reply``):
        ``dump`` and ``load`` have no such bound.
        """
        number = self._run("TRACEMALLOC", "TAKE_SNAPSHOT")
        try:
            # [number, traces, bytes, traceback_limit, origin]: the limit the snapshot was taken with.
            stored = next(entry for entry in self._run("TRACEMALLOC", "SNAPSHOTS") if entry[0] == number)
            groups = self._run("TRACEMALLOC", "STATISTICS", number, "traceback", "RAW")
        finally:
            self._run("TRACEMALLOC", "DROP_SNAPSHOT", number)
        traces = []
        for frames, size, count in groups:
            raw = tuple(parse_frame(frame) for frame in reversed(frames))
            share, rest = divmod(size, count)
            traces += [(0, share + (1 if i < rest else 0), raw, len(raw)) for i in range(count)]
        if len(traces) != stored[1] or sum(trace[1] for trace in traces) != stored[2]:
            raise RuntimeError(
                f"snapshot {number}: {len(traces)} traces of {sum(t[1] for t in traces)} bytes read back, "
                f"heapd stored {stored[1]} of {stored[2]}"
            )
        return _tracemalloc.Snapshot(traces, stored[3])

    def dump(self, name):
        """Takes a snapshot and has heapd write it to ``name`` in its snapshot directory
        (``TRACEMALLOC DUMP``); returns the file's path, which ``load`` reads."""
        number = self._run("TRACEMALLOC", "TAKE_SNAPSHOT")
        try:
            return self._run("TRACEMALLOC", "DUMP", number, name)
        finally:
            self._run("TRACEMALLOC", "DROP_SNAPSHOT", number)

    @staticmethod
    def load(path):
        """``tracemalloc.Snapshot.load(path)`` for a snapshot heapd dumped: a real ``tracemalloc.Snapshot``."""
        return load(path)

"""``session.gc``: Python's ``gc`` module over a heapd session (protocol.md §5 "The cycle collector")."""

import sys
import threading
import traceback

from ._events import Events
from ._objects import ObjectRef

DEBUG_STATS = 1
DEBUG_COLLECTABLE = 2
DEBUG_UNCOLLECTABLE = 4
DEBUG_SAVEALL = 32
DEBUG_LEAK = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL


class GC:
    """The ``gc`` module's functions, with heapd's objects as ``ObjectRef``s. Listings page through heapd's
    cursors (``GC GET_OBJECTS … CURSOR c``) until the cursor is 0, so each returns the whole list."""

    DEBUG_STATS = DEBUG_STATS
    DEBUG_COLLECTABLE = DEBUG_COLLECTABLE
    DEBUG_UNCOLLECTABLE = DEBUG_UNCOLLECTABLE
    DEBUG_SAVEALL = DEBUG_SAVEALL
    DEBUG_LEAK = DEBUG_LEAK

    def __init__(self, session):
        self._session = session
        self._run = session.execute
        self.callbacks = _Callbacks(self._callbacks_changed)
        self._listener = None

    def __repr__(self):
        return f"<heapd gc of {self._session!r}>"

    def collect(self, generation=2):
        """``gc.collect(generation)``: the number of unreachable objects found."""
        return self._run("GC", "COLLECT", generation)

    def enable(self):
        self._run("GC", "ENABLE")

    def disable(self):
        self._run("GC", "DISABLE")

    def isenabled(self):
        return self._run("GC", "ISENABLED") == 1

    def get_count(self):
        """``(count0, count1, count2)``."""
        return tuple(self._run("GC", "GET_COUNT"))

    def get_threshold(self):
        return tuple(self._run("GC", "GET_THRESHOLD"))

    def set_threshold(self, threshold0, *more):
        self._run("GC", "SET_THRESHOLD", threshold0, *more)

    def get_stats(self):
        """One dict per generation: ``collections``, ``collected``, ``uncollectable`` as CPython's, then
        heapd's pause figures (``pause_count``, ``pause_total_us``, ``pause_max_us``, ``pause_p99_us``)."""
        # RESP3 sends each generation as a map (a dict already), RESP2 as its names and values in turn.
        return [
            dict(entry) if isinstance(entry, dict) else dict(zip(entry[0::2], entry[1::2]))
            for entry in self._run("GC", "GET_STATS")
        ]

    def get_objects(self, generation=None):
        """The tracked containers (of one generation, or of all three)."""
        if generation is None:
            return self._paged("GC", "GET_OBJECTS")
        return self._paged("GC", "GET_OBJECTS", generation)

    def get_referrers(self, *objs):
        """The tracked containers that refer to any of ``objs`` (variables, names or ``ObjectRef``s)."""
        found = []
        for obj in objs:
            found += [ref for ref in self._paged("GC", "GET_REFERRERS", obj) if ref not in found]
        return found

    def get_referents(self, *objs):
        """What ``tp_traverse`` of each of ``objs`` visits, in its order."""
        found = []
        for obj in objs:
            found += [ObjectRef.parse(item) for item in self._run("GC", "GET_REFERENTS", obj)]
        return found

    def get_unreachable(self):
        """heapd's own: what a full collection would find unreachable now, without collecting it."""
        return self._paged("GC", "GET_UNREACHABLE")

    def is_tracked(self, obj):
        return self._run("GC", "IS_TRACKED", obj) == 1

    def is_finalized(self, obj):
        return self._run("GC", "IS_FINALIZED", obj) == 1

    def freeze(self):
        self._run("GC", "FREEZE")

    def unfreeze(self):
        self._run("GC", "UNFREEZE")

    def get_freeze_count(self):
        return self._run("GC", "GET_FREEZE_COUNT")

    def set_debug(self, flags):
        self._run("GC", "SET_DEBUG", flags)

    def get_debug(self):
        return self._run("GC", "GET_DEBUG")

    @property
    def garbage(self):
        """``gc.garbage``: a copy, as ``ObjectRef``s; ``clear_garbage()`` is ``del gc.garbage[:]``."""
        return self._paged("GC", "GARBAGE")

    def clear_garbage(self):
        return self._run("GC", "GARBAGE", "CLEAR")

    def wait(self, n=1, timeout_ms=0):
        """heapd's ``GC WAIT``: blocks until ``n`` collections completed since the previous command began."""
        return self._run("GC", "WAIT", n, "TIMEOUT", timeout_ms)

    def _paged(self, *command):
        cursor, items = 0, []
        while True:
            cursor, batch = self._run(*command, "CURSOR", cursor)
            items += [ObjectRef.parse(item) for item in batch]
            if int(cursor) == 0:
                return items

    # -- gc.callbacks ---------------------------------------------------------------------------------
    #
    # CPython calls each callback inside the collection; heapd collects on its own thread and pushes
    # events to subscribers. While `callbacks` is not empty a listener thread holds a subscribed
    # connection and calls them with CPython's arguments, ("start" | "stop", info), soon after each
    # collection (its `gc-stop` event is recorded before `GC COLLECT` replies).

    def _callbacks_changed(self):
        if self.callbacks and self._listener is None and not self._session.closed:
            self._listener = _Listener(Events(self._session.path, protocol=self._session.protocol), self.callbacks)
        elif not self.callbacks:
            self._stop_events()

    def _stop_events(self):
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()


class _Listener:
    def __init__(self, events, callbacks):
        self._events = events
        self._callbacks = callbacks
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heapd-gc-callbacks", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self):
        try:
            while not self._stopping.is_set():
                try:
                    event = self._events.next(timeout=0.05)
                except Exception:
                    return  # the connection ended (heapd stopped): no more events
                if event is not None:
                    self._dispatch(event)
        finally:
            self._events.close()

    def _dispatch(self, event):
        kind = event[0]
        if kind == "gc-start":
            phase, info = "start", {"generation": event[1], "collected": 0, "uncollectable": 0}
        elif kind == "gc-stop":
            phase = "stop"
            info = {"generation": event[1], "collected": event[2], "uncollectable": event[3], "pause_us": event[4]}
        else:
            return
        for callback in list(self._callbacks):
            try:
                callback(phase, info)
            except Exception:
                print("Exception ignored in a heapd gc callback:", file=sys.stderr)
                traceback.print_exc()


class _Callbacks(list):
    """``gc.callbacks``: a list that starts the listener when it gains a callback, stops it when emptied."""

    def __init__(self, changed):
        super().__init__()
        self._changed = changed

    def _mutating(name):
        def method(self, *args):
            result = getattr(list, name)(self, *args)
            self._changed()
            return result if name != "__iadd__" else self

        method.__name__ = name
        return method

    for _name in ("append", "extend", "insert", "remove", "pop", "clear", "__setitem__", "__delitem__", "__iadd__"):
        locals()[_name] = _mutating(_name)
    del _name, _mutating

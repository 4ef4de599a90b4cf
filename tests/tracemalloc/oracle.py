#!/usr/bin/env python3
"""CPython's tracemalloc as the oracle for heapd's snapshots.

Reads snapshots in heapd's dump format (TRACEMALLOC DUMP), builds real tracemalloc.Snapshot
objects from them and prints what Python computes, one line per statistic, in Python's order:

    oracle.py NEW.json OLD.json FILTERS.json

FILTERS.json is a list of {"inclusive", "pattern", "lineno", "all_frames"}. Each line is
str(stat) followed by " | " and the traceback's frames oldest first, so ties between tracebacks
with the same oldest frame are still told apart. The Swift tests print the same from heapd.
"""
import json
import sys
import tracemalloc


def load(path):
    with open(path) as f:
        data = json.load(f)
    traces = [(0, size, tuple(tuple(frame) for frame in frames), len(frames))
              for size, frames in data["traces"]]
    return tracemalloc.Snapshot(traces, data["traceback_limit"])


def line(stat):
    return "%s | %s" % (stat, " < ".join(str(frame) for frame in stat.traceback))


def main():
    new, old = load(sys.argv[1]), load(sys.argv[2])
    with open(sys.argv[3]) as f:
        filters = [tracemalloc.Filter(x["inclusive"], x["pattern"], x.get("lineno"), x.get("all_frames", False))
                   for x in json.load(f)]
    out = []
    for key in ("filename", "lineno", "traceback"):
        for cumulative in (False, True):
            if cumulative and key == "traceback":
                continue
            out.append("## statistics %s %s" % (key, cumulative))
            out += [line(s) for s in new.statistics(key, cumulative)]
            out.append("## compare_to %s %s" % (key, cumulative))
            out += [line(s) for s in new.compare_to(old, key, cumulative)]
    out.append("## filter_traces")
    out += [line(s) for s in new.filter_traces(filters).statistics("traceback")]
    print("\n".join(out))


if __name__ == "__main__":
    main()

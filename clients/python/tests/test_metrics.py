"""`heapctl metrics --listen`: a real scrape over HTTP, read by prometheus_client's own text parser.

heapctl is the repository's debug build (``.build/debug/heapctl``; ``$HEAPCTL_BINARY`` names another),
started on port 0 (it prints the port it got) and stopped by pid.
"""

import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import REPOSITORY


def heapctl_binary():
    binary = os.environ.get("HEAPCTL_BINARY") or str(REPOSITORY / ".build" / "debug" / "heapctl")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no heapctl binary at {binary}: run `swift build` first (or set HEAPCTL_BINARY)")
    return binary


@pytest.fixture
def exporter(server):
    """`heapctl metrics --listen 127.0.0.1:0` for the module's heapd; yields its /metrics URL."""
    process = subprocess.Popen(
        [heapctl_binary(), "--socket", server.socket, "metrics", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert "serving http://127.0.0.1:" in line, (line, process.stderr.read() if process.poll() is not None else "")
        url = line.split()[3]
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def scrape(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family, **labels):
    for sample in family.samples:
        if all(sample.labels.get(key) == wanted for key, wanted in labels.items()):
            return sample.value
    raise AssertionError(f"no sample of {family.name} with {labels}: {family.samples}")


def test_scrape_parses_and_follows_the_heap(server, session, exporter):
    before = scrape(exporter)
    for name in ["heapd_objects", "heapd_object_bytes", "heapd_gc_collections", "heapd_gc_collected_objects",
                 "heapd_gc_pause_seconds", "heapd_clients", "heapd_commands_processed", "heapd_errors",
                 "heapd_tracemalloc_traced_bytes", "heapd_used_bytes"]:
        assert name in before, f"{name} missing from {sorted(before)}"
    assert before["heapd_objects"].type == "gauge"
    assert before["heapd_commands_processed"].type == "counter"
    assert before["heapd_gc_pause_seconds"].type == "histogram"

    lists = value(before["heapd_objects"], type="list")
    for index in range(5):
        session.execute(f"NEW keep{index} list")
    # Two lists in a cycle, then a full collection: collected and the pause histogram move.
    session.execute("NEW a list")
    session.execute("NEW b list")
    session.execute("APPEND a b")
    session.execute("APPEND b a")
    session.execute("DEL a b")
    collections = value(before["heapd_gc_collections"], generation="2")
    session.execute("GC COLLECT")
    with pytest.raises(Exception):
        session.execute("GETITEM x nothing 0")

    after = scrape(exporter)
    assert value(after["heapd_objects"], type="list") == lists + 5
    assert value(after["heapd_gc_collections"], generation="2") == collections + 1
    assert value(after["heapd_gc_collected_objects"], generation="2") >= 2
    assert value(after["heapd_gc_pause_seconds"], generation="2", le="+Inf") >= 1
    assert value(after["heapd_errors"], code="NOVAR") >= 1
    assert value(after["heapd_commands_processed"]) > value(before["heapd_commands_processed"])
    assert value(after["heapd_clients"]) >= 1


def test_other_paths_and_an_unreachable_heapd(server, exporter):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(exporter.replace("/metrics", "/"), timeout=30)
    assert error.value.code == 404


def test_unreachable_heapd_is_503(tmp_path):
    process = subprocess.Popen(
        [heapctl_binary(), "--socket", str(tmp_path / "none.sock"), "metrics", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = process.stdout.readline().split()[3]
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(url, timeout=30)
        assert error.value.code == 503
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_one_shot_prints_the_text(server):
    result = subprocess.run(
        [heapctl_binary(), "--socket", server.socket, "metrics"], capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    families = {family.name for family in text_string_to_metric_families(result.stdout)}
    assert "heapd_objects" in families
    bad = subprocess.run(
        [heapctl_binary(), "--socket", server.socket, "metrics", "--listen", "nonsense"],
        capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 64
    assert "HOST:PORT" in bad.stderr


def test_an_address_in_use_exits_69(server):
    """A well-formed address that cannot be bound is no usage error: EX_UNAVAILABLE, and why."""
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [heapctl_binary(), "--socket", server.socket, "metrics", "--listen", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )
    finally:
        taken.close()
    assert result.returncode == 69, result.stderr
    assert "cannot listen" in result.stderr

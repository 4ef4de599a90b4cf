"""Fixtures: the real heapd binary on a temporary socket, and sessions connected to it.

heapd is the repository's debug build (``.build/debug/heapd``; ``$HEAPD_BINARY`` names another). Each
test module gets its own heapd in a temporary directory (socket and snapshot directory), stopped by pid
(SIGTERM, then SIGKILL) and its directory removed when the module ends, also when a test or the start
itself failed.
"""

import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import heapd

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]


class HeapdProcess:
    """One heapd process: ``socket``, ``snapshot_dir``, ``log`` (its stderr so far)."""

    def __init__(self, binary):
        self.directory = tempfile.mkdtemp(prefix="heapd-pytest-")
        self.socket = os.path.join(self.directory, "heapd.sock")
        self.snapshot_dir = os.path.join(self.directory, "snapshots")
        self.log_path = os.path.join(self.directory, "heapd.log")
        self.process = None
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [binary, "--socket", self.socket, "--snapshot-dir", self.snapshot_dir,
                     "--log-target", "stderr", "--log-level", "warning", "--max-memory", "1G"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def wait_ready(self, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"heapd exited with {self.process.returncode}:\n{self.log}")
            if os.path.exists(self.socket):
                try:
                    with heapd.connect(self.socket) as session:
                        if session.execute("PING") == "PONG":
                            return
                except heapd.ConnectionFailed:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"heapd did not accept clients within {seconds} s:\n{self.log}")

    @property
    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop(self):
        """SIGTERM by pid, SIGKILL after 10 s; then the directory (socket, snapshots, log) goes."""
        try:
            if self.process is not None and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def heapd_binary():
    binary = os.environ.get("HEAPD_BINARY") or str(REPOSITORY / ".build" / "debug" / "heapd")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no heapd binary at {binary}: run `swift build` first (or set HEAPD_BINARY)")
    return binary


@pytest.fixture(scope="module")
def server(request):
    process = HeapdProcess(heapd_binary())
    request.addfinalizer(process.stop)
    process.wait_ready()
    return process


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def session(server, request):
    """A session in each reply encoding: every test that uses it runs in RESP2 and in RESP3 (``HELLO 3``),
    so the package's methods are checked to give the same values with both."""
    with heapd.connect(server.socket, protocol=request.param) as session:
        yield session


@pytest.fixture
def other(server):
    """A second session on the same heapd: another client."""
    with heapd.connect(server.socket) as session:
        yield session

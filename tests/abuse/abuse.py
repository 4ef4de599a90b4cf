#!/usr/bin/env python3
"""heapd under abuse: one reproducible measurement per case of issue 9.

Each case starts a fresh heapd (the real binary, ``--heapd PATH``) on a socket in its own ``mktemp -d``
directory under /tmp, abuses it through that Unix socket only, decides pass/fail and prints one row of
a Markdown table ``| input or fault | result | figures |`` (a case with two runs prints two rows).
heapd is always stopped by its pid (SIGTERM, SIGKILL after 10 s) and its directory removed, also on a
failure or Ctrl-C. Every loop is bounded in count and in time. The last line is
``abuse: N passed, M failed`` (exit code 0 when M is 0, else 1).

Python 3 standard library only. See README.md next to this file.
"""

from __future__ import annotations

import argparse
import os
import resource
import selectors
import shutil
import signal
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time

INT64_MAX = 9223372036854775807
MiB = 1 << 20
TICKS = os.sysconf("SC_CLK_TCK")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
now = time.monotonic


# --------------------------------------------------------------------------------------------- RESP

class Err(str):
    """An error reply, without its leading '-'."""

    @property
    def code(self) -> str:
        return self.split(" ", 1)[0]


class Simple(str):
    """A simple-string reply, without its leading '+'."""


class _Incomplete(Exception):
    pass


def _parse(buf: bytearray, pos: int):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, line, nxt = buf[pos:pos + 1], bytes(buf[pos + 1:end]), end + 2
    if kind == b"+":
        return Simple(line.decode("utf-8", "replace")), nxt
    if kind == b"-":
        return Err(line.decode("utf-8", "replace")), nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            raise _Incomplete
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if kind == b"*":
        n = int(line)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n):
            item, nxt = _parse(buf, nxt)
            items.append(item)
        return items, nxt
    raise ConnectionError(f"not RESP: {bytes(buf[pos:pos + 60])!r}")


class Conn:
    """A blocking RESP2 client on heapd's Unix socket."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self.buf = bytearray()
        self.timeout = timeout

    def send(self, *lines) -> None:
        self.sock.sendall(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\r\n" for x in lines))

    def read(self, timeout: float | None = None):
        deadline = now() + (self.timeout if timeout is None else timeout)
        while True:
            if self.buf:
                try:
                    value, n = _parse(self.buf, 0)
                    del self.buf[:n]
                    return value
                except _Incomplete:
                    pass
            left = deadline - now()
            if left <= 0:
                raise TimeoutError("no reply in time")
            self.sock.settimeout(left)
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("heapd closed the connection")
            self.buf += data

    def cmd(self, line, timeout: float | None = None):
        self.send(line)
        return self.read(timeout)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def info(conn: Conn, section: str) -> dict:
    reply = conn.cmd(f"INFO {section}")
    if not isinstance(reply, bytes):
        raise RuntimeError(f"INFO {section}: {reply!r}")
    out = {}
    for line in reply.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def info_once(path: str, section: str) -> dict:
    c = Conn(path)
    try:
        return info(c, section)
    finally:
        c.close()


def short(reply, n: int = 70) -> str:
    """A reply as one short table-safe string."""
    if isinstance(reply, Err):
        s = "-" + reply
    elif isinstance(reply, Simple):
        s = "+" + reply
    elif isinstance(reply, bytes):
        s = f"${len(reply)} " + reply[:40].decode("utf-8", "replace")
    elif isinstance(reply, list):
        s = "[" + ", ".join(short(x, 20) for x in reply[:4]) + (", …" if len(reply) > 4 else "") + "]"
    else:
        s = repr(reply)
    s = s.replace("|", "/").replace("\n", " ").replace("\r", " ")
    return s if len(s) <= n else s[:n - 1] + "…"


def is_err(reply, code: str) -> bool:
    return isinstance(reply, Err) and reply.code == code


# ------------------------------------------------------------------------------------- process figures

def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def vmsize_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


def lat(values: list[float]) -> str:
    if not values:
        return "no PING answered"
    return f"{statistics.median(values) * 1000:.1f}/{max(values) * 1000:.0f} ms (n={len(values)})"


class RssSampler:
    """Samples heapd's VmRSS every 20 ms in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, max_s: float = 300) -> None:
        self.pid, self.max_s = pid, max_s
        self.peak = rss_mib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        end = now() + self.max_s
        while not self._stop.is_set() and now() < end:
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


class Pinger:
    """Another client that sends PING every ~20 ms and records each round trip."""

    def __init__(self, path: str, interval: float = 0.02, max_s: float = 200) -> None:
        self.conn = Conn(path, timeout=30)
        self.interval, self.max_s = interval, max_s
        self.lat: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        end = now() + self.max_s
        while not self._stop.is_set() and now() < end:
            t = now()
            try:
                reply = self.conn.cmd("PING")
            except Exception as e:  # noqa: BLE001 - recorded, the case decides
                self.errors.append(f"{type(e).__name__}: {e}")
                return
            dt = now() - t
            self.lat.append(dt)
            if reply != "PONG":
                self.errors.append(f"PING -> {short(reply)}")
            self._stop.wait(max(0.0, self.interval - dt))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(35)
        self.conn.close()

    def ok(self, max_s: float) -> bool:
        return bool(self.lat) and not self.errors and max(self.lat) <= max_s


# ---------------------------------------------------------------------------------------------- heapd

class Heapd:
    """One heapd in a fresh ``mktemp -d`` directory; a context manager that always stops it by pid."""

    def __init__(self, binary: str, *args: str, shell: str | None = None, config: str | None = None,
                 log_level: str = "info") -> None:
        self.binary, self.args, self.shell, self.config = binary, list(args), shell, config
        self.log_level = log_level
        self.dir = self.proc = self._logf = None
        self.exit_s: float | None = None
        self.exit_code: int | None = None
        self.killed = False
        self.log_text = b""

    # paths
    @property
    def sock(self) -> str:
        return os.path.join(self.dir, "s")

    @property
    def snapdir(self) -> str:
        return os.path.join(self.dir, "snap")

    @property
    def logpath(self) -> str:
        return os.path.join(self.dir, "heapd.log")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="abuse.", dir="/tmp")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self) -> None:
        if len(self.sock.encode()) > 107:
            raise RuntimeError(f"socket path too long: {self.sock}")
        argv = [self.binary, "--socket", self.sock, "--snapshot-dir", self.snapdir, "--log-target", "stderr",
                "--log-level", self.log_level]
        if self.config is not None:
            path = os.path.join(self.dir, "heapd.conf")
            with open(path, "w") as f:
                f.write(self.config)
            argv += ["--config", path]
        argv += self.args
        if self.shell:
            argv = ["/bin/sh", "-c", self.shell + ' && exec "$0" "$@"'] + argv
        self._logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._logf, stderr=subprocess.STDOUT,
                                     cwd=self.dir, start_new_session=True)
        deadline = now() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"heapd exited at start ({self.proc.returncode}): {self.log_tail()}")
            if os.path.exists(self.sock) and b"heapd ready" in self.read_log():
                return
            if now() > deadline:
                raise RuntimeError(f"heapd not ready within 30 s: {self.log_tail()}")
            time.sleep(0.02)

    def read_log(self) -> bytes:
        try:
            with open(self.logpath, "rb") as f:
                return f.read()
        except OSError:
            return self.log_text

    def log_tail(self, n: int = 400) -> str:
        return self.read_log()[-n:].decode("utf-8", "replace").replace("\n", " ⏎ ")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def crashed(self) -> bool:
        log = self.read_log()
        return any(s in log for s in (b"Fatal error", b"Crash", b"SIGSEGV", b"SIGILL", b"SIGTRAP", b"Sanitizer"))

    def rss(self) -> float:
        return rss_mib(self.pid)

    def ticks(self) -> int:
        return cpu_ticks(self.pid)

    def terminate(self) -> float:
        """SIGTERM by pid; waits (SIGKILL after 10 s); returns the seconds heapd took to exit."""
        t = now()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.killed = True
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.exit_s = now() - t
        self.exit_code = self.proc.returncode
        return self.exit_s

    def stop(self) -> None:
        try:
            if self.proc is not None:
                if self.proc.poll() is None:
                    try:
                        self.terminate()
                    finally:
                        if self.proc.poll() is None:  # interrupted while waiting
                            os.kill(self.proc.pid, signal.SIGKILL)
                            self.proc.wait(10)
                self.exit_code = self.proc.returncode
        finally:
            if self._logf is not None:
                self._logf.close()
                self._logf = None
            if self.dir is not None:
                self.log_text = self.read_log()
                shutil.rmtree(self.dir, ignore_errors=True)

    def exit_figure(self) -> str:
        if self.exit_s is None:
            return f"exit code {self.exit_code}"
        return f"SIGTERM→exit {self.exit_s:.2f} s (code {self.exit_code}{', KILLED' if self.killed else ''})"

    def clean_exit(self) -> bool:
        return self.exit_code == 0 and not self.killed and not self.crashed()


# ---------------------------------------------------------------------------------------------- cases

class Row:
    def __init__(self, what: str) -> None:
        self.what = what
        self.figures: list[str] = []
        self.failures: list[str] = []
        self.result = ""

    def fig(self, text: str) -> None:
        self.figures.append(text)

    def check(self, ok: bool, failure: str) -> bool:
        if not ok:
            self.failures.append(failure)
        return ok

    def finish_heapd(self, h: Heapd, should_be_alive: bool = True) -> None:
        """Called after ``with Heapd`` ended: exit figure and the clean-exit check."""
        self.fig(h.exit_figure())
        if should_be_alive:
            self.check(h.clean_exit(), f"heapd did not exit cleanly (code {h.exit_code}, killed {h.killed}, "
                                       f"crash in log {h.crashed()})")


CASES = {}


def case(number: str):
    def register(fn):
        CASES[number] = fn
        return fn
    return register


@case("1")
def case_gc_garbage_cursor(o):
    r = Row("1. `GC GARBAGE CURSOR 9223372036854775807` with one uncollectable object in `gc.garbage`")
    with Heapd(o.heapd) as h:
        c = Conn(h.sock)
        for line in ("NEW l list", "APPEND l l", "FINALIZER l LEGACY", "DEL l", "GC COLLECT"):
            c.cmd(line)
        r.fig(f"GC GARBAGE → {short(c.cmd('GC GARBAGE'))}")
        reply = c.cmd(f"GC GARBAGE CURSOR {INT64_MAX}", timeout=10)
        r.check(not isinstance(reply, Err) or reply.code in ("VALUE", "SYNTAX"), f"reply {short(reply)}")
        r.fig(f"reply {short(reply)}")
        extra, message = [], ""
        for label, line in (("CURSOR max COUNT max", f"GC GARBAGE CURSOR {INT64_MAX} COUNT {INT64_MAX}"),
                            ("COUNT max", f"GC GARBAGE COUNT {INT64_MAX}"),
                            ("CURSOR -1", "GC GARBAGE CURSOR -1"),
                            ("CURSOR 2^64", "GC GARBAGE CURSOR 18446744073709551616"),
                            ("GET_OBJECTS CURSOR max", f"GC GET_OBJECTS CURSOR {INT64_MAX}"),
                            ("GET_REFERRERS #1 CURSOR max", f"GC GET_REFERRERS #1 CURSOR {INT64_MAX}")):
            rep = c.cmd(line, timeout=10)
            extra.append(f"{label} → " + (f"-{rep.code}" if isinstance(rep, Err) else short(rep, 20)))
            if isinstance(rep, Err) and not message:
                message = f" (`{short(rep, 64)}`)"
        r.fig("edge values: " + ", ".join(extra) + message)
        pong = c.cmd("PING")
        r.check(pong == "PONG" and h.alive(), "heapd not alive afterwards")
        r.result = f"answered {short(reply, 30)}; heapd alive"
        c.close()
    r.finish_heapd(h)
    return [r]


def _sum_b_worker(path, sum_running, out):
    """A B client during A's SUM: pings for ~1 s, DEBUG VERIFY, GC COLLECT, then pings until the SUM ends."""
    res = {"lat": [], "verify": None, "collect": None, "during": True, "errors": []}
    out.append(res)
    try:
        c = Conn(path, timeout=30)
    except OSError as e:
        res["errors"].append(str(e))
        return
    try:
        t0 = now()
        step = 0
        while now() - t0 < 30:
            if step == 0 and now() - t0 > 1.0:
                step = 1
                for key, line in (("verify", "DEBUG VERIFY"), ("collect", "GC COLLECT")):
                    running_before = sum_running.is_set()
                    t = now()
                    rep = c.cmd(line)
                    res[key] = (now() - t, running_before and sum_running.is_set(), rep)
                    if isinstance(rep, Err) or (key == "verify" and "consistent" not in str(rep)):
                        res["errors"].append(f"{line} → {short(rep)}")
                continue
            if not sum_running.is_set() and step == 1:
                break
            t = now()
            rep = c.cmd("PING")
            res["lat"].append(now() - t)
            if rep != "PONG":
                res["errors"].append(f"PING → {short(rep)}")
            time.sleep(max(0.0, 0.02 - (now() - t)))
    except Exception as e:  # noqa: BLE001
        res["errors"].append(f"{type(e).__name__}: {e}")
    finally:
        c.close()


@case("2")
def case_long_sum(o):
    rows = []
    # ---- 2a: default command-time-limit
    r = Row("2a. `NEW g gen range 9223372036854775807`, `SUM s g` on A; 4 B clients PING every 20 ms, "
            "`DEBUG VERIFY`, `GC COLLECT`; default `--command-time-limit` (5000 ms)")
    with Heapd(o.heapd) as h:
        a = Conn(h.sock, timeout=60)
        r.check(a.cmd(f"NEW g gen range {INT64_MAX}") == "OK", "NEW g gen failed")
        running = threading.Event()
        results: list[dict] = []
        # B clients are connected before the SUM starts (the accept loop spreads them over the loops).
        threads = [threading.Thread(target=_sum_b_worker, args=(h.sock, running, results), daemon=True)
                   for _ in range(4)]
        cpu0 = h.ticks()
        running.set()
        a.send("SUM s g")
        t0 = now()
        for t in threads:
            t.start()
        try:
            reply = a.read(timeout=30)
        except Exception as e:  # noqa: BLE001
            reply = Err(f"(no reply: {e})")
        a_s = now() - t0
        running.clear()
        for t in threads:
            t.join(40)
        cpu = (h.ticks() - cpu0) / TICKS
        r.check(is_err(reply, "LIMIT") and 4.5 <= a_s <= 8, f"A got {short(reply)} after {a_s:.2f} s")
        r.fig(f"A: {short(reply, 24)} after {a_s:.2f} s")
        during_v = [x["verify"][0] for x in results if x["verify"] and x["verify"][1]]
        during_c = [x["collect"][0] for x in results if x["collect"] and x["collect"][1]]
        r.check(bool(during_v) and min(during_v) < 1.0, "no DEBUG VERIFY completed during the SUM within 1 s")
        r.check(bool(during_c) and min(during_c) < 1.0, "no GC COLLECT completed during the SUM within 1 s")
        r.fig(f"DEBUG VERIFY during the SUM: {len(during_v)}/4 clients, "
              + (f"{ms(min(during_v))} best, {ms(max(during_v))} worst" if during_v else "none"))
        r.fig(f"GC COLLECT during the SUM: {len(during_c)}/4 clients, "
              + (f"{ms(min(during_c))} best, {ms(max(during_c))} worst" if during_c else "none"))
        maxes = sorted((max(x["lat"]) if x["lat"] else 99.0, i) for i, x in enumerate(results))
        best, worst = results[maxes[0][1]], results[maxes[-1][1]]
        r.fig(f"PING median/max: best B {lat(best['lat'])}, worst B {lat(worst['lat'])}; "
              f"B max per client: {', '.join(ms(m) for m, _ in maxes)}")
        r.check(maxes[0][0] < 1.0, "no B client was served promptly during the SUM")
        r.check(maxes[-1][0] < 8.0, "a B client waited more than 8 s")
        errs = [e for x in results for e in x["errors"]]
        r.check(not errs, f"B errors: {errs[:2]}")
        lim = info_once(h.sock, "limits")
        r.fig(f"commands_timed_out={lim.get('commands_timed_out')}, safepoint_yields={lim.get('safepoint_yields')}; "
              f"heapd CPU {cpu:.1f} s over {a_s:.1f} s")
        r.check(h.alive(), "heapd died")
        r.result = f"A: -LIMIT after {a_s:.1f} s; other loop served, VERIFY/COLLECT got through"
        a.close()
    r.finish_heapd(h)
    rows.append(r)

    # ---- 2b: no time limit: hang-up cancels; SIGTERM during a SUM
    r = Row("2b. same with `--command-time-limit 0`: A hangs up mid-`SUM`; then SIGTERM during another `SUM`")
    with Heapd(o.heapd, "--command-time-limit", "0") as h:
        a = Conn(h.sock, timeout=60)
        a.cmd(f"NEW g gen range {INT64_MAX}")
        obs = Conn(h.sock, timeout=30)
        a.send("SUM s g")
        time.sleep(1.0)
        t1 = h.ticks()
        time.sleep(0.5)
        busy = (h.ticks() - t1) / TICKS / 0.5
        a.close()
        t_close = now()
        cancelled_after = None
        while now() - t_close < 5:
            if int(info(obs, "limits").get("commands_cancelled", "0")) >= 1:
                cancelled_after = now() - t_close
                break
            time.sleep(0.02)
        r.check(cancelled_after is not None and cancelled_after < 2.0,
                f"hang-up did not cancel the SUM within 2 s ({cancelled_after})")
        t1 = h.ticks()
        time.sleep(1.0)
        idle = (h.ticks() - t1) / TICKS
        r.fig(f"SUM running: heapd CPU {busy * 100:.0f}%; hang-up → commands_cancelled=1 after "
              + (ms(cancelled_after) if cancelled_after is not None else "never (5 s)")
              + f"; CPU over the next 1 s: {idle:.2f} s")
        r.check(idle < 0.3, f"heapd still busy after the cancel ({idle:.2f} s CPU in 1 s)")
        # SIGTERM during a SUM
        a2 = Conn(h.sock, timeout=10)
        a2.cmd(f"NEW g2 gen range {INT64_MAX}")
        a2.send("SUM s g2")
        time.sleep(1.0)
        exit_s = h.terminate()
        try:
            a2_reply = short(a2.read(timeout=2), 30)
        except Exception as e:  # noqa: BLE001
            a2_reply = type(e).__name__
        a2.close()
        obs.close()
        r.check(exit_s < 2.0, f"SIGTERM during a SUM: exit after {exit_s:.2f} s")
        r.fig(f"SIGTERM during a SUM: heapd exited in {exit_s:.2f} s (code {h.exit_code}); "
              f"the SUM's client got {a2_reply}")
        r.result = (f"hang-up → cancelled in {ms(cancelled_after) if cancelled_after is not None else '—'}; "
                    f"SIGTERM → exit in {exit_s:.2f} s")
    r.check(not h.killed and not h.crashed(), "heapd had to be killed, or crashed")
    rows.append(r)
    return rows


@case("3")
def case_memory(o):
    rows = []
    r = Row("3a. `--max-memory 0` under `ulimit -v 6000000`: `NEW b0 bytes 3000000000` twice")
    with Heapd(o.heapd, "--max-memory", "0", shell="ulimit -v 6000000") as h:
        c = Conn(h.sock, timeout=120)
        rss0, vm0 = h.rss(), vmsize_mib(h.pid)
        t = now()
        first = c.cmd("NEW b0 bytes 3000000000")
        t_first = now() - t
        rss1, vm1 = h.rss(), vmsize_mib(h.pid)
        t = now()
        second = c.cmd("NEW b0 bytes 3000000000")
        t_second = now() - t
        rss2 = h.rss()
        pong = c.cmd("PING")
        mem = info(c, "memory")
        still = c.cmd("LEN b0")
        c.cmd("DEL b0")
        time.sleep(0.3)
        rss3 = h.rss()
        r.check(first == "OK", f"first NEW: {short(first)}")
        r.check(is_err(second, "LIMIT"), f"second NEW: {short(second)}")
        r.check(pong == "PONG" and h.alive(), "heapd not alive")
        r.check(still == 3000000000, f"b0 after the refused NEW: LEN {short(still)}")
        r.fig(f"1st {short(first)} in {t_first:.2f} s; 2nd {short(second, 60)} in {ms(t_second)}")
        r.fig(f"b0 still bound (LEN {still}); allocations_refused={mem.get('allocations_refused')}")
        r.fig(f"RSS {rss0:.0f} → {rss1:.0f} → {rss2:.0f} MiB, after DEL {rss3:.0f} MiB (the zero bytes are "
              f"mapped, not touched: VmSize {vm0:.0f} → {vm1:.0f} MiB)")
        r.result = "+OK then -LIMIT (system refused); heapd alive"
        c.close()
    r.finish_heapd(h)
    rows.append(r)

    r = Row("3b. `--max-memory 64M`: `NEW fN str <400 chars>` pipelined until `-LIMIT`, then `DEBUG VERIFY`")
    with Heapd(o.heapd, "--max-memory", "64M") as h:
        c = Conn(h.sock, timeout=60)
        rss0 = h.rss()
        value = "v" * 400
        made, refused, first_limit, other = 0, None, None, []
        t0 = now()
        batch = 1000
        while first_limit is None and made < 2_000_000 and now() - t0 < 120:
            base = made  # every NEW so far succeeded: names f0 … f<made-1> are bound
            c.send(*[f"NEW f{base + i} str {value}" for i in range(batch)])
            for i in range(batch):
                rep = c.read()
                if rep == "OK":
                    made += 1
                elif is_err(rep, "LIMIT"):
                    if first_limit is None:
                        first_limit, refused = rep, base + i
                else:
                    other.append(short(rep))
        fill_s = now() - t0
        nobind = c.cmd(f"REPR f{refused}") if refused is not None else None
        t = now()
        verify = c.cmd("DEBUG VERIFY", timeout=120)
        t_verify = now() - t
        mem = info(c, "memory")
        pong = c.cmd("PING")
        rss1 = h.rss()
        peak = int(mem.get("heap_mapped_peak_bytes", "0"))
        r.check(first_limit is not None, "no -LIMIT within the bound")
        r.check(not other, f"other replies: {other[:2]}")
        r.check(isinstance(verify, Simple) and "consistent" in verify, f"DEBUG VERIFY: {short(verify)}")
        r.check(is_err(nobind, "NOVAR"), f"the refused name is bound: REPR → {short(nobind)}")
        r.check(0 < peak <= 64 * MiB, f"heap_mapped_peak_bytes {peak} > 64 MiB")
        r.check(pong == "PONG" and h.alive(), "heapd not alive")
        r.check(rss1 - rss0 <= 2 * 64, f"RSS grew {rss1 - rss0:.0f} MiB (> 2 × cap)")
        r.fig(f"{made} objects in {fill_s:.1f} s, then {short(first_limit, 80)}")
        r.fig(f"refused name unbound ({short(nobind, 30)}); {short(verify, 44)} in {ms(t_verify)}")
        r.fig(f"heap_mapped_peak {peak / MiB:.1f} MiB; RSS {rss0:.0f} → {rss1:.0f} MiB")
        r.result = f"-LIMIT after {made} objects; VERIFY OK; nothing half-created"
        c.close()
    r.finish_heapd(h)
    rows.append(r)
    return rows


@case("4")
def case_slow_reader(o):
    r = Row("4. a client pipelines 2000 × `REPR l` (a 6 MB reply: `l` = list of 100 × a 60,000-char str; "
            "`REPR` cuts bytes at 64) and never reads")
    with Heapd(o.heapd) as h:
        slow = Conn(h.sock)
        made = (slow.cmd("NEW s str " + "a" * 60000), slow.cmd("NEW l list" + " s" * 100))
        t = now()
        size = len(slow.cmd("REPR l"))
        t_repr = now() - t
        rss0 = h.rss()
        cmds0 = int(info_once(h.sock, "clients")["total_commands_processed"])
        with Pinger(h.sock) as p, RssSampler(h.pid) as sampler:
            time.sleep(0.5)
            t0 = now()
            slow.send(*(["REPR l"] * 2000))
            time.sleep(4.0)
            c1 = h.ticks()
            time.sleep(2.0)
            idle = (h.ticks() - c1) / TICKS
            rss1 = h.rss()
        peak = sampler.peak
        side = Conn(h.sock)
        lim = info(side, "limits")
        cl = info(side, "clients")
        clients = cl.get("connected_clients")
        # commands run between the two INFO clients, less the pinger's PINGs, one INFO clients and the
        # INFO limits: the REPRs heapd ran
        reprs = int(cl["total_commands_processed"]) - cmds0 - len(p.lat) - 2
        slow.close()
        time.sleep(1.0)
        rss2 = h.rss()
        pong = side.cmd("PING")
        side.close()
        r.check(made == ("OK", "OK") and size == 6_000_400, f"setup: {made!r}, repr {size} bytes")
        r.check(peak - rss0 <= 64, f"RSS grew {peak - rss0:.0f} MiB (> 64 MiB)")
        r.check(p.ok(2.0), f"PING latency/errors: {lat(p.lat)} {p.errors[:1]}")
        r.check(idle < 0.3, f"heapd busy while the client does not read ({idle:.2f} s CPU in 2 s)")
        r.check(pong == "PONG" and h.alive(), "heapd not alive")
        r.fig(f"RSS {rss0:.0f} → peak {peak:.0f} → {rss1:.0f} MiB after {now() - t0:.0f} s; {rss2:.0f} MiB after "
              f"the client closed")
        r.fig(f"about {reprs} of the 2000 `REPR l` run (the rest wait unread; one takes {ms(t_repr)}, its loop's "
              f"other clients wait meanwhile); other client's PING {lat(p.lat)}; "
              f"heapd CPU {idle:.2f} s over 2 s while blocked")
        r.fig(f"slow client still connected (connected_clients={clients}); output_limit_disconnections="
              f"{lim.get('output_limit_disconnections')}")
        r.result = f"paused: RSS +{peak - rss0:.0f} MiB at most; others unaffected"
    r.finish_heapd(h)
    return [r]


def _partial_bulk_run(o, budget: str | None):
    label = budget or "default (1G)"
    r = Row(f"5{'a' if budget is None else 'b'}. six clients each send 400 MiB of a declared 512 MiB RESP "
            f"bulk (`ECHO`), never finishing; partial-request budget {label}")
    args = [] if budget is None else ["--partial-request-budget", budget]
    budget_bytes = 1024 * MiB if budget is None else int(budget.rstrip("M")) * MiB
    target = 400 * MiB
    header = b"*2\r\n$4\r\nECHO\r\n$536870912\r\n"
    chunk = memoryview(b"x" * MiB)
    with Heapd(o.heapd, *args) as h:
        rss0 = h.rss()
        socks = []
        try:
            sel = selectors.DefaultSelector()
            for i in range(6):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                socks.append(s)
                s.settimeout(5)
                s.connect(h.sock)
                s.sendall(header)
                s.setblocking(False)
                st = {"i": i, "sent": 0, "reply": b"", "closed": False, "closed_at": None}
                sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
            with Pinger(h.sock) as p, RssSampler(h.pid) as sampler:
                t0 = now()
                states = [sel.get_key(s).data for s in socks]

                def close(s, st):
                    if not st["closed"]:
                        st["closed"], st["closed_at"] = True, st["sent"]
                        sel.unregister(s)

                deadline = t0 + o.bulk_seconds
                while now() < deadline:
                    if all(st["closed"] or st["sent"] >= target for st in states):
                        break
                    for key, ev in sel.select(0.25):
                        s, st = key.fileobj, key.data
                        if ev & selectors.EVENT_READ:
                            try:
                                data = s.recv(65536)
                            except BlockingIOError:
                                data = None
                            except OSError:
                                data = b""
                            if data:
                                st["reply"] += data
                            elif data == b"":
                                close(s, st)
                                continue
                        if ev & selectors.EVENT_WRITE and st["sent"] < target:
                            try:
                                n = s.send(chunk[:min(MiB, target - st["sent"])])
                                st["sent"] += n
                                if st["sent"] >= target:
                                    sel.modify(s, selectors.EVENT_READ, st)
                            except BlockingIOError:
                                pass
                            except (BrokenPipeError, ConnectionResetError):
                                try:
                                    st["reply"] += s.recv(65536)
                                except OSError:
                                    pass
                                close(s, st)
                elapsed = now() - t0
                # Replies that come after the last bytes.
                end = now() + 1.0
                while now() < end:
                    for key, ev in sel.select(0.1):
                        try:
                            data = key.fileobj.recv(65536)
                        except OSError:
                            data = b""
                        if data:
                            key.data["reply"] += data
                        else:
                            close(key.fileobj, key.data)
            peak = sampler.peak
            side = Conn(h.sock)
            lim = info(side, "limits")
            rss_held = h.rss()
            for s in socks:
                s.close()
            time.sleep(1.0)
            rss_after = h.rss()
            pong = side.cmd("PING")
            side.close()
        finally:
            for s in socks:
                s.close()
        total = sum(st["sent"] for st in states)
        limited = [st for st in states if st["reply"].startswith(b"-LIMIT")]
        others = [st for st in states if st["reply"] and not st["reply"].startswith(b"-LIMIT")]
        unfinished = [st for st in states if not st["closed"] and st["sent"] < target]
        held = int(lim.get("partial_request_bytes", "-1"))
        r.check(pong == "PONG" and h.alive(), "heapd not alive")
        r.check(not others, f"unexpected replies: {[st['reply'][:60] for st in others]}")
        r.check(held <= budget_bytes, f"partial_request_bytes {held} > budget")
        # The budget counts bytes received; the buffers holding them grow by doubling, so RSS may
        # briefly reach twice the budget. Bounded means: at most 2 × budget + 64 MiB.
        r.check(peak - rss0 <= 2 * budget_bytes / MiB + 64,
                f"RSS grew {peak - rss0:.0f} MiB (> 2 × budget + 64 MiB)")
        r.check(not unfinished, f"{len(unfinished)} clients could not send everything within {o.bulk_seconds} s")
        r.check(p.ok(2.0), f"PING latency/errors: {lat(p.lat)} {p.errors[:1]}")
        r.fig(f"sent {total / MiB:.0f} MiB in {elapsed:.1f} s ({total / MiB / max(elapsed, 0.01):.0f} MiB/s)")
        r.fig("`-LIMIT` to client(s) " + (", ".join(f"#{st['i']} at {st['closed_at'] / MiB:.0f} MiB"
                                                    for st in limited) or "none")
              + f"; partial_request_evictions={lim.get('partial_request_evictions')}; held at the end "
                f"{held / MiB:.0f} MiB by {6 - len(limited)} clients")
        r.fig(f"RSS {rss0:.0f} → peak {peak:.0f} (+{(peak - rss0) / (budget_bytes / MiB):.2f} × budget) → "
              f"{rss_held:.0f} MiB (survivors connected), {rss_after:.0f} MiB after they closed")
        r.fig(f"other client's PING {lat(p.lat)}")
        first_msg = limited[0]["reply"].split(b"\r\n")[0].decode("utf-8", "replace") if limited else ""
        r.result = (f"{len(limited)}/6 got -LIMIT and were closed; RSS +{peak - rss0:.0f} MiB peak"
                    + (f" (`{short(first_msg[1:], 60)}`)" if first_msg else ""))
    r.finish_heapd(h)
    return r


@case("5")
def case_partial_bulk(o):
    return [_partial_bulk_run(o, None), _partial_bulk_run(o, "256M")]


@case("6")
def case_descriptors(o):
    r = Row("6. heapd under `ulimit -n 200`; 400 clients connect at once, each sends `PING`")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with Heapd(o.heapd, shell="ulimit -n 200") as h:
        lim0 = info_once(h.sock, "limits")
        n = 400
        socks = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(n)]
        state = [{"connected": False, "data": b"", "eof": False} for _ in range(n)]
        sel = selectors.DefaultSelector()
        try:
            for s in socks:
                s.setblocking(False)
            burst0 = h.ticks()
            t0 = now()
            pending = list(range(n))
            while now() - t0 < 5.0:
                still = []
                for i in pending:
                    try:
                        socks[i].connect(h.sock)
                    except (BlockingIOError, InterruptedError):
                        still.append(i)  # backlog full: try again
                        continue
                    except OSError as e:
                        state[i]["error"] = e.errno
                        continue
                    state[i]["connected"] = True
                    try:
                        socks[i].send(b"PING\r\n")
                    except OSError:
                        pass
                    sel.register(socks[i], selectors.EVENT_READ, i)
                pending = still
                for key, _ in sel.select(0.01):
                    i = key.data
                    try:
                        data = socks[i].recv(4096)
                    except OSError:
                        data = b""
                    if data:
                        state[i]["data"] += data
                    else:
                        state[i]["eof"] = True
                        sel.unregister(socks[i])
                if not pending and all(st["eof"] or st["data"].startswith((b"+PONG", b"-")) for st in state):
                    break
            settle = now() - t0
            burst_ticks = h.ticks() - burst0
            served = sum(st["data"].startswith(b"+PONG") for st in state)
            limited = sum(st["data"].startswith(b"-LIMIT") for st in state)
            silent_close = sum(st["eof"] and not st["data"] for st in state)
            nothing = sum(st["connected"] and not st["data"] and not st["eof"] for st in state)
            never = sum(not st["connected"] for st in state)
            c1 = h.ticks()
            time.sleep(3.0)
            ticks3 = h.ticks() - c1
        finally:
            sel.close()
            for s in socks:
                s.close()
        time.sleep(0.5)
        side = Conn(h.sock)
        pong = side.cmd("PING")
        lim = info(side, "limits")
        cl = info(side, "clients")
        side.close()
        warnings = h.read_log().count(b"accept failed")
        r.check(served > 0 and served + limited == n, f"served {served} + -LIMIT {limited} != {n}")
        r.check(nothing == 0 and never == 0 and silent_close == 0,
                f"{nothing} got nothing, {never} never connected, {silent_close} closed without a reply")
        r.check(ticks3 < 0.1 * TICKS * 3, f"{ticks3} CPU ticks in 3 s (spinning?)")
        r.check(pong == "PONG" and h.alive(), "heapd not alive, or a new client not served afterwards")
        r.fig(f"max_clients={lim0.get('max_clients')}, fd_reserve={lim0.get('fd_reserve')}")
        r.fig(f"{served} served, {limited} `-LIMIT`, {nothing} nothing within 5 s, {silent_close} closed "
              f"silently, {never} never connected; all settled in {settle:.2f} s (heapd CPU {burst_ticks / TICKS:.2f} s)")
        r.fig(f"heapd CPU {ticks3} ticks ({ticks3 / TICKS:.2f} s) over 3 s afterwards; "
              f"rejected_connections={cl.get('rejected_connections')}, accept_errors={lim.get('accept_errors')} "
              f"({warnings} log line{'s' if warnings != 1 else ''}); "
              f"a new client served after")
        r.result = f"{served} served, {limited} -LIMIT, 0 hanging; idle after"
        if nothing or never or silent_close:
            r.result = f"{served} served, {limited} -LIMIT, {nothing + never + silent_close} without an answer"
    r.finish_heapd(h)
    return [r]


def _heapd_clients_group() -> bool:
    import grp
    try:
        grp.getgrnam("heapd-clients")
        return True
    except KeyError:
        return False


@case("7")
def case_umask(o):
    r = Row("7. the socket's mode when heapd starts under `umask 000`")
    with Heapd(o.heapd, shell="umask 000") as h:
        st = os.stat(h.sock)
        mode = stat.S_IMODE(st.st_mode)
        group = _heapd_clients_group()
        expected = 0o660 if group else 0o600
        r.check(stat.S_ISSOCK(st.st_mode) and mode == expected, f"mode {mode:04o}, expected {expected:04o}")
        r.fig(f"socket mode {mode:04o} owner {st.st_uid}:{st.st_gid}; group heapd-clients "
              f"{'exists' if group else 'absent'} → expected {expected:04o}")
        r.result = f"{mode:04o} (umask ignored)"
    r.finish_heapd(h)
    return [r]


@case("8")
def case_snapshot_files(o):
    r = Row("8. `TRACEMALLOC LOAD` of a symlink in `--snapshot-dir` → /etc/passwd (and a FIFO, a hard link, "
            "`../`); `DUMP` file mode (heapd under `umask 000`)")
    with Heapd(o.heapd, shell="umask 000") as h:
        c = Conn(h.sock, timeout=10)
        c.cmd("TRACEMALLOC START")
        c.cmd("NEW a list")
        snap = c.cmd("TRACEMALLOC TAKE_SNAPSHOT")
        dumped = c.cmd(f"TRACEMALLOC DUMP {snap} snap.json")
        path = os.path.join(h.snapdir, "snap.json")
        fmode = stat.S_IMODE(os.lstat(path).st_mode) if os.path.exists(path) else None
        dmode = stat.S_IMODE(os.stat(h.snapdir).st_mode) if os.path.isdir(h.snapdir) else None
        # hostile files in the snapshot directory
        os.symlink("/etc/passwd", os.path.join(h.snapdir, "passwd.json"))
        os.mkfifo(os.path.join(h.snapdir, "fifo.json"))
        outside = os.path.join(h.dir, "outside.json")
        shutil.copyfile(path, outside)
        os.link(outside, os.path.join(h.snapdir, "hard.json"))
        victim = os.path.join(h.dir, "victim")
        with open(victim, "w") as f:
            f.write("victim\n")
        os.symlink(victim, os.path.join(h.snapdir, "out.json"))
        replies = {}
        for name, line in (("symlink", "TRACEMALLOC LOAD passwd.json"), ("fifo", "TRACEMALLOC LOAD fifo.json"),
                           ("hardlink", "TRACEMALLOC LOAD hard.json"),
                           ("dotdot", "TRACEMALLOC LOAD ../outside.json"),
                           ("abs", "TRACEMALLOC LOAD /etc/passwd")):
            t = now()
            try:
                replies[name] = (c.cmd(line, timeout=5), now() - t)
            except TimeoutError:
                replies[name] = (Err("TIMEOUT no reply within 5 s"), 5.0)
                c = Conn(h.sock, timeout=10)
        dump_link = c.cmd(f"TRACEMALLOC DUMP {snap} out.json")
        with open(victim) as f:
            victim_ok = f.read() == "victim\n"
        out = os.path.join(h.snapdir, "out.json")
        out_st = os.lstat(out)
        load_ok = c.cmd("TRACEMALLOC LOAD snap.json")
        r.check(isinstance(dumped, bytes) and fmode == 0o600, f"DUMP {short(dumped)} mode {fmode}")
        r.check(dmode == 0o700, f"snapshot dir mode {dmode}")
        r.check(is_err(replies["symlink"][0], "IO"), f"symlink LOAD → {short(replies['symlink'][0])}")
        r.check(is_err(replies["fifo"][0], "IO") and replies["fifo"][1] < 2, f"FIFO LOAD → {short(replies['fifo'][0])}")
        r.check(is_err(replies["hardlink"][0], "IO"), f"hard link LOAD → {short(replies['hardlink'][0])}")
        r.check(is_err(replies["dotdot"][0], "SYNTAX") and is_err(replies["abs"][0], "SYNTAX"), "a path was accepted")
        r.check(isinstance(dump_link, bytes) and victim_ok and stat.S_ISREG(out_st.st_mode)
                and stat.S_IMODE(out_st.st_mode) == 0o600, "DUMP wrote through a symlink")
        r.check(isinstance(load_ok, int), f"LOAD of the real dump: {short(load_ok)}")
        r.check(h.alive(), "heapd died")
        r.fig(f"symlink→/etc/passwd: {short(replies['symlink'][0], 60)}")
        r.fig(f"FIFO: {short(replies['fifo'][0], 24)} in {ms(replies['fifo'][1])}; hard link to a file outside: "
              f"{short(replies['hardlink'][0], 24)}; `../x`, `/etc/passwd`: {replies['dotdot'][0].code if isinstance(replies['dotdot'][0], Err) else '?'}, "
              f"{replies['abs'][0].code if isinstance(replies['abs'][0], Err) else '?'}")
        r.fig(f"DUMP file {fmode:04o}, dir {dmode:04o} (umask 000); DUMP onto a symlink replaced the link "
              f"({stat.S_IMODE(out_st.st_mode):04o} regular file), target untouched: {victim_ok}")
        r.result = f"-IO; dump 0{fmode:o}" if fmode is not None else "no dump file"
        c.close()
    r.finish_heapd(h)
    return [r]


@case("9")
def case_junk(o):
    r = Row("9. junk: 10,000 unknown commands and malformed lines from one client, `--log-level info`")
    junk = ["FROB{i} x", 'NEW x str "unterminated{i}', 'ECHO "\\q{i}"', "GC FROBNICATE {i}", "NEW",
            "NEW 1x{i} int 1", "TRACEMALLOC NOPE {i}", "\x01\x02\x7f junk {i}", "GETITEM", "PING a b c {i}"]
    with Heapd(o.heapd, log_level="info") as h:
        time.sleep(0.2)
        base = h.read_log()
        c = Conn(h.sock)
        codes: dict[str, int] = {}
        t0 = now()
        cpu0 = h.ticks()
        for start in range(0, 10000, 500):
            c.send(*[junk[i % len(junk)].format(i=i) for i in range(start, start + 500)])
            for _ in range(500):
                rep = c.read()
                code = rep.code if isinstance(rep, Err) else "not-an-error"
                codes[code] = codes.get(code, 0) + 1
        junk_s = now() - t0
        cpu = (h.ticks() - cpu0) / TICKS
        during = h.read_log()[len(base):]
        pong = c.cmd("PING")
        # the summary is written every 10 s (and at stop): wait for it, bounded
        end = now() + 12
        while now() < end and b"requests rejected" not in h.read_log()[len(base):]:
            time.sleep(0.2)
        after = h.read_log()[len(base):]
        c.close()
    total = h.log_text[len(base):]
    summary = [ln for ln in after.decode("utf-8", "replace").splitlines() if "requests rejected" in ln]
    replies = sum(codes.values())
    r.check(replies == 10000 and "not-an-error" not in codes, f"replies {codes}")
    r.check(pong == "PONG", "heapd not serving after the junk")
    r.check(len(during.splitlines()) <= 5, f"{len(during.splitlines())} log lines during the junk")
    r.check(len(total.splitlines()) <= 10, f"{len(total.splitlines())} log lines in all")
    r.check(bool(summary), "no summary line")
    r.fig(f"10,000 replies in {junk_s:.1f} s (heapd CPU {cpu:.1f} s): "
          + ", ".join(f"{k} {v}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1])))
    r.fig(f"log during the junk: {len(during.splitlines())} lines/{len(during)} B; until stopped: "
          f"{len(total.splitlines())} lines/{len(total)} B")
    if summary:
        r.fig("summary line: `" + summary[0].rsplit("] ", 1)[-1][:110].replace("|", "/") + "`")
    r.result = f"{len(total.splitlines())} log lines for 10,000 rejections"
    r.finish_heapd(h)
    return [r]


@case("10")
def case_tracemalloc(o):
    r = Row("10. `TRACEMALLOC START`, 300k objects (3 × `LIST` of a 100k `gen range`), `TAKE_SNAPSHOT`, "
            "`DUMP`, `LOAD`")
    with Heapd(o.heapd) as h:
        c = Conn(h.sock, timeout=120)
        rss = {"start": h.rss()}
        c.cmd("TRACEMALLOC START")
        lens = []
        for i in range(3):
            c.cmd(f"NEW g{i} gen range 100000")
            lens.append(c.cmd(f"LIST l{i} g{i}"))
        objs = info(c, "objects").get("objects")
        rss["objects"] = h.rss()
        t = now()
        snap = c.cmd("TRACEMALLOC TAKE_SNAPSHOT")
        t_snap = now() - t
        rss["snapshot"] = h.rss()
        with RssSampler(h.pid) as s_dump:
            t = now()
            dumped = c.cmd(f"TRACEMALLOC DUMP {snap} big.json")
            t_dump = now() - t
        rss["dump"] = h.rss()
        path = os.path.join(h.snapdir, "big.json")
        size = os.path.getsize(path) if os.path.exists(path) else 0
        with RssSampler(h.pid) as s_load:
            t = now()
            loaded = c.cmd("TRACEMALLOC LOAD big.json")
            t_load = now() - t
        rss["load"] = h.rss()
        snaps = c.cmd("TRACEMALLOC SNAPSHOTS")
        traces = [x[1] for x in snaps] if isinstance(snaps, list) else []
        c.close()
        r.check(lens == [100000] * 3, f"LIST replies {lens}")
        r.check(isinstance(snap, int) and isinstance(dumped, bytes) and isinstance(loaded, int),
                f"snapshot {short(snap)}, DUMP {short(dumped)}, LOAD {short(loaded)}")
        r.check(len(traces) == 2 and traces[0] == traces[1] and traces[0] >= 300000, f"traces {traces}")
        r.check(s_dump.peak - rss["snapshot"] <= 32, f"DUMP took {s_dump.peak - rss['snapshot']:.0f} MiB")
        r.check(s_load.peak - rss["dump"] <= 64, f"LOAD took {s_load.peak - rss['dump']:.0f} MiB")
        r.check(h.alive(), "heapd died")
        r.fig(f"objects={objs}; traces per snapshot {traces}")
        r.fig(f"RSS MiB: before START {rss['start']:.0f}, after objects {rss['objects']:.0f}, after TAKE_SNAPSHOT "
              f"{rss['snapshot']:.0f} ({ms(t_snap)})")
        r.fig(f"DUMP {size / MiB:.1f} MiB file in {ms(t_dump)}: peak {s_dump.peak:.0f}, after {rss['dump']:.0f}")
        r.fig(f"LOAD in {ms(t_load)}: peak {s_load.peak:.0f}, after {rss['load']:.0f}")
        r.result = (f"DUMP +{s_dump.peak - rss['snapshot']:.0f} MiB peak, LOAD +{rss['load'] - rss['dump']:.0f} MiB")
    r.finish_heapd(h)
    return [r]


@case("11")
def case_role(o):
    r = Row("11. `--config` with `monitor = uid:0`: root connects as a monitor")
    with Heapd(o.heapd, config="monitor = uid:0\n") as h:
        c = Conn(h.sock)
        me = c.cmd("CLIENT INFO")
        new = c.cmd("NEW x int 1")
        gc_off = c.cmd("GC DISABLE")
        inf = c.cmd("INFO server")
        ping = c.cmd("PING")
        c.close()
        time.sleep(0.2)
        log = h.read_log()
        role = me.decode().split("role=")[1].split()[0] if isinstance(me, bytes) and b"role=" in me else "?"
        r.check(role == "monitor", f"CLIENT INFO role {role}")
        r.check(is_err(new, "DENIED") and is_err(gc_off, "DENIED"), f"NEW → {short(new)}, GC DISABLE → {short(gc_off)}")
        r.check(isinstance(inf, bytes) and b"heapd_version" in inf and ping == "PONG", "INFO/PING refused")
        r.check(h.alive(), "heapd died")
        r.fig(f"CLIENT INFO role={role}; NEW → {short(new, 60)}; GC DISABLE → {short(gc_off, 24)}; "
              f"INFO server → ${len(inf) if isinstance(inf, bytes) else short(inf)}")
        r.fig(f"denial logged: {b'DENIED' in log or b'denied' in log or b'requires role' in log}")
        r.result = "-DENIED for NEW; INFO works"
    r.finish_heapd(h)
    return [r]


# ----------------------------------------------------------------------------------------------- main

class Interrupted(BaseException):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--heapd", default=os.path.join(REPO, ".build/debug/heapd"),
                    help="the heapd binary (default: .build/debug/heapd of this repository)")
    ap.add_argument("--only", help="comma-separated case numbers (1..11), e.g. --only 2,5")
    ap.add_argument("--bulk-seconds", type=float, default=90.0,
                    help="time bound of each run of case 5 (default 90)")
    o = ap.parse_args()
    o.heapd = os.path.abspath(o.heapd)
    if not os.access(o.heapd, os.X_OK):
        print(f"abuse: no heapd binary at {o.heapd} (swift build --product heapd, or --heapd PATH)")
        return 1
    wanted = list(CASES) if not o.only else [x.strip() for x in o.only.split(",")]
    for w in wanted:
        if w not in CASES:
            ap.error(f"unknown case {w}")

    def on_term(signum, frame):
        raise Interrupted(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`&`)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    print(f"heapd {o.heapd}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}; figures in MiB and ms; PING latency median/max")
    print()
    print("| input or fault | result | figures |")
    print("|---|---|---|")
    sys.stdout.flush()
    passed = failed = 0
    try:
        for number in wanted:
            try:
                rows = CASES[number](o)
            except (KeyboardInterrupt, Interrupted):
                raise
            except Exception as e:  # noqa: BLE001 - a case that breaks is a failed case
                row = Row(f"{number}. (case aborted)")
                row.check(False, f"{type(e).__name__}: {e}")
                rows = [row]
            for row in rows:
                ok = not row.failures
                passed += ok
                failed += not ok
                result = ("PASS: " if ok else "FAIL: " + "; ".join(row.failures) + " — ") + row.result
                figures = "; ".join(row.figures)
                print(f"| {row.what} | {result.replace('|', '/')} | {figures} |")
                sys.stdout.flush()
    except (KeyboardInterrupt, Interrupted) as e:
        print(f"\nabuse: interrupted ({str(e) or 'Ctrl-C'}); heapd stopped, files removed")
        failed += 1
    print()
    print(f"abuse: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""A full room: N concurrent learner sessions against one real ``streamlit run app.py`` and one Redis.

``python bench/bench_load.py --learners 30 --duration 180 --think 10`` (``make bench`` runs the defaults:
30 learners, 30 s, 5 s think time). ``--think 0`` makes it a stress test: every learner clicks again the
moment a result arrives.

How the learners are driven, and why: each learner is a Streamlit *websocket client* speaking the app's
own protocol (``BackMsg``/``ForwardMsg`` protobufs from the installed streamlit package): it opens a
session, navigates between pages and clicks "Run…" buttons by sending the same ``rerun_script``
messages a browser sends, and times each rerun from the message sent to the server's
``script_finished``. The server does all its real work (sessions, scripts, experiments, Redis); only
the drawing is skipped. On a 2-core machine, 30 Chromium pages would spend the cores rendering React
and plotly and measure the browsers, not the app; AppTest sessions in threads would bypass the server's
websocket and session handling. The browser path itself is covered by tests/browser.

Each learner has a resume token (``?learner=…``, labs/workshop/resume.py), so its namespace ``lab:{id}:`` is
known. Reported: rerun time p50/p95 (page loads and Run clicks apart), errors (exceptions, error
boxes, disconnects, and learner limits apart), server RSS (from /proc), Redis ``used_memory``, and
cross-talk: every ``lab:{…}`` a learner was shown must be its own, and every learner key left on Redis
must belong to one of the learners.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from labs.core.metrics import percentiles  # noqa: E402
from labs.workshop.resume import new_resume_token, session_from_token  # noqa: E402

PAGES = ("", "structures", "patterns")  # the pages whose experiments use the learner's Redis
SKIP = re.compile(r"Memory by encoding|crash|memory model|Calibrate", re.I)  # private servers: not this bench
PREFIX = re.compile(r"lab:\{([a-z0-9]{4,32})\}")
LIMIT_WORDS = ("faster than this shared server allows", "keys on this shared server", "over the lab's limit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (Linux /proc), in MB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


@dataclass
class Stats:
    load_s: list[float] = field(default_factory=list)
    run_s: list[float] = field(default_factory=list)
    by_label: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    limited: int = 0
    runs: int = 0
    shown_prefixes: set[str] = field(default_factory=set)


class Learner:
    """One browser-less learner: a websocket session that reruns pages and clicks Run buttons."""

    def __init__(self, base: str, index: int, rng: random.Random, think_s: float = 0.0) -> None:
        self.base, self.index, self.rng, self.think_s = base, index, rng, think_s
        self.token = new_resume_token()
        self.sid = session_from_token(self.token)
        self.stats = Stats()
        self.pages: dict[str, str] = {}       # url_pathname -> page_script_hash
        self.buttons: dict[str, str] = {}     # label -> widget id (this page's last render)
        self.ws = None

    def _send_rerun(self, page_hash: str = "", query: str = "", states: list | None = None) -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_script_hash = page_hash
        for widget_id in states or ():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id, state.trigger_value = widget_id, True
        start = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        buttons: dict[str, str] = {}
        while True:
            raw = self.ws.recv(timeout=180)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self._element(fwd.delta.new_element, buttons)
            elif kind == "script_finished":
                if fwd.script_finished in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
                    if fwd.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        self.stats.errors.append("compile error")
                    self.buttons = buttons
                    return time.perf_counter() - start

    def _element(self, el, buttons: dict[str, str]) -> None:
        kind = el.WhichOneof("type")
        if kind == "button":
            buttons[el.button.label] = el.button.id
        elif kind == "exception":
            self.stats.errors.append(f"exception: {el.exception.type}: {el.exception.message[:120]}")
        elif kind == "alert":
            body = el.alert.body
            if el.alert.format == 1:  # ERROR
                if any(w in body for w in LIMIT_WORDS):
                    self.stats.limited += 1
                else:
                    self.stats.errors.append(f"error box: {body[:160]}")
        text = ""
        if kind == "markdown":
            text = el.markdown.body
        elif kind == "code":
            text = el.code.code_text
        elif kind == "alert":
            text = el.alert.body
        if text:
            self.stats.shown_prefixes.update(PREFIX.findall(text))

    def run(self, deadline: float) -> None:
        try:
            self.ws = connect(self.base.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                              origin=self.base, max_size=64 * 1024 * 1024, open_timeout=60, legacy=True)
            self.stats.load_s.append(self._send_rerun(query=f"learner={self.token}"))
            while time.monotonic() < deadline:
                path = self.rng.choice(PAGES)
                page_hash = self.pages.get(path, "")
                self.stats.load_s.append(self._send_rerun(page_hash=page_hash))
                runs = [label for label in self.buttons if label.startswith("Run") and not SKIP.search(label)]
                for label in self.rng.sample(runs, min(2, len(runs))):
                    if time.monotonic() >= deadline:
                        break
                    took = self._send_rerun(page_hash=page_hash, states=[self.buttons[label]])
                    self.stats.run_s.append(took)
                    self.stats.by_label.setdefault(label, []).append(took)
                    self.stats.runs += 1
                    if self.think_s:  # a learner reads the result before the next click
                        time.sleep(min(self.think_s * self.rng.uniform(0.5, 1.5), max(0.0, deadline - time.monotonic())))
        except Exception as exc:  # a dropped connection or a timeout is an error of the run, not of the bench
            self.stats.errors.append(f"client: {type(exc).__name__}: {exc}")
        finally:
            if self.ws is not None:
                self.ws.close()


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("bench_load: redis-server is not on PATH (set REDIS_URL to use another server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("bench_load: redis-server did not start")


def start_app(workdir: Path, url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "LAB_BACKEND": "live", "REDIS_URL": url, "LAB_DB_PATH": str(workdir / "primary.sqlite3"),
           "PYTHONUNBUFFERED": "1"}
    log = open(workdir / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit("bench_load: the app did not start:\n" + (workdir / "streamlit.log").read_text()[-2000:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each learner keeps working")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which learners arrive")
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean seconds a learner reads a result before the next click (0 = a stress test)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    own_redis = None
    url = os.environ.get("REDIS_URL", "")
    if not url:
        own_redis, url = start_redis(workdir)
    app, base = start_app(workdir, url)
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        mem_before = int(r.info("memory")["used_memory"])
        load_before = os.getloadavg()[0]
        existing = {m.group(1) for k in r.scan_iter(match="lab:*", count=1000) if (m := PREFIX.match(k))}
        rss_samples: list[float] = []
        mem_samples: list[int] = []
        learners = [Learner(base, i, random.Random(args.seed * 1000 + i), args.think) for i in range(args.learners)]
        start = time.monotonic()
        deadline = start + args.ramp + args.duration
        threads = []
        for i, learner in enumerate(learners):
            t = threading.Thread(target=learner.run, args=(deadline,), daemon=True)
            threads.append(t)
            time.sleep(args.ramp / max(1, args.learners))
            t.start()
        while any(t.is_alive() for t in threads):
            rss_samples.append(rss_mb(app.pid))
            mem_samples.append(int(r.info("memory")["used_memory"]))
            time.sleep(1.0)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start

        loads = [s for lr in learners for s in lr.stats.load_s]
        runs = [s for lr in learners for s in lr.stats.run_s]
        errors = [e for lr in learners for e in lr.stats.errors]
        limited = sum(lr.stats.limited for lr in learners)
        mine = {lr.sid for lr in learners}
        crosstalk = {lr.index: sorted(lr.stats.shown_prefixes - {lr.sid}) for lr in learners
                     if lr.stats.shown_prefixes - {lr.sid}}
        never_shown = [lr.index for lr in learners if lr.sid not in lr.stats.shown_prefixes]
        on_server = {m.group(1) for k in r.scan_iter(match="lab:*", count=1000) if (m := PREFIX.match(k))}
        foreign = sorted(on_server - mine - existing)   # e.g. the live backend's 10 s write probe: allowed, listed
        stray_foreign = [sid for sid in foreign
                         if any(":probe:" not in k for k in r.scan_iter(match=f"lab:{{{sid}}}:*", count=1000))]
        pl, pr = percentiles(loads, (50, 95)), percentiles(runs, (50, 95))

        print(f"bench_load: {args.learners} learners x {args.duration:.0f} s (+{args.ramp:.0f} s ramp), think time "
              f"{args.think:g} s, against one streamlit server and one Redis, {os.cpu_count()} CPUs; wall {elapsed:.0f} s")
        print(f"  page loads : {len(loads):5d}  p50 {pl['p50'] * 1000:7.0f} ms  p95 {pl['p95'] * 1000:7.0f} ms")
        print(f"  Run clicks : {len(runs):5d}  p50 {pr['p50'] * 1000:7.0f} ms  p95 {pr['p95'] * 1000:7.0f} ms  "
              f"({len(runs) / elapsed:.1f} experiment runs/s)")
        by_label: dict[str, list[float]] = {}
        for lr in learners:
            for label, times in lr.stats.by_label.items():
                by_label.setdefault(label, []).extend(times)
        slowest = sorted(by_label.items(), key=lambda kv: -percentiles(kv[1], (50,))["p50"])[:4]
        print("  slowest    : " + "; ".join(f"{label.removeprefix('Run: ')} p50 "
                                           f"{percentiles(t, (50,))['p50']:.1f} s (n={len(t)})" for label, t in slowest))
        print(f"  machine    : load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} at the end "
              "(other processes share these cores)")
        print(f"  errors     : {len(errors)}" + (f"  e.g. {errors[:3]}" if errors else ""))
        print(f"  limited    : {limited} runs refused by a learner limit (shown as a message, not an error)")
        print(f"  server RSS : max {max(rss_samples, default=0):.0f} MB, end {rss_samples[-1] if rss_samples else 0:.0f} MB")
        print(f"  Redis      : used_memory {mem_before / 1e6:.1f} MB before, max {max(mem_samples, default=0) / 1e6:.1f} MB"
              f", end {int(r.info('memory')['used_memory']) / 1e6:.1f} MB; "
              f"{len(on_server)} namespaces hold keys")
        print(f"  cross-talk : {len(crosstalk)} learners shown another's prefix; "
              f"{len(stray_foreign)} namespaces on Redis not a learner's "
              f"({len(foreign) - len(stray_foreign)} live-backend write probes); "
              f"{len(never_shown)} learners never saw their own prefix")
        ok = not errors and not crosstalk and not stray_foreign and not never_shown and runs
        if not ok:
            print("bench_load: FAILED", crosstalk or stray_foreign or never_shown or errors[:10])
        return 0 if ok else 1
    finally:
        for lr in locals().get("learners", []):
            keys = list(r.scan_iter(match=f"lab:{{{lr.sid}}}:*", count=1000))
            if keys:
                r.unlink(*keys)
        r.close()
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        if own_redis is not None:
            own_redis.terminate()
            own_redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

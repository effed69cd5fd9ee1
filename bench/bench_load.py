"""A full room: N concurrent learner sessions against the app as `make workshop` serves it.

``python bench/bench_load.py --learners 30 --duration 120 --think 10`` (``make bench`` runs the defaults:
30 learners, 30 s, 5 s think time). ``--think 0`` makes it a stress test: every learner clicks again the
moment a result arrives.

The app runs as ``make workshop`` runs it (``ui.serve.Workshop``: a class server, ``--replicas`` app
processes with ``--workers`` pool workers each, HAProxy in front with a sticky cookie). ``--configs`` runs the
issue's three configurations one after the other and prints them side by side:

* ``today`` — 1 replica, no worker pool (every experiment on the app's script threads, one GIL);
* ``pool`` — 1 replica, a pool with one worker per core;
* ``replicas`` — one replica per core behind HAProxy, one pool worker each.

``python bench/bench_load.py --configs today,pool,replicas --learners 30 --duration 120 --think 10`` is the
issue's table (and ``--learners 60``); run it on a quiet machine (load average below 1).

How the learners are driven, and why: each learner is a Streamlit *websocket client* speaking the app's
own protocol (``BackMsg``/``ForwardMsg`` protobufs from the installed streamlit package): it opens a
session, navigates between pages and clicks "Run…" buttons by sending the same ``rerun_script``
messages a browser sends, and times each rerun from the message sent to the server's
``script_finished``. The server does all its real work (sessions, scripts, experiments, Redis); only
the drawing is skipped. On a 2-core machine, 30 Chromium pages would spend the cores rendering React
and plotly and measure the browsers, not the app; AppTest sessions in threads would bypass the server's
websocket and session handling. The browser path itself is covered by tests/browser.

Each learner has a resume token (``?learner=…``, labs/workshop/resume.py), so its namespace ``lab:{id}:`` is
known; it first fetches the page over HTTP, as a browser does, and keeps the balancer's sticky cookie for its
websocket. Reported: rerun time p50/p95 (page loads and Run clicks apart, and per experiment), runs/s,
errors (exceptions, error boxes, disconnects, and learner limits apart), RSS per replica (with its pool
workers, from /proc), CPU seconds the app processes spent per experiment run, Redis ``used_memory``, and
cross-talk: every ``lab:{…}`` a learner was shown must be its own, and every learner key left on Redis
must belong to one of the learners.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
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
from ui.serve import STICKY_COOKIE, Workshop, free_port  # noqa: E402

CONFIGS = {"today": (1, 0), "pool": (1, None), "replicas": (None, 1)}   # name -> (replicas, workers per replica)

PAGES = ("", "structures", "patterns")  # the pages whose experiments use the learner's Redis
SKIP = re.compile(r"Memory by encoding|crash|memory model|Calibrate", re.I)  # private servers: not this bench
PREFIX = re.compile(r"lab:\{([a-z0-9]{4,32})\}")
LIMIT_WORDS = ("faster than this shared server allows", "keys on this shared server", "over the lab's limit")


def _tree(pid: int) -> list[int]:
    """``pid`` and its children (the replica's pool workers; Linux /proc)."""
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    return pids


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live children."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (Linux /proc), in MB."""
    total = 0
    for p in _tree(pid):
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
        self.replica = ""
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
            with urllib.request.urlopen(self.base + "/", timeout=60) as resp:   # the page, as a browser gets it
                cookie = "; ".join(h.split(";", 1)[0] for h in resp.headers.get_all("Set-Cookie") or []
                                   if h.startswith(STICKY_COOKIE + "="))
            self.replica = cookie.partition("=")[2]
            self.ws = connect(self.base.replace("http", "ws") + "/_stcore/stream", subprotocols=["streamlit"],
                              origin=self.base, max_size=64 * 1024 * 1024, open_timeout=60,
                              additional_headers={"Cookie": cookie} if cookie else None, legacy=True)
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


def run_config(args: argparse.Namespace, name: str, replicas: int, workers: int) -> dict:
    """One configuration: start the workshop, run the learners, measure, clean up. Returns the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    os.environ["LAB_DB_PATH"] = str(workdir / "primary.sqlite3")
    workshop = Workshop(replicas, free_port(), workers=workers, redis_url=os.environ.get("REDIS_URL", ""))
    workshop.start({"LAB_INSTRUCTOR_PASSCODE": "bench-load"})
    base = f"http://127.0.0.1:{workshop.port}"
    r = redis.Redis.from_url(workshop.redis_url, decode_responses=True)
    pids = {n: p.pid for n, p in workshop.procs.items() if n != "haproxy"}
    learners: list[Learner] = []
    try:
        mem_before = int(r.info("memory")["used_memory"])
        commands_before = int(r.info("stats")["total_commands_processed"])
        load_before = os.getloadavg()[0]
        existing = {m.group(1) for k in r.scan_iter(match="lab:*", count=1000) if (m := PREFIX.match(k))}
        rss: dict[str, list[float]] = {n: [] for n in pids}
        mem_samples: list[int] = []
        learners = [Learner(base, i, random.Random(args.seed * 1000 + i), args.think) for i in range(args.learners)]
        cpu_before = {n: cpu_s(p) for n, p in pids.items()}
        start = time.monotonic()
        deadline = start + args.ramp + args.duration
        threads = []
        for learner in learners:
            t = threading.Thread(target=learner.run, args=(deadline,), daemon=True)
            threads.append(t)
            time.sleep(args.ramp / max(1, args.learners))
            t.start()
        cpu_peak = dict(cpu_before)
        while any(t.is_alive() for t in threads):
            for n, p in pids.items():
                rss[n].append(rss_mb(p))
                cpu_peak[n] = max(cpu_peak[n], cpu_s(p))   # workers' CPU counts while they are alive
            mem_samples.append(int(r.info("memory")["used_memory"]))
            time.sleep(1.0)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        cpu_used = sum(max(cpu_peak[n], cpu_s(p)) - cpu_before[n] for n, p in pids.items())
        commands = int(r.info("stats")["total_commands_processed"]) - commands_before

        loads = [s for lr in learners for s in lr.stats.load_s]
        runs = [s for lr in learners for s in lr.stats.run_s]
        errors = [e for lr in learners for e in lr.stats.errors]
        mine = {lr.sid for lr in learners}
        crosstalk = {lr.index: sorted(lr.stats.shown_prefixes - {lr.sid}) for lr in learners
                     if lr.stats.shown_prefixes - {lr.sid}}
        never_shown = [lr.index for lr in learners if lr.sid not in lr.stats.shown_prefixes]
        on_server = {m.group(1) for k in r.scan_iter(match="lab:*", count=1000) if (m := PREFIX.match(k))}
        foreign = sorted(on_server - mine - existing)   # e.g. the live backend's 10 s write probe: allowed, listed
        stray = [sid for sid in foreign
                 if any(":probe:" not in k for k in r.scan_iter(match=f"lab:{{{sid}}}:*", count=1000))]
        by_label: dict[str, list[float]] = {}
        for lr in learners:
            for label, times in lr.stats.by_label.items():
                by_label.setdefault(label, []).extend(times)
        per_replica = {n: sum(1 for lr in learners if lr.replica == n) for n in pids}
        return {
            "config": name, "replicas": replicas, "workers": workers, "learners": args.learners,
            "duration_s": args.duration, "think_s": args.think, "wall_s": elapsed, "cpus": os.cpu_count(),
            "load_before": load_before, "load_after": os.getloadavg()[0],
            "page_loads": len(loads), "load_p50_s": percentiles(loads, (50,))["p50"],
            "load_p95_s": percentiles(loads, (95,))["p95"], "runs": len(runs), "runs_per_s": len(runs) / elapsed,
            "run_p50_s": percentiles(runs, (50,))["p50"], "run_p95_s": percentiles(runs, (95,))["p95"],
            "by_experiment": {label.removeprefix("Run: "): {"n": len(t), **percentiles(t, (50, 95))}
                              for label, t in sorted(by_label.items())},
            "errors": len(errors), "error_examples": errors[:5], "limited": sum(lr.stats.limited for lr in learners),
            "crosstalk": len(crosstalk), "stray_namespaces": len(stray), "never_shown_own_prefix": len(never_shown),
            "learners_per_replica": per_replica,
            "rss_max_mb": {n: max(v, default=0.0) for n, v in rss.items()},
            "cpu_s": cpu_used, "cpu_s_per_run": cpu_used / max(1, len(runs)),
            "redis_used_memory_mb": {"before": mem_before / 1e6, "max": max(mem_samples, default=0) / 1e6},
            "redis_commands_per_s": commands / elapsed, "redis_commands_per_run": commands / max(1, len(runs)),
        }
    finally:
        for lr in learners:
            keys = list(r.scan_iter(match=f"lab:{{{lr.sid}}}:*", count=1000))
            if keys:
                r.unlink(*keys)
        r.close()
        workshop.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(res: dict) -> None:
    print(f"[{res['config']}] {res['learners']} learners x {res['duration_s']:.0f} s, think {res['think_s']:g} s, "
          f"{res['replicas']} replica(s) x {res['workers']} pool worker(s), {res['cpus']} CPUs; wall "
          f"{res['wall_s']:.0f} s; load average {res['load_before']:.1f} before, {res['load_after']:.1f} after")
    print(f"  page loads : {res['page_loads']:5d}  p50 {res['load_p50_s'] * 1000:7.0f} ms  p95 "
          f"{res['load_p95_s'] * 1000:7.0f} ms")
    print(f"  Run clicks : {res['runs']:5d}  p50 {res['run_p50_s'] * 1000:7.0f} ms  p95 {res['run_p95_s'] * 1000:7.0f} ms"
          f"  ({res['runs_per_s']:.2f} experiment runs/s)")
    for label, row in res["by_experiment"].items():
        print(f"    {label[:44]:44s} n={row['n']:4d}  p50 {row['p50']:6.2f} s  p95 {row['p95']:6.2f} s")
    print(f"  errors     : {res['errors']}" + (f"  e.g. {res['error_examples'][:3]}" if res["errors"] else ""))
    print(f"  limited    : {res['limited']} runs refused by a learner limit (a message, not an error)")
    print(f"  cross-talk : {res['crosstalk']} learners shown another's prefix; {res['stray_namespaces']} stray "
          f"namespaces; {res['never_shown_own_prefix']} learners never saw their own prefix")
    print(f"  replicas   : learners {res['learners_per_replica']}; RSS max (with pool workers) "
          + ", ".join(f"{n} {mb:.0f} MB" for n, mb in res["rss_max_mb"].items()))
    print(f"  CPU        : {res['cpu_s']:.0f} s in the app processes, {res['cpu_s_per_run']:.2f} s per experiment run")
    print(f"  Redis      : used_memory {res['redis_used_memory_mb']['before']:.1f} MB before, max "
          f"{res['redis_used_memory_mb']['max']:.1f} MB; {res['redis_commands_per_s']:,.0f} commands/s, "
          f"{res['redis_commands_per_run']:,.0f} per experiment run")


def compare(results: list[dict]) -> None:
    """The configurations side by side, with throughput as a ratio to the first one."""
    base = results[0]["runs_per_s"] or float("nan")
    print(f"\n{'config':10s}{'page p50':>10s}{'page p95':>10s}{'run p50':>10s}{'run p95':>10s}{'runs/s':>9s}"
          f"{'x first':>9s}{'errors':>8s}{'x-talk':>8s}{'CPU/run':>9s}")
    for res in results:
        print(f"{res['config']:10s}{res['load_p50_s']:9.2f}s{res['load_p95_s']:9.2f}s{res['run_p50_s']:9.2f}s"
              f"{res['run_p95_s']:9.2f}s{res['runs_per_s']:9.2f}{res['runs_per_s'] / base:8.2f}x{res['errors']:8d}"
              f"{res['crosstalk'] + res['stray_namespaces']:8d}{res['cpu_s_per_run']:8.2f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each learner keeps working")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which learners arrive")
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean seconds a learner reads a result before the next click (0 = a stress test)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--configs", default="pool", help=f"comma-separated, from {', '.join(CONFIGS)}")
    parser.add_argument("--save", default="", help="write the figures to bench/results/load-<name>.json")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    results = []
    for name in args.configs.split(","):
        replicas, workers = CONFIGS[name]
        results.append(run_config(args, name, replicas or cores, cores if workers is None else workers))
        report(results[-1])
    if len(results) > 1:
        compare(results)
    if args.save:
        out = ROOT / "bench" / "results" / f"load-{args.save}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
    ok = all(res["errors"] == 0 and res["crosstalk"] == 0 and res["stray_namespaces"] == 0
             and res["never_shown_own_prefix"] == 0 and res["runs"] for res in results)
    if not ok:
        print("bench_load: FAILED (errors, cross-talk or no runs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

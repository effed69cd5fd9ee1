"""Serving a room: ``make run`` (one app process) and ``make workshop`` (N app replicas behind HAProxy).

``python -m ui.serve run --port 8501`` settles the instructor passcode (configured, or generated
and printed here, as Jupyter prints its token), then becomes ``streamlit run app.py``.

``python -m ui.serve workshop --replicas N --port 8501`` starts, on one machine:

* one **class server** — the embedded server's binary run standalone (``labs.core.servers``: loopback only,
  no persistence, stopped with this process), or the server in ``$REDIS_URL`` when one is given. Every
  replica uses it as its live backend: learners' keys, class progress and the leaderboard live there, so
  a learner's resume link works on any replica;
* **N app replicas** — ``streamlit run app.py`` on loopback ports, each with its own worker pool
  (``LAB_POOL_WORKERS``, by default the cores divided among the replicas), each warmed by one session before
  learners arrive (imports done, pool started);
* **HAProxy** in front, on one port: round-robin for new learners, then a cookie (``LAB_REPLICA``) keeps each
  browser — its page and its websocket — on the replica that served it
  (https://docs.haproxy.org/2.6/configuration.html#4.2-cookie); ``timeout tunnel`` keeps idle websockets
  open; health checks on Streamlit's ``/_stcore/health`` take a dead replica out of rotation within about
  two seconds and ``option redispatch`` sends its learners to another one, where their resume link finds
  their keys.

Ctrl-C (or SIGTERM) stops everything it started; each child also gets the kernel's parent-death signal,
so nothing outlives a killed launcher. ``deploy/`` holds the same setup for Docker Compose and Kubernetes;
:func:`streamlit_command`, :data:`APP_PORT`, :data:`HEALTH_PATH` and :data:`REPLICA_ENV` are what
``tests/integration/test_deploy_files.py`` checks they agree with.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_PORT = 8501
HEALTH_PATH = "/_stcore/health"
STICKY_COOKIE = "LAB_REPLICA"
CLASS_MAXMEMORY = "1gb"
# What a replica reads from its environment (the deploy files set the same names).
REPLICA_ENV = ("REDIS_URL", "LAB_INSTRUCTOR_PASSCODE", "LAB_PASSCODE_SOURCE", "LAB_CLASS_ID", "LAB_WORKSHOP_HOURS",
               "LAB_POOL_WORKERS", "LAB_REPLICA")


def new_passcode() -> str:
    """12 URL-safe characters (72 random bits): easy to type from a terminal, infeasible to guess in 5 tries."""
    return secrets.token_urlsafe(9)


def banner(passcode: str, how_to_set: str) -> str:
    """What the terminal shows when a passcode was generated."""
    return ("\n  Instructor passcode (Workshop page → Instructor): " + passcode + "\n"
            "  It was generated for this run. To choose your own: " + how_to_set + "\n"
            "  or set LAB_INSTRUCTOR_PASSCODE in .streamlit/secrets.toml.\n")


def configured_passcode(root: Path = ROOT) -> str:
    """``$LAB_INSTRUCTOR_PASSCODE``, else the one in ``.streamlit/secrets.toml``, else ''."""
    if os.environ.get("LAB_INSTRUCTOR_PASSCODE"):
        return os.environ["LAB_INSTRUCTOR_PASSCODE"]
    import tomllib

    try:
        secrets_toml = tomllib.loads((root / ".streamlit" / "secrets.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    workshop = secrets_toml.get("workshop") or {}
    return str(secrets_toml.get("LAB_INSTRUCTOR_PASSCODE") or workshop.get("instructor_passcode") or "")


def passcode_env(how_to_set: str) -> dict[str, str]:
    """The passcode for the app's environment; generated and printed when none is configured."""
    configured = configured_passcode()
    if configured:
        return {"LAB_INSTRUCTOR_PASSCODE": configured} if os.environ.get("LAB_INSTRUCTOR_PASSCODE") else {}
    passcode = new_passcode()
    print(banner(passcode, how_to_set), flush=True)
    return {"LAB_INSTRUCTOR_PASSCODE": passcode, "LAB_PASSCODE_SOURCE": "generated"}


def streamlit_command(port: int, address: str | None = "127.0.0.1", python: str = sys.executable) -> list[str]:
    """One app process: no file watcher (a served app polls no files), no usage statistics, headless.
    ``address`` None keeps Streamlit's default (every interface, as ``make run`` always did)."""
    where = ["--server.address", address] if address else []
    return [python, "-m", "streamlit", "run", "app.py", "--server.port", str(port), *where,
            "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]


def haproxy_config(port: int, address: str, replicas: list[tuple[str, int]]) -> str:
    """HAProxy 2.6: one frontend, cookie-sticky round robin over the replicas, websockets, health checks."""
    servers = "\n".join(f"    server {name} 127.0.0.1:{p} cookie {name}" for name, p in replicas)
    return f"""global
    maxconn 4000

defaults
    mode http
    option redispatch
    retries 2
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 10s
    timeout queue 30s

frontend lab
    bind {address}:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    cookie {STICKY_COOKIE} insert indirect nocache httponly
    option httpchk GET {HEALTH_PATH}
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2
{servers}
"""


def find_haproxy() -> str | None:
    """HAProxy on PATH, or in /usr/sbin (where Debian puts it, often not on a non-root user's PATH)."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def _die_with_parent() -> None:  # runs in each child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 — not Linux: Ctrl-C and SIGTERM still stop everything
        pass
    os.setsid()  # Ctrl-C in the terminal reaches the launcher only; it stops the children in order


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as resp:
            return resp.read().strip() == b"ok"
    except OSError:
        return False


def warm(base_url: str, timeout: float = 120.0) -> bool:
    """Open one session on a replica, as a browser would, so its first run of app.py — imports, the worker
    pool starting, the class server's connection — happens before the first learner arrives."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    try:
        with connect(base_url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                     origin=base_url, max_size=None, open_timeout=timeout) as ws:
            ws.send(msg.SerializeToString())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                fwd = ForwardMsg()
                fwd.ParseFromString(ws.recv(timeout=timeout))
                if fwd.WhichOneof("type") == "script_finished":
                    return True
    except (OSError, TimeoutError, ValueError):
        return False
    return False


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Workshop:
    """The processes of one workshop: class server, replicas, balancer. ``start()``, then ``stop()``."""

    replicas: int
    port: int = APP_PORT
    address: str = "127.0.0.1"
    workers: int | None = None
    redis_url: str = ""
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lab-workshop-")))
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    server: object = None

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def start(self, passcode: dict[str, str]) -> None:
        haproxy = find_haproxy()
        if haproxy is None:
            raise SystemExit("make workshop needs HAProxy in front of the replicas: install it "
                             "(Debian/Ubuntu: sudo apt-get install haproxy; macOS: brew install haproxy).")
        if not self.redis_url:
            from labs.core.servers import PrivateServer

            # search=True: the class server loads RediSearch as the embedded one does (LAB_SEARCH_MODULE
            # chooses or turns it off), so the semantic cache answers from a vector index on it too.
            self.server = PrivateServer(maxmemory=CLASS_MAXMEMORY, policy="volatile-lru", search=True).start()
            if self.server.search_problem:
                print(f"Class server without vector search: {self.server.search_problem}", flush=True)
            self.redis_url = self.server.url
        from labs.core.db import ensure_seeded

        ensure_seeded()  # once, before the replicas: they would otherwise race to create the same file
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        workers = self.workers if self.workers is not None else max(1, cores // self.replicas)
        env = {**os.environ, **passcode, "REDIS_URL": self.redis_url, "PYTHONUNBUFFERED": "1"}
        if self.workers is not None or "LAB_POOL_WORKERS" not in env:
            env["LAB_POOL_WORKERS"] = str(workers)
        env.pop("LAB_BACKEND", None)
        for i in range(1, self.replicas + 1):
            name = f"r{i}"
            self.ports[name] = free_port()
            self._spawn(name, streamlit_command(self.ports[name]), {**env, "LAB_REPLICA": name})
        deadline = time.monotonic() + 120
        for name, port in self.ports.items():
            while not healthy(f"http://127.0.0.1:{port}"):
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"replica {name} did not start:\n{self.log_tail(name)}")
                time.sleep(0.2)
        for port in self.ports.values():
            warm(f"http://127.0.0.1:{port}")
        config = self.workdir / "haproxy.cfg"
        config.write_text(haproxy_config(self.port, self.address, list(self.ports.items())))
        check = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"HAProxy refused its configuration:\n{check.stdout}{check.stderr}")
        self._spawn("haproxy", [haproxy, "-db", "-f", str(config)])
        while not healthy(f"http://127.0.0.1:{self.port}"):
            if self.procs["haproxy"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy did not start on port {self.port}:\n{self.log_tail('haproxy')}")
            time.sleep(0.2)

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join((self.workdir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def describe(self) -> str:
        host = "127.0.0.1" if self.address in ("127.0.0.1", "localhost") else self.address
        lines = [f"\n  Workshop ready: http://{host}:{self.port}  — learners open this "
                 f"({self.replicas} app replica{'s' if self.replicas > 1 else ''} behind HAProxy)"]
        for name, port in self.ports.items():
            lines.append(f"  replica {name}: pid {self.procs[name].pid}, port {port}")
        where = (f"{self.server.binary.name} on 127.0.0.1:{self.server.port}, stopped with the workshop"
                 if self.server is not None else "REDIS_URL")
        lines.append(f"  class server: {where} (progress and every learner's keys)")
        lines.append(f"  logs: {self.workdir}    Ctrl-C stops everything.\n")
        return "\n".join(lines)

    def watch(self, stop: list[bool]) -> None:
        """Until ``stop[0]``: report a replica that ended (the balancer already routes around it)."""
        reported: set[str] = set()
        while not stop[0]:
            for name, proc in self.procs.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"  {name} exited (code {proc.returncode}); "
                          + ("the balancer sends its learners to the other replicas." if name != "haproxy"
                             else "learners can no longer reach the app: stopping."), flush=True)
                    if name == "haproxy":
                        return
            time.sleep(0.5)

    def stop(self) -> None:
        for name in ["haproxy", *[n for n in self.procs if n != "haproxy"]]:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_one(port: int) -> None:
    """``make run``: the passcode settled (and printed), then this process becomes the app."""
    env = {**os.environ, **passcode_env("LAB_INSTRUCTOR_PASSCODE=<your passcode> make run")}
    argv = streamlit_command(port, None)
    os.chdir(ROOT)
    os.execvpe(argv[0], argv, env)


def run_workshop(args: argparse.Namespace) -> int:
    stop = [False]

    def on_signal(signum: int, _frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    workshop = Workshop(args.replicas, args.port, args.address, args.workers, os.environ.get("REDIS_URL", ""))
    try:
        workshop.start(passcode_env("LAB_INSTRUCTOR_PASSCODE=<your passcode> make workshop"))
        print(workshop.describe(), flush=True)
        workshop.watch(stop)
    except RuntimeError as exc:
        print(f"make workshop: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("  stopping the workshop…", flush=True)
        workshop.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.serve", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run", help="one app process (make run)")
    one.add_argument("--port", type=int, default=APP_PORT)
    room = sub.add_parser("workshop", help="N replicas behind HAProxy, one class server (make workshop)")
    room.add_argument("--replicas", type=int, default=0, help="app processes (default: one per core)")
    room.add_argument("--port", type=int, default=APP_PORT)
    room.add_argument("--address", default="127.0.0.1",
                      help="where learners connect; 0.0.0.0 opens it to your network (the replicas stay on loopback)")
    room.add_argument("--workers", type=int, default=None, help="worker processes per replica (0 = no pool)")
    args = parser.parse_args(argv)
    if args.command == "run":
        run_one(args.port)
        return 0
    if args.replicas <= 0:
        args.replicas = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return run_workshop(args)


if __name__ == "__main__":
    sys.exit(main())

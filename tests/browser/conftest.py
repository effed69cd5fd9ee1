"""Fixtures for the real-browser tests: the app as a subprocess, one Chromium per module, a Redis.

Nothing here downloads anything: Chromium is Debian's (``/usr/bin/chromium``, or ``$LAB_CHROMIUM``),
driven by the ``playwright`` Python package; servers bind 127.0.0.1 only.

Missing tools skip the tests with the reason, unless CI demands them:

* ``LAB_REQUIRE_BROWSER=1`` turns "no Chromium / no playwright" into a failure;
* ``LAB_REQUIRE_REDIS=1`` turns "no Redis for the live test" into a failure. The live test uses
  ``$REDIS_URL`` when it is set, otherwise it starts a private ``redis-server`` of its own.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
APP_START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# --------------------------------------------------------------------------- the app


class App:
    """``streamlit run app.py`` on a free loopback port, with a private primary database file."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"streamlit-{name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> "App":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py",
               "--server.port", str(self.port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               # no file watcher: an edit elsewhere in the repo must not pop a "Rerun?" prompt mid-test
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + APP_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit ({self.name}) exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/_stcore/health"), timeout=2) as resp:
                    if resp.read().strip() == b"ok":
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit ({self.name}) did not answer /_stcore/health in "
                           f"{APP_START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def app_env(workdir: Path, backend: str, redis_url: str = "") -> dict[str, str]:
    """The app's environment: a forced backend, a private DB file, and no stray REDIS_URL."""
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(LAB_BACKEND=backend, LAB_DB_PATH=str(workdir / "primary.sqlite3"),
               PYTHONUNBUFFERED="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def preseed(env: dict[str, str]) -> None:
    """Seed the app's primary database beforehand, as on a learner's second launch.

    The embedded app then looks like a normal start (no "Created the primary database at /tmp/…"
    banner in the README screenshot); the sandbox app still covers the first-launch path. Best effort:
    if this fails, the app seeds the file itself.
    """
    subprocess.run([sys.executable, "-c", "from labs.core.db import ensure_seeded; ensure_seeded()"],
                   cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """``apps(backend)``: one running app per backend for this module, stopped at the end (always)."""
    started: dict[str, App] = {}

    def get(backend: str) -> App:
        if backend not in started:
            workdir = tmp_path_factory.mktemp(f"app-{backend}")
            env = app_env(workdir, backend)
            if backend == "embedded":
                preseed(env)
            started[backend] = App(backend, workdir, env).start()
        return started[backend]

    try:
        yield get
    finally:
        for app in started.values():
            app.stop()


@pytest.fixture
def start_app(tmp_path):
    """``start_app(backend, redis_url)``: an app for this test only, stopped at its end (always)."""
    started: list[App] = []

    def start(backend: str, redis_url: str = "") -> App:
        workdir = tmp_path / f"app-{backend}-{len(started)}"
        app = App(backend, workdir, app_env(workdir, backend, redis_url))
        started.append(app)
        return app.start()

    try:
        yield start
    finally:
        for app in started:
            app.stop()


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium for the module (skipped -- or failed in CI -- when unavailable)."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail("LAB_REQUIRE_BROWSER", f"Chromium not found at {CHROMIUM} (set LAB_CHROMIUM to another binary)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        skip_or_fail("LAB_REQUIRE_BROWSER", f"the playwright package is not installed ({exc})")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Counts the app's websocket traffic: a click's rerun request is a message sent, and the server's reply
# a message received. Under load the browser can render "running" and "finished" in one batch, so the
# script-state attribute never changes; ``rerun_after`` then knows the rerun from this traffic instead.
COUNT_WEBSOCKET = """(() => {
  if (window.__labWs) return;
  window.__labWs = {sent: 0, answers: 0};
  const Plain = window.WebSocket;
  class Counted extends Plain {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", () => { window.__labWs.answers += 1; });
    }
    send(data) {
      window.__labWs.sent += 1;
      window.__labWs.answers = 0;
      return super.send(data);
    }
  }
  window.WebSocket = Counted;
})();"""


def new_page(browser, viewport: dict | None = None):
    """A fresh context (so a fresh Streamlit session), 1400x1000 unless told, whose page collects JS errors."""
    context = browser.new_context(viewport=viewport or VIEWPORT)
    context.set_default_timeout(30_000)
    context.add_init_script(COUNT_WEBSOCKET)
    pg = context.new_page()
    pg.js_errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda err: pg.js_errors.append(str(err)))  # type: ignore[attr-defined]
    return context, pg


@pytest.fixture
def page(browser):
    """A fresh context (so a fresh Streamlit session) per test, 1400x1000; JS errors are collected."""
    context, pg = new_page(browser)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="module")
def module_pages(browser):
    """``module_pages(name)``: one page -- one Streamlit session -- per name, shared by the module's tests.

    Saves a page load per test where tests can share a session; a test that needs a pristine session
    (or changes the session's backend) uses ``page`` instead.
    """
    opened: dict[str, tuple] = {}

    def get(name: str):
        if name not in opened:
            opened[name] = new_page(browser)
        return opened[name][1]

    try:
        yield get
    finally:
        for context, _ in opened.values():
            context.close()


# --------------------------------------------------------------------------- Redis for the live test


@pytest.fixture
def redis_url(tmp_path):
    """``$REDIS_URL`` when set (CI), else a private throw-away redis-server on a free loopback port."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - redis is an app dependency
        skip_or_fail("LAB_REQUIRE_REDIS", f"redis-py is not installed ({exc})")
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
        except redis.RedisError as exc:
            skip_or_fail("LAB_REQUIRE_REDIS", f"REDIS_URL={url} does not answer PING ({exc})")
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("LAB_REQUIRE_REDIS", "REDIS_URL is not set and no redis-server is on PATH to start a private one")
    port = free_port()
    with open(tmp_path / "redis.log", "wb") as log:
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the private redis-server did not start:\n"
                                       + (tmp_path / "redis.log").read_text(errors="replace"))
                time.sleep(0.1)
        client.close()
        yield url
    finally:
        _stop(proc)

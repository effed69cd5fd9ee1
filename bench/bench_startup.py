"""Start-up costs, measured in one run: a private server's start+stop, its RSS, and the app's cold start
to first render (Streamlit process start → Home's title visible in Chromium, when Chromium is present)."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labs.core.servers import PrivateServer  # noqa: E402


def server_start_stop(n: int = 10) -> None:
    starts, stops, rss = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        server = PrivateServer(maxmemory="64mb").start()
        t1 = time.perf_counter()
        rss.append(server.rss_bytes() or 0)
        server.stop()
        starts.append(t1 - t0)
        stops.append(time.perf_counter() - t1)
    start, stop = statistics.median(starts), statistics.median(stops)
    print(f"private server ({server.binary.name}): start {start * 1000:.0f} ms, stop {stop * 1000:.0f} ms "
          f"(median of {n}); start+stop = {(start + stop):.2f} of the 1 s budget; RSS {statistics.median(rss) / 2**20:.1f} MiB")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start_to_first_render() -> None:
    port = _free_port()
    env = {**os.environ, "LAB_DB_PATH": str(Path(tempfile.mkdtemp()) / "primary.sqlite3")}
    env.pop("REDIS_URL", None)
    t0 = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                            "--server.headless", "true"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.05)
        t_health = time.perf_counter() - t0
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            print(f"app cold start: health endpoint after {t_health:.2f} s (playwright missing: no render time)")
            return
        if not Path("/usr/bin/chromium").exists():
            print(f"app cold start: health endpoint after {t_health:.2f} s (no /usr/bin/chromium: no render time)")
            return
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = browser.new_page()
            t1 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Second read (hit), median").wait_for(timeout=60_000)
            t_render = time.perf_counter() - t0
            first_page = time.perf_counter() - t1
            page.goto(f"http://127.0.0.1:{port}/")
            t2 = time.perf_counter()
            page.get_by_text("Second read (hit), median").wait_for(timeout=60_000)
            warm = time.perf_counter() - t2
            browser.close()
        rss = _rss_mib(app.pid)
        print(f"app cold start → Home rendered with its experiment: {t_render:.2f} s (process → health {t_health:.2f} s, "
              f"first page load {first_page:.2f} s); a second load: {warm:.2f} s ({first_page / warm:.1f}× faster); "
              f"app process RSS {rss:.0f} MiB")
    finally:
        app.terminate()
        app.wait(timeout=10)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    server_start_stop()
    cold_start_to_first_render()

"""What a learner's click costs outside the experiment: headless vs AppTest vs a real browser.

For the heaviest experiments of the course (the patterns comparison and crossover, the TTL lease planner,
the real-server eviction replay) this measures, in one run on the embedded backend:

* **headless** — ``exp.run(params)`` in this process (median of ``--repeat`` runs after a warm-up): the
  experiment's own work;
* **AppTest** — Streamlit's AppTest (no browser, no websocket): click the Run button → rerun done, and a
  plain rerun of the page with the results on it (work repeated on every rerun);
* **browser** — Debian's Chromium through Playwright against ``streamlit run app.py``: click → the script
  finished and every chart drawn, and the bytes the server sent over the websocket for that click (each
  repeat is a new session: for a deterministic simulation the first one computes, the later ones are served
  from the app's cache, reported apart).

``python bench/bench_page_cost.py --label before`` writes ``bench/results/page_cost-before.json``; a later
``--label after --compare before`` prints both side by side, as ratios. ``--only patterns-compare`` limits the
targets, ``--phases headless,apptest`` the phases. The machine is shared: the load average is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Target:
    experiment: str
    page: str          # app_pages/<file>
    button: str        # the Run button's label
    tab: str = ""      # the tab the form is in (browser only)


TARGETS = (
    Target("patterns-compare", "app_pages/patterns.py", "Run: Compare the caching patterns"),
    Target("patterns-crossover", "app_pages/patterns.py", "Run: When does caching pay?"),
    Target("lease-planner", "app_pages/ttl_cost.py", "Run: Plan your leases"),
    Target("eviction-fidelity", "app_pages/eviction.py", "Run: Run it on a real server",
           tab="Real server vs simulator"),
)


def _title_button(target: Target) -> str:
    from labs import load_all

    if target.experiment == "lease-planner":
        return target.button
    return f"Run: {load_all()[target.experiment].title}"


# --------------------------------------------------------------------------- headless
def headless(target: Target, repeat: int) -> dict:
    from labs import load_all
    from labs.core.backends import open_embedded

    exp = load_all()[target.experiment]
    backend = open_embedded()
    try:
        exp.run(exp.params_cls(), backend=backend)  # warm-up: imports, numba, the seeded database
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            exp.run(exp.params_cls(), backend=backend)
            times.append(time.perf_counter() - t0)
    finally:
        backend.close()
    return {"headless_s": statistics.median(times)}


# --------------------------------------------------------------------------- AppTest
def apptest(target: Target, repeat: int) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    label = _title_button(target)
    clicks, reruns = [], []
    try:
        from ui.runner import worker_pool

        pool = worker_pool()
        if pool is not None:
            pool.ready(120)  # the app starts its pool at start-up; time the runs, not the workers' imports
    except ImportError:  # before the pool existed
        pass
    for _ in range(repeat):
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.run()
        at.switch_page(target.page).run()
        buttons = [b for b in at.button if b.label == label]
        if not buttons:
            raise SystemExit(f"bench_page_cost: no button {label!r} on {target.page}")
        buttons[0].click()
        t0 = time.perf_counter()
        at.run()
        clicks.append(time.perf_counter() - t0)
        if at.exception:
            raise SystemExit(f"bench_page_cost: {target.experiment} raised in AppTest: {at.exception[0].message}")
        t0 = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - t0)
    return {"apptest_click_s": statistics.median(clicks), "apptest_rerun_s": statistics.median(reruns)}


def _simulations() -> frozenset[str]:
    try:
        from ui.runner import SIMULATIONS
    except ImportError:  # before the app's cache existed
        return frozenset()
    return SIMULATIONS


# --------------------------------------------------------------------------- browser
_DRAWN = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .filter(c => c.offsetParent !== null);
  return charts.every(c => c.querySelector('.main-svg')) ? performance.now() : false;
}"""


def browser(targets: list[Target], repeat: int) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, App, app_env, preseed
    from tests.browser.test_browser import open_page, open_tab, rerun_after

    workdir = Path(tempfile.mkdtemp(prefix="bench-page-cost-"))
    env = app_env(workdir, "embedded")
    preseed(env)
    app = App("bench", workdir, env).start()
    out: dict[str, dict] = {}
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for target in targets:
                label = _title_button(target)
                drawn, sent = [], []
                for _ in range(repeat):
                    context = chromium.new_context(viewport=VIEWPORT)
                    page = context.new_page()
                    page.js_errors = []
                    received = {"bytes": 0, "on": False}

                    def on_ws(ws, received=received):
                        def frame(payload, received=received):
                            if received["on"]:
                                received["bytes"] += len(payload)
                        ws.on("framereceived", frame)

                    page.on("websocket", on_ws)
                    stem = Path(target.page).stem
                    open_page(page, app.url(f"/{stem}"))
                    area = open_tab(page, target.tab, "bench") if target.tab else page
                    button = area.get_by_role("button", name=label)
                    button.scroll_into_view_if_needed()
                    received["on"] = True
                    t0 = page.evaluate("performance.now()")
                    rerun_after(page, button.click, timeout_ms=300_000)
                    done = page.wait_for_function(_DRAWN, timeout=60_000).json_value()
                    received["on"] = False
                    drawn.append((done - t0) / 1000)
                    sent.append(received["bytes"])
                    context.close()
                row = {"browser_click_s": statistics.median(drawn), "bytes_sent": int(statistics.median(sent))}
                if target.experiment in _simulations() and len(drawn) > 1:  # later sessions: the app's cache
                    row = {"browser_click_s": drawn[0], "browser_cached_click_s": statistics.median(drawn[1:]),
                           "bytes_sent": sent[0]}
                out[target.experiment] = row
            chromium.close()
    finally:
        app.stop()
    return out


# --------------------------------------------------------------------------- report
COLUMNS = (("headless_s", "headless", "{:.2f} s"), ("apptest_click_s", "AppTest click", "{:.2f} s"),
           ("apptest_rerun_s", "AppTest rerun", "{:.2f} s"), ("browser_click_s", "browser click→drawn", "{:.2f} s"),
           ("browser_cached_click_s", "same, from app cache", "{:.2f} s"), ("bytes_sent", "sent to browser", "{:,.0f} B"))


def report(rows: dict[str, dict], base: dict[str, dict] | None) -> None:
    print(f"{'experiment':22s}" + "".join(f"{title:>24s}" for _, title, _ in COLUMNS))
    for name, row in rows.items():
        cells = []
        for key, _, fmt in COLUMNS:
            value = row.get(key)
            text = "—" if value is None else fmt.format(value)
            old = (base or {}).get(name, {}).get(key)
            if value is not None and old:
                text += f" ({value / old:.2f}×)"
            cells.append(f"{text:>24s}")
        print(f"{name:22s}" + "".join(cells))
    if base:
        print("(×: this run ÷ the compared run; below 1 is faster / fewer bytes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="", help="save the figures as bench/results/page_cost-<label>.json")
    parser.add_argument("--compare", default="", help="a previous --label to print ratios against")
    parser.add_argument("--only", default="", help="comma-separated experiments")
    parser.add_argument("--phases", default="headless,apptest,browser")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("LAB_DB_PATH", str(Path(tempfile.mkdtemp(prefix="bench-page-db-")) / "primary.sqlite3"))
    os.environ["LAB_BACKEND"] = "embedded"
    os.environ.pop("REDIS_URL", None)
    targets = [t for t in TARGETS if not args.only or t.experiment in args.only.split(",")]
    phases = set(args.phases.split(","))
    load = os.getloadavg()[0]
    rows: dict[str, dict] = {t.experiment: {} for t in targets}
    for t in targets:
        if "headless" in phases:
            rows[t.experiment].update(headless(t, args.repeat))
        if "apptest" in phases:
            rows[t.experiment].update(apptest(t, args.repeat))
    if "browser" in phases:
        for name, values in browser(targets, args.repeat).items():
            rows[name].update(values)
    if args.label:
        RESULTS.mkdir(exist_ok=True)
        payload = {"label": args.label, "load_before": load, "load_after": os.getloadavg()[0],
                   "cpus": os.cpu_count(), "rows": rows}
        (RESULTS / f"page_cost-{args.label}.json").write_text(json.dumps(payload, indent=2))
    base = None
    if args.compare:
        base = json.loads((RESULTS / f"page_cost-{args.compare}.json").read_text())["rows"]
    print(f"bench_page_cost [{args.label or 'not saved'}]: embedded backend, {os.cpu_count()} CPUs, load average "
          f"{load:.2f} before, {os.getloadavg()[0]:.2f} after (other processes share these cores)")
    report(rows, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())

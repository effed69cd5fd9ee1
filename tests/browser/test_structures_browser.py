"""The Data structures page (``/structures``) in a real browser, on the embedded backend and the sandbox.

Its content lives in ``st.tabs``; every tab is opened, every recipe's "Run: …" button clicked, the
headline numbers of three recipes checked, the safe console, the memory-by-encoding experiment and the
quiz driven. The live-Redis side (keys namespaced, FLUSHALL/KEYS never sent) is covered by the generic
walk in ``test_browser.py``.

To stay fast, one app per backend serves the whole module (``apps``) and one browser session per backend
is shared by its tests (``module_pages``): each test opens the tab it needs; the page is reloaded only
when a previous test left it elsewhere or broken. The test that switches the session's backend gets a
session of its own (``page``).

Screenshots: ``screenshots/<backend>-structures-<tab>.png``, the recipe tabs after their runs, the
Memory by encoding, Console and Check yourself tabs after their tests have used them.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.test_browser import (  # noqa: E402
    ERROR_ALERT, EXCEPTION, RUN_BUTTON, SCREENSHOTS, assert_badge, assert_clean_log, assert_healthy, click_run_buttons,
    console_send, expect, full_screenshot, last_reply, main_tabs, open_page, open_tab, rerun_after, slug,
    visible_panel, wait_charts)

PATH = "/structures"
PAGE_FILE = "app_pages/structures.py"
BACKENDS = ("embedded", "sandbox")
TABS = ("Strings", "Lists", "Hashes", "Sets", "Sorted sets", "Key inspector", "Memory by encoding", "Console",
        "Check yourself")
OWN_TEST_TABS = ("Memory by encoding", "Console", "Check yourself")  # screenshot by their own tests


def _ttl_1_to_60(value: str) -> bool:
    return re.fullmatch(r"\d+ s", value) is not None and 1 <= int(value.split()[0]) <= 60


# recipe title -> {metric label: expected text, or a predicate on it}
EXPECTED_METRICS = {
    "Cache an API response as JSON": {"TTL right after the SET": _ttl_1_to_60, "TTL of a key that does not exist": "-2"},
    "Chat history: keep the last N": {"Messages kept": "20 messages"},
    "A sliding-window rate limiter": {"First rejected request": "11"},
}

# The metrics shown after one recipe's form, up to the next divider or form (other recipes reuse labels
# such as "ttl s", so a page-wide filter by label would be ambiguous).
_RECIPE_METRICS_JS = """(panel, title) => {
  const wanted = 'Run: ' + title;
  const button = [...panel.querySelectorAll('[class*="__form"] button')]
    .find(b => b.innerText.trim().split('\\n').pop().trim() === wanted);
  if (!button) return null;
  const block = panel.querySelector('[data-testid="stVerticalBlock"]');
  let node = button.closest('[class*="__form"]');
  while (node && node.parentElement !== block) node = node.parentElement;
  if (!node) return null;
  const out = {};
  for (let s = node.nextElementSibling; s; s = s.nextElementSibling) {
    if (s.querySelector('hr, [class*="__form"]')) break;
    for (const m of s.querySelectorAll('[data-testid="stMetric"]')) {
      const label = m.querySelector('[data-testid="stMetricLabel"]');
      const value = m.querySelector('[data-testid="stMetricValue"]');
      if (label && value) out[label.innerText.trim()] = value.innerText.trim();
    }
  }
  return out;
}"""


def structure_titles() -> set[str]:
    """The titles of every experiment registered for this page (each must have its Run button)."""
    from labs import load_all

    return {e.title for e in load_all().values() if e.page == PAGE_FILE}


def recipe_metrics(panel, title: str) -> dict[str, str]:
    metrics = panel.evaluate(_RECIPE_METRICS_JS, title)
    assert metrics is not None, f"no recipe form with the button 'Run: {title}' in this tab"
    return metrics


def run_titles(panel) -> list[str]:
    """The titles of the "Run: …" buttons of a tab panel (the icon's ligature text dropped)."""
    texts = panel.get_by_role("button", name=RUN_BUTTON).all_inner_texts()
    return [t.strip().splitlines()[-1].removeprefix("Run:").strip() for t in texts]


def open_structures(app, page, backend: str) -> None:
    open_page(page, app.url(PATH))
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Data structures")
    assert_badge(page, backend)
    assert_healthy(page, f"{backend} {PATH}")


@pytest.fixture
def structures(apps, module_pages):
    """``structures(backend)`` -> (app, page): this module's shared session of ``backend``, on ``/structures``."""
    def get(backend: str):
        app, page = apps(backend), module_pages(backend)
        here = page.url.split("?")[0] == app.url(PATH)
        if not here or page.js_errors or page.locator(f"{EXCEPTION}, {ERROR_ALERT}").count():
            page.js_errors.clear()  # a failed test's leftovers are its own failure, not the next test's
            open_structures(app, page, backend)
        else:
            assert_badge(page, backend)
            assert_healthy(page, f"{backend} {PATH} (shared session)")
        return app, page

    return get


def screenshot(page, backend: str, tab: str) -> None:
    wait_charts(page)
    full_screenshot(page, SCREENSHOTS / f"{backend}-structures-{slug(tab)}.png")


# --------------------------------------------------------------------------- 1. every tab, every Run


@pytest.mark.browser
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_tab_and_recipe_runs(structures, backend):
    """Open every tab, click every Run button: no exception or error box, each recipe shows its numbers."""
    app, page = structures(backend)
    names = [t.strip() for t in main_tabs(page).all_inner_texts()]
    assert [n for n in names if n in TABS] == list(TABS), f"tabs on {PATH}: {names}"

    ran: list[str] = []
    checked: set[str] = set()

    def on_tab(name: str, panel) -> None:
        where = f"{backend} {PATH} [{name}]"
        assert panel.inner_text().strip(), f"{where}: the tab is empty"
        for title in run_titles(panel):
            ran.append(title)
            metrics = recipe_metrics(panel, title)
            assert metrics, f"{where}: 'Run: {title}' showed no numbers"
            for label, want in EXPECTED_METRICS.get(title, {}).items():
                assert label in metrics, f"{where}: {title!r} has no metric {label!r}: {metrics}"
                ok = want(metrics[label]) if callable(want) else metrics[label] == want
                assert ok, f"{where}: after {title!r}, {label!r} is {metrics[label]!r} (expected {want!r})"
                checked.add(title)
        if name == "Sorted sets":  # the leaderboard you can play with
            rerun_after(page, panel.get_by_role("button", name="Add points (ZINCRBY)").click)
            assert_healthy(page, f"{where} after Add points")
            expect(page.locator('[data-testid="stToast"]').first).to_contain_text(
                re.compile(r"\d+ points, rank \d+"), timeout=10_000)
        if name == "Key inspector":  # the recipes left keys to inspect
            expect(panel.locator('[data-testid="stMetric"]').filter(has_text="TYPE")).to_have_count(1)
        if name not in OWN_TEST_TABS:
            screenshot(page, backend, name)

    clicked = click_run_buttons(page, f"{backend} {PATH}", on_tab=on_tab)
    assert clicked == len(ran), f"clicked {clicked} Run buttons, the tabs show {len(ran)}"
    missing = structure_titles() - set(ran)
    assert not missing, f"registered recipes without a Run button on {PATH}: {sorted(missing)}"
    unchecked = set(EXPECTED_METRICS) - checked
    assert not unchecked, f"recipes whose numbers were not checked: {sorted(unchecked)}"
    assert_clean_log(app)


# --------------------------------------------------------------------------- 2. the console


@pytest.mark.browser
@pytest.mark.parametrize("backend", BACKENDS)
def test_console_set_get_and_refusal(structures, backend):
    """SET with spaces and EX, GET it back as redis-cli prints it; FLUSHALL is refused, not sent."""
    app, page = structures(backend)
    where = f"{backend} {PATH} [Console]"
    open_tab(page, "Console", f"{backend} {PATH}")
    transcript = console_send(page, 'SET greeting "hello world" EX 60', where)
    assert last_reply(transcript, "SET greeting").strip() == "OK", transcript
    transcript = console_send(page, "GET greeting", where)
    assert last_reply(transcript, "GET greeting").strip() == '"hello world"', transcript
    transcript = console_send(page, "FLUSHALL", where)
    reply = last_reply(transcript, "FLUSHALL")
    assert "refused" in reply, f"{where}: FLUSHALL was not refused:\n{transcript}"
    assert "OK" not in reply.split(), transcript
    assert '"hello world"' in transcript  # the earlier lines stay
    screenshot(page, backend, "Console")
    assert_clean_log(app)


# --------------------------------------------------------------------------- 3. memory by encoding


def dataframe_rows(frame) -> list[dict[str, str]]:
    """The rows of an ``st.dataframe`` as dicts, read from the grid's accessible table (visible rows)."""
    rows = frame.evaluate("""e => [...e.querySelectorAll('tr')]
        .map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim()))""")
    assert rows, "the dataframe has no accessible rows"
    header, body = rows[0], rows[1:]
    return [dict(zip(header, row)) for row in body]


@pytest.mark.browser
def test_memory_by_encoding_embedded(structures):
    """Run it: a chart, and a thresholds table where a hash converts at 512 + 1 entries."""
    app, page = structures("embedded")
    where = f"embedded {PATH} [Memory by encoding]"
    panel = open_tab(page, "Memory by encoding", f"embedded {PATH}")
    expect(panel.locator('[data-testid="stAlertContentInfo"]')).to_have_count(0)
    expect(panel.get_by_role("button", name="Switch to the embedded backend")).to_have_count(0)
    rerun_after(page, panel.get_by_role("button", name="Run: Memory by encoding").click)
    assert_healthy(page, f"{where} after Run")
    panel = visible_panel(page)
    chart = panel.locator('[data-testid="stPlotlyChart"]')
    expect(chart.first).to_be_visible(timeout=15_000)
    expect(chart.first.locator(".main-svg").first).to_be_visible(timeout=15_000)
    rows = dataframe_rows(panel.locator('[data-testid="stDataFrame"]').last)
    hashes = [r for r in rows if r.get("Structure") == "hash"]
    assert hashes, f"{where}: no 'hash' row in the thresholds table: {rows}"
    assert hashes[0].get("Observed conversion at (elements)") == "513", f"{where}: hash row {hashes[0]}"
    assert hashes[0].get("Configured limit") == "512", f"{where}: hash row {hashes[0]}"
    assert recipe_metrics(panel, "Memory by encoding").get("First conversion, hash") == "513 elements"
    screenshot(page, "embedded", "Memory by encoding")
    assert_clean_log(app)


@pytest.mark.browser
def test_memory_by_encoding_sandbox_points_to_embedded(apps, page):
    """The sandbox has no MEMORY USAGE: the tab says so and offers the embedded backend, which works."""
    app = apps("sandbox")
    open_structures(app, page, "sandbox")
    where = f"sandbox {PATH} [Memory by encoding]"
    panel = open_tab(page, "Memory by encoding", f"sandbox {PATH}")
    info = panel.locator('[data-testid="stAlertContentInfo"]')
    expect(info).to_have_count(1)
    expect(info).to_contain_text("MEMORY USAGE")
    expect(info).to_contain_text(re.compile("sandbox", re.IGNORECASE))
    switch = panel.get_by_role("button", name="Switch to the embedded backend")
    expect(switch).to_be_visible()
    screenshot(page, "sandbox", "Memory by encoding")
    rerun_after(page, switch.click)
    assert_healthy(page, f"{where} after switching", allow_errors=True)
    assert not page.locator('[data-testid="stMain"]').locator(ERROR_ALERT).all_inner_texts()
    assert_badge(page, "embedded")
    expect(main_tabs(page).filter(has_text="Memory by encoding")).to_have_attribute("aria-selected", "true")
    expect(visible_panel(page).locator('[data-testid="stAlertContentInfo"]')).to_have_count(0)
    assert_clean_log(app)


# --------------------------------------------------------------------------- 4. check yourself


@pytest.mark.browser
@pytest.mark.parametrize("backend", BACKENDS)
def test_quiz_feedback_and_progress(structures, backend):
    """Answer the first question (right on embedded, wrong on the sandbox): feedback box and progress."""
    from labs.structures.quiz import SCENARIOS

    app, page = structures(backend)
    where = f"{backend} {PATH} [Check yourself]"
    panel = open_tab(page, "Check yourself", f"{backend} {PATH}")
    scenario = SCENARIOS[0]
    correct = backend == "embedded"
    choice = scenario.best[0] if correct else next(c for c in scenario.choices if c not in scenario.best)
    radio = panel.locator('[data-testid="stRadio"]').filter(has_text=scenario.prompt)
    expect(radio).to_have_count(1)
    rerun_after(page, radio.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(choice)}\s*$")).click)
    assert_healthy(page, f"{where} after answering {choice!r}")
    panel = visible_panel(page)
    box = panel.locator('[data-testid="stAlertContentSuccess"]' if correct else '[data-testid="stAlertContentWarning"]')
    expect(box).to_have_count(1)
    expect(box).to_contain_text(scenario.feedback[choice][:60])
    other = '[data-testid="stAlertContentWarning"]' if correct else '[data-testid="stAlertContentSuccess"]'
    expect(panel.locator(other)).to_have_count(0)
    expect(panel).to_contain_text(f"{1 if correct else 0} right of 1 answered")
    screenshot(page, backend, "Check yourself")
    assert_clean_log(app)

"""The app in a real browser: every page renders, the first experiment runs, the live backend is a
good citizen on a shared Redis, and a bad URL is refused without losing the session's backend.

The page walk is generic over ``ui.catalog.available()``: a new page file is covered as soon as it
exists. It is tab-aware: on a page with ``st.tabs`` each tab is opened in turn and the "Run…" buttons of
its panel clicked (a hidden tab's buttons cannot be), and the live walk also types at any console it
finds (a "redis>" prompt). Run with ``pytest tests/browser`` (see conftest.py for skips, LAB_REQUIRE_BROWSER and
LAB_REQUIRE_REDIS).
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"   # git-ignored
VIEWPORT = {"width": 1400, "height": 1000}

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from ui.catalog import available  # noqa: E402


HOME_FILE = "app_pages/home.py"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshot.png"
FIRST_RENDER_MS = 30_000     # the first load starts a server and seeds the database
RERUN_MS = 60_000       # a "Run…" button may start a long experiment
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
RUN_BUTTON = re.compile(r"^Run\b")
TAB_PANEL = '[role="tabpanel"]'
TAB_SWITCH_MS = 150     # a tab with on_change="rerun" starts its rerun well within this
TRACEBACK = "Traceback (most recent call last)"
MISS_LABEL = "First read (miss), median"
HIT_LABEL = "Second read (hit), median"


def pages() -> list[tuple[str, str]]:
    """(stem, URL path) of every registered page; Home is the default page at ``/``."""
    return [(Path(e.file).stem, "/" if e.file == HOME_FILE else f"/{Path(e.file).stem}") for e in available()]


# --------------------------------------------------------------------------- waiting for Streamlit

_WATCH_RUNS = """() => {
  if (window.__labWatch) return;
  window.__labWatch = true;
  window.__labStateChanges = 0;
  new MutationObserver(ms => { window.__labStateChanges += ms.length; })
    .observe(document.documentElement, {subtree: true, attributes: true,
                                        attributeFilter: ['data-test-script-state']});
}"""


def _changes(page) -> int:
    return page.evaluate("window.__labStateChanges || 0")


def wait_idle(page, timeout_ms: int = RERUN_MS) -> None:
    """The script is not running, and stays so for a moment (st.rerun() passes through idle briefly)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = max(1, int((deadline - time.monotonic()) * 1000))
        page.locator(IDLE).wait_for(state="attached", timeout=left)
        before = _changes(page)
        page.wait_for_timeout(300)
        if page.locator(IDLE).count() == 1 and _changes(page) == before:
            break
        if time.monotonic() > deadline:
            raise AssertionError("the app never settled (script kept re-running)")
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=left)


def wait_rendered(page, timeout_ms: int = FIRST_RENDER_MS) -> None:
    """The app view exists, no script is running, the status widget is gone and the page's h1 shows."""
    expect(page.locator('[data-testid="stAppViewContainer"]')).to_be_attached(timeout=timeout_ms)
    page.evaluate(_WATCH_RUNS)
    wait_idle(page, timeout_ms)
    expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=timeout_ms)
    expect(page.locator('[data-testid="stAppSkeleton"]')).to_have_count(0, timeout=timeout_ms)


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_rendered(page)


def rerun_after(page, action, timeout_ms: int = RERUN_MS) -> None:
    """Do ``action`` (a click) and wait for the rerun it causes to start and finish."""
    page.evaluate(_WATCH_RUNS)
    before = _changes(page)
    sent = page.evaluate("window.__labWs ? window.__labWs.sent : 0")
    action()
    # The script state changed, or (when the browser rendered the whole run in one batch) the click sent
    # a request over the app's websocket and the server answered it.
    page.wait_for_function(
        f"(window.__labStateChanges || 0) > {before}"
        f" || (!!window.__labWs && window.__labWs.sent > {sent} && window.__labWs.answers > 0)",
        timeout=timeout_ms)
    wait_idle(page, timeout_ms)


# --------------------------------------------------------------------------- checks


def assert_healthy(page, where: str, *, allow_errors: bool = False) -> None:
    """No uncaught exception, no traceback text, no JS error (and no error box unless allowed)."""
    exceptions = page.locator(EXCEPTION)
    if exceptions.count():
        pytest.fail(f"{where}: the page shows an exception:\n{exceptions.first.inner_text()[:2000]}")
    text = page.locator("body").inner_text()
    assert TRACEBACK not in text, f"{where}: traceback text on the page:\n{text[text.find(TRACEBACK):][:2000]}"
    if not allow_errors:
        errors = page.locator(ERROR_ALERT).all_inner_texts()
        assert not errors, f"{where}: error message(s) on a healthy backend: {errors}"
    assert not page.js_errors, f"{where}: JavaScript errors: {page.js_errors}"


def assert_clean_log(app) -> None:
    """Nothing went wrong on the server side either (an exception in a callback or thread lands here)."""
    log = app.log_path.read_text(errors="replace")
    assert TRACEBACK not in log, f"the {app.name} app logged a traceback:\n{app.log_tail(60)}"


def assert_badge(page, backend: str) -> None:
    badge = page.locator('[data-testid="stSidebar"] .stMarkdownBadge').first
    expect(badge).to_contain_text(backend, timeout=10_000)


def full_screenshot(page, path: Path) -> None:
    """A screenshot of the whole page. Streamlit scrolls an inner container, so grow the viewport."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight,
        ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"],'
             + ' [data-testid="stMainBlockContainer"], [data-testid="stSidebarContent"]')]
           .map(e => e.scrollHeight))""")
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size({"width": size["width"], "height": min(max(int(height) + 40, size["height"]), 12_000)})
    try:
        charts = page.locator('[data-testid="stPlotlyChart"]:visible').count()
        page.wait_for_timeout(700 if charts else 150)  # charts re-layout to the new size
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)


def metric_ms(page, label: str) -> float:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    expect(metric).to_have_count(1, timeout=10_000)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    match = re.fullmatch(r"([0-9]+(?:[.,][0-9]+)?)\s*ms", value)
    assert match, f"metric {label!r} is {value!r}, not a number of milliseconds"
    return float(match.group(1).replace(",", ""))


def run_experiment(page) -> None:
    """Click Home's "Run the experiment" and wait for the rerun."""
    button = page.get_by_role("button", name="Run the experiment")
    expect(button).to_be_visible(timeout=10_000)
    rerun_after(page, button.click)


def wait_charts(page) -> None:
    """Every shown plotly chart has drawn (charts of a tab not shown stay mounted, hidden: skipped)."""
    charts = page.locator('[data-testid="stPlotlyChart"]:visible')
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_visible(timeout=15_000)


def _click_runs_in(page, area, where: str, *, skip_tab_panels: bool = False) -> int:
    """Click every enabled, visible "Run…" button inside ``area``, one rerun at a time.

    With ``skip_tab_panels`` the buttons inside a tab panel are left to the tab walk.
    """
    buttons = area.get_by_role("button", name=RUN_BUTTON)
    clicked = 0
    for i in range(buttons.count()):
        if i >= buttons.count():  # a rerun removed some
            break
        button = buttons.nth(i)
        if skip_tab_panels and button.evaluate("e => !!e.closest('[role=\"tabpanel\"]')"):
            continue
        if not button.is_enabled():
            continue
        label = button.inner_text().strip().splitlines()[-1]  # without the icon's ligature text
        button.scroll_into_view_if_needed()
        rerun_after(page, button.click)
        assert_healthy(page, f"{where} after clicking {label!r}")
        clicked += 1
    return clicked


def main_tabs(page):
    """The tabs (``st.tabs``) of the page's main area; hidden ones (in other tab panels) are not listed."""
    return page.locator('[data-testid="stMain"]').get_by_role("tab")


def visible_panel(page):
    """The tab panel being shown (Streamlit renders the selected panel only; hidden ones are skipped anyway)."""
    return page.locator(f'[data-testid="stMain"] {TAB_PANEL}:visible')


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def open_tab(page, tab, where: str):
    """Click ``tab`` (a locator, or a tab's exact name) and return the visible tab panel, once healthy."""
    if isinstance(tab, str):  # exact: "Sets" must not match "Sorted sets"
        tab = page.locator('[data-testid="stMain"]').get_by_role("tab", name=tab, exact=True)
    expect(tab).to_have_count(1, timeout=10_000)
    name = tab.inner_text().strip()
    tab.scroll_into_view_if_needed()
    page.evaluate(_WATCH_RUNS)
    before = _changes(page)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true", timeout=10_000)
    page.wait_for_timeout(TAB_SWITCH_MS)
    if _changes(page) != before or page.locator(IDLE).count() != 1:
        wait_idle(page)  # a tab switch is client-side, unless the tabs were made to rerun on change
    panel = visible_panel(page)
    expect(panel).to_have_count(1, timeout=10_000)
    assert_healthy(page, f"{where} [{name}]")
    return panel


def click_run_buttons(page, where: str, on_tab=None) -> int:
    """Click every enabled "Run…" button in the page's main area, one rerun at a time.

    On a page with tabs, the buttons outside the tabs go first, then each tab is opened in turn and the
    buttons of its (visible) panel are clicked; ``on_tab(name, panel)`` is then called for extras
    (screenshots, the console…). A page without tabs is walked as a whole, as before.
    """
    main = page.locator('[data-testid="stMain"]')
    tabs = main_tabs(page)
    if tabs.count() == 0:
        return _click_runs_in(page, main, where)
    clicked = _click_runs_in(page, main, where, skip_tab_panels=True)
    names = [t.strip() for t in tabs.all_inner_texts()]
    for i, name in enumerate(names):
        tab = main_tabs(page).nth(i)
        expect(tab).to_have_text(name)
        panel = open_tab(page, tab, where)
        clicked += _click_runs_in(page, panel, f"{where} [{name}]")
        if on_tab is not None:
            on_tab(name, visible_panel(page))
    return clicked


def console_send(page, line: str, where: str) -> str:
    """Type ``line`` at the "redis>" prompt of the visible tab panel, Send, and return the transcript."""
    panel = visible_panel(page)
    prompt = panel.get_by_label("redis>", exact=True)
    prompt.fill(line)
    rerun_after(page, panel.get_by_role("button", name="Send").click)
    assert_healthy(page, f"{where} after sending {line!r}")
    expect(panel.get_by_label("redis>", exact=True)).to_have_value("")  # clear_on_submit
    code = visible_panel(page).locator('[data-testid="stCode"]')
    expect(code).to_have_count(1, timeout=10_000)
    transcript = code.inner_text()
    typed = [t.split()[1:2] for t in transcript.splitlines() if t.startswith("redis> ")]
    assert typed and typed[-1] == line.split()[:1], f"{where}: {line!r} is not the last command:\n{transcript}"
    return transcript


def last_reply(transcript: str, command: str) -> str:
    """The lines printed after the last ``redis> command…`` line of a console transcript."""
    start = transcript.rfind(f"redis> {command}")
    assert start >= 0, f"{command!r} is not in the transcript:\n{transcript}"
    rest = transcript[start:].split("\n", 1)
    return rest[1].split("redis> ", 1)[0] if len(rest) > 1 else ""


# --------------------------------------------------------------------------- 1. every page renders


def walk_every_page(app, backend: str, page) -> None:
    """Each registered page loads to its h1 with no exception, traceback or error box; screenshot saved."""
    for stem, path in pages():
        open_page(page, app.url(path))
        assert_badge(page, backend)
        assert_healthy(page, f"{backend} {path}")
        wait_charts(page)
        full_screenshot(page, SCREENSHOTS / f"{backend}-{stem}.png")
    assert_clean_log(app)


@pytest.mark.browser
def test_every_page_renders_embedded(apps, page):
    walk_every_page(apps("embedded"), "embedded", page)


@pytest.mark.browser
def test_every_page_renders_sandbox(apps, page):
    walk_every_page(apps("sandbox"), "sandbox", page)


# --------------------------------------------------------------------------- 2. the first experiment


@pytest.mark.browser
def test_home_experiment_miss_then_hit(apps, page):
    """Run the experiment on Home: the miss and hit medians are numbers and the hit is faster."""
    app = apps("embedded")
    open_page(page, app.url("/"))
    expect(page.locator("h1").first).to_have_text("Redis Caching Lab")
    run_experiment(page)
    assert_healthy(page, "Home after Run the experiment")
    miss, hit = metric_ms(page, MISS_LABEL), metric_ms(page, HIT_LABEL)
    assert hit < miss, f"the hit median ({hit} ms) is not below the miss median ({miss} ms)"
    queries = page.locator('[data-testid="stMetric"]').filter(has_text="Database queries")
    assert int(queries.locator('[data-testid="stMetricValue"]').inner_text().strip()) >= 1
    wait_charts(page)
    # the README's screenshot is refreshed only on request, so a test run leaves the checkout clean
    full_screenshot(page, DOCS_SCREENSHOT if os.environ.get("LAB_UPDATE_DOCS_SCREENSHOT") == "1"
                    else SCREENSHOTS / "home-miss-then-hit.png")
    assert_clean_log(app)


# --------------------------------------------------------------------------- 3. live: a good citizen


UNRELATED_STRINGS = {"other-app:user:1": "alice", "other-app:user:2": "bob", "other-app:config": "v=1"}
UNRELATED_TTL_KEY, UNRELATED_TTL_VALUE = "other-app:session:xyz", "token"
UNRELATED_HASH = {"name": "widget", "price": "9.99"}
UNRELATED_LIST = ["job-1", "job-2", "job-3"]
FORBIDDEN_COMMANDS = ("flushall", "flushdb", "keys", "config|set", "debug", "shutdown")
LAB_KEY = re.compile(r"^lab:\{(?:[a-z0-9]+|class:[a-z0-9][a-z0-9-]*)\}:")  # a learner, or a workshop class


def reset_my_lab(page, client, where: str) -> None:
    """Click "Reset my lab", which asks first (with the number of keys), then "Yes, delete": the toast
    reports the deletion and none of this learner's keys remain."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    prefix = learner_prefix(page, where)
    rerun_after(page, sidebar.get_by_role("button", name="Reset my lab").click)
    expect(sidebar.locator('[data-testid="stAlertContentWarning"]')).to_contain_text(
        re.compile(r"Delete (all [\d,]+ of your keys|your 1 key)\?"), timeout=10_000)
    rerun_after(page, sidebar.get_by_role("button", name="Yes, delete").click)
    assert_healthy(page, f"{where} after Reset my lab")
    expect(page.locator('[data-testid="stToast"]').first).to_contain_text(
        re.compile(r"Deleted \d+ of your keys"), timeout=10_000)
    left = list(client.scan_iter(match=prefix + "*", count=1000))
    assert not left, f"{where}: Reset my lab left keys of this learner: {left[:20]}"


def _all_keys(client) -> set[str]:
    return set(client.scan_iter(count=1000))


def _command_calls(client) -> dict[str, int] | None:
    try:
        stats = client.info("commandstats")
    except Exception:  # INFO not allowed: nothing to compare
        return None
    subcommands_split = any("|" in k for k in stats)  # Redis 7+: cmdstat_config|set; older: cmdstat_config
    calls = {}
    for name in FORBIDDEN_COMMANDS:
        stat = name if subcommands_split else name.split("|")[0]
        entry = stats.get(f"cmdstat_{stat}") or {}
        calls[name] = int(entry.get("calls", 0)) if isinstance(entry, dict) else 0
    return calls


# typed at the console of every page that has one (the Data structures page's "Console" tab)
LIVE_CONSOLE = ('SET greeting "hello world" EX 60', 'SET "a b" "c d"', "HSET h f 1", "FLUSHALL", "KEYS *")
LIVE_CONSOLE_REFUSED = ("FLUSHALL", "KEYS")


def learner_prefix(page, where: str) -> str:
    """The learner's key prefix ``lab:{id}:``, as the sidebar shows it."""
    match = re.search(r"lab:\{([a-z0-9]+)\}:", page.locator('[data-testid="stSidebar"]').inner_text())
    assert match, f"{where}: the sidebar does not show the learner's key prefix"
    return f"lab:{{{match.group(1)}}}:"


def check_console_live(page, client, where: str) -> None:
    """Send LIVE_CONSOLE: the writes land in this learner's namespace only, with a lease; FLUSHALL/KEYS are refused."""
    mine = learner_prefix(page, where)
    transcript = ""
    for line in LIVE_CONSOLE:
        transcript = console_send(page, line, where)
    assert last_reply(transcript, "SET greeting").strip().startswith("OK"), transcript
    assert last_reply(transcript, 'SET "a b"').strip().startswith("OK"), transcript
    assert last_reply(transcript, "HSET").strip().startswith("(integer)"), transcript
    for command in LIVE_CONSOLE_REFUSED:
        assert "refused" in last_reply(transcript, command), f"{where}: {command} was not refused:\n{transcript}"
    for suffix, kind in ((":greeting", "string"), (":a b", "string"), (":h", "hash")):
        found = [k for k in client.scan_iter(match="*" + suffix, count=1000)
                 if client.type(k) == kind and not k.startswith("other-app:")]
        assert found, f"{where}: the console's {suffix[1:]!r} key is not on the server"
        stray = [k for k in found if not k.startswith(mine)]
        assert not stray, f"{where}: the console wrote {suffix[1:]!r} outside the learner's {mine}: {stray}"
        for key in found:
            assert 0 < client.ttl(key) <= 86_400, f"{where}: console key {key!r} has TTL {client.ttl(key)}"


def check_lab_keys(client, before: set[str], where: str) -> set[str]:
    """Every key that appeared since ``before`` is a lab key with a lease of at most a day; returns them."""
    new = _all_keys(client) - before
    stray = sorted(k for k in new if not LAB_KEY.match(k))
    assert not stray, f"{where}: keys outside the lab namespace were written: {stray[:20]}"
    # PTTL, not TTL: TTL rounds to whole seconds, so a key in its last half second reads 0
    pttls = {k: client.pttl(k) for k in new}
    bad = {k: t for k, t in pttls.items() if t != -2 and not 0 <= t <= 86_400_000}
    assert not bad, f"{where}: lab keys without a TTL of at most 24 h (PTTL ms): {dict(list(bad.items())[:20])}"
    return {k for k, t in pttls.items() if t != -2}


@pytest.mark.browser
def test_live_walk_leaves_unrelated_keys_untouched(redis_url, start_app, page):
    """Walk every page -- every tab, every Run button, the console -- on a live Redis: only namespaced
    keys with a TTL appear, other keys survive, and no forbidden command reaches the server."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    try:
        for key, value in UNRELATED_STRINGS.items():
            client.set(key, value)
        client.set(UNRELATED_TTL_KEY, UNRELATED_TTL_VALUE, ex=3600)
        client.delete("other-app:product:7", "other-app:queue")
        client.hset("other-app:product:7", mapping=UNRELATED_HASH)
        client.rpush("other-app:queue", *UNRELATED_LIST)
        before = _all_keys(client)
        calls_before = _command_calls(client)

        app = start_app("live", redis_url)
        walk = pages()
        clicked, consoles, seen = 0, 0, set()
        for i, (stem, path) in enumerate(walk):
            where = f"live {path}"

            def on_tab(name: str, panel, where=where) -> None:
                nonlocal consoles
                if panel.get_by_label("redis>", exact=True).count():
                    check_console_live(page, client, f"{where} [{name}]")
                    consoles += 1

            open_page(page, app.url(path))
            assert_badge(page, "live")
            assert_healthy(page, where)
            clicked += click_run_buttons(page, where, on_tab=on_tab)
            seen |= check_lab_keys(client, before, where)  # before a reset can delete them
            if i == len(walk) // 2:  # once, in the middle of the walk
                reset_my_lab(page, client, where)
        open_page(page, app.url("/"))
        run_experiment(page)
        assert_healthy(page, "live Home, final run")
        assert clicked >= 1, "the walk found no Run button to click"
        if any(stem == "structures" for stem, _ in walk):
            assert consoles >= 1, "the walk never reached the Data structures console"
        metric_ms(page, MISS_LABEL)

        after = _all_keys(client)
        # the unrelated keys: still there, same type, value and TTL state
        for key, value in UNRELATED_STRINGS.items():
            assert client.get(key) == value, f"{key} changed or vanished"
            assert client.ttl(key) == -1, f"{key} got a TTL ({client.ttl(key)})"
        assert client.get(UNRELATED_TTL_KEY) == UNRELATED_TTL_VALUE
        assert 0 < client.ttl(UNRELATED_TTL_KEY) <= 3600
        assert client.type("other-app:product:7") == "hash"
        assert client.hgetall("other-app:product:7") == UNRELATED_HASH
        assert client.type("other-app:queue") == "list"
        assert client.lrange("other-app:queue", 0, -1) == UNRELATED_LIST
        for key in ("other-app:product:7", "other-app:queue"):
            assert client.ttl(key) == -1, f"{key} got a TTL"
        vanished = sorted(k for k in before - after if k.startswith("other-app:"))
        assert not vanished, f"unrelated keys vanished: {vanished}"

        # every new key is a lab key with a lease of at most a day
        seen |= check_lab_keys(client, before, "live, end of the walk")
        assert seen, "the walk left no lab key: the checks above proved nothing"

        calls_after = _command_calls(client)
        if calls_before is not None and calls_after is not None:
            grew = {name: calls_after[name] - calls_before[name] for name in FORBIDDEN_COMMANDS
                    if calls_after[name] > calls_before[name]}
            assert not grew, f"the app sent forbidden commands during the walk: {grew}"
        assert_clean_log(app)
    finally:
        client.delete(*UNRELATED_STRINGS, UNRELATED_TTL_KEY, "other-app:product:7", "other-app:queue")
        client.close()


# --------------------------------------------------------------------------- 4. a bad URL


@pytest.mark.browser
def test_switch_to_bad_url_keeps_backend(apps, page):
    """Switching to a refused live URL says "connection refused", keeps the backend, and Home still runs."""
    app = apps("embedded")
    open_page(page, app.url("/"))
    assert_badge(page, "embedded")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Switch backend", exact=True).click()
    live = sidebar.get_by_text("Live — your Redis (URL)")
    expect(live).to_be_visible(timeout=10_000)
    live.click()
    url = sidebar.get_by_label("Redis URL (for live)", exact=True)
    expect(url).to_have_attribute("type", "password")
    url.fill("redis://127.0.0.1:1/0")
    rerun_after(page, sidebar.get_by_role("button", name="Connect").click)

    error = sidebar.locator(ERROR_ALERT)
    expect(error).to_be_visible(timeout=10_000)
    expect(error).to_contain_text(re.compile("connection refused", re.IGNORECASE))
    assert_healthy(page, "Home after a refused switch", allow_errors=True)
    assert_badge(page, "embedded")
    main_errors = page.locator('[data-testid="stMain"]').locator(ERROR_ALERT).all_inner_texts()
    assert not main_errors, f"the page shows errors after a refused switch: {main_errors}"

    run_experiment(page)  # the session still works on its previous backend
    assert_healthy(page, "Home after a refused switch and a run", allow_errors=True)
    assert metric_ms(page, HIT_LABEL) < metric_ms(page, MISS_LABEL)
    assert_badge(page, "embedded")
    assert_clean_log(app)

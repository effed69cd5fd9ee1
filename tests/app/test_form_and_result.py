"""AppTest: a result is always the result of what the form shows, and the page says so (issue 15, part 2).

A value outside its range is explained under its field and the run refused; a result from other values
is labelled as from its run; a failed backend switch is reported once; a value typed on the Workshop page
does not follow the learner to the lab page; a preset link's bad value is reported; "Reset my lab" asks
first. Plus the shape of the long pages (tabs) and the words on the tiles.
"""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from ui.catalog import ROOT

EVICTION, PATTERNS, TTL, WORKSHOP = ("app_pages/eviction.py", "app_pages/patterns.py", "app_pages/ttl_cost.py",
                                     "app_pages/workshop.py")
LFU_RUN = "Run: The LFU counter playground"


def _app(monkeypatch, query: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", "sandbox")
    monkeypatch.delenv("REDIS_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if query:
        at.query_params.update(query)
    return at.run()


def _page(monkeypatch, page: str, query: dict[str, str] | None = None) -> AppTest:
    at = _app(monkeypatch, query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _click(at: AppTest, label: str, index: int = 0) -> AppTest:
    [b for b in at.button if b.label == label][index].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at, kind: str) -> str:
    """The elements' text as the page renders it (markdown escapes dropped)."""
    return " ".join(str(e.value) for e in at.get(kind)).replace("\\", "")


def test_an_out_of_range_value_is_explained_under_its_field_and_the_run_refused(monkeypatch):
    at = _page(monkeypatch, EVICTION)
    _click(at, LFU_RUN)
    before = at.session_state["recipe_result_lfu-counter"]
    at.number_input(key="recipe_lfu-counter_log_factor").set_value(5000.0).run()
    assert "lfu-log-factor must be between 0 and 1,000, got 5,000." in _texts(at, "markdown")  # inline, no hover
    _click(at, LFU_RUN)
    assert "Not run: a value is outside what this experiment accepts" in _texts(at, "error")
    assert at.session_state["recipe_result_lfu-counter"] is before  # nothing ran
    assert "from the previous run with lfu-log-factor = 10" in _texts(at, "warning")  # the old result is marked


def test_a_combination_the_experiment_refuses_names_the_form_fields(monkeypatch):
    at = _page(monkeypatch, PATTERNS)
    at.number_input(key="recipe_patterns-crash_writes").set_value(200)
    at.number_input(key="recipe_patterns-crash_crash_after").set_value(500)
    _click(at, "Run: Crash the cache during write-behind")
    assert "Not run: Crash after write must be between 1 and Writes (200), got 500." in _texts(at, "error")


def test_a_result_from_other_values_is_labelled_until_the_next_run(monkeypatch):
    at = _page(monkeypatch, EVICTION)
    _click(at, LFU_RUN)
    assert "previous run" not in _texts(at, "warning")
    at.number_input(key="recipe_lfu-counter_log_factor").set_value(30.0).run()
    assert "These results are from the previous run with lfu-log-factor = 10." in _texts(at, "warning")
    _click(at, LFU_RUN)
    assert "previous run" not in _texts(at, "warning")


def test_a_failed_backend_switch_is_reported_once_where_the_switch_is(monkeypatch):
    at = _app(monkeypatch)
    at.sidebar.radio[0].set_value("live")
    at.sidebar.text_input[0].set_value("redis://127.0.0.1:1/0")
    _click(at, "Connect")
    assert "connection refused" in _texts(at.sidebar, "error").lower()
    at.switch_page(EVICTION).run()
    assert not at.sidebar.error, "the switch error followed the learner to the next page"
    assert at.session_state["backend_kind"] == "sandbox"


def test_a_value_typed_in_the_workshop_does_not_follow_the_learner_to_the_lab_page(monkeypatch):
    at = _page(monkeypatch, WORKSHOP)
    at.selectbox(key="workshop_pick").set_value("eviction-scan-resistant").run()
    at.text_input(key="workshop_eviction-compare_policies").set_value("allkeys-lruu").run()
    assert "Unknown policy allkeys-lruu" in _texts(at, "error")
    at.switch_page(EVICTION).run()
    assert at.text_input(key="recipe_eviction-compare_policies").value.startswith("allkeys-lru,")
    assert "allkeys-lruu" not in _texts(at, "error")


def test_a_preset_link_with_a_bad_value_says_which_value_was_ignored(monkeypatch):
    at = _page(monkeypatch, EVICTION, {"recipe_eviction-compare_capacity": "lots",
                                       "recipe_eviction-compare_keys": "3"})
    warning = _texts(at, "warning")
    assert "Capacity = 'lots': Capacity must be a whole number" in warning
    assert "Keys = '3': Keys must be between 10 and 1,000,000" in warning
    assert at.number_input(key="recipe_eviction-compare_capacity").value == 500  # the default, not a guess
    assert at.number_input(key="recipe_eviction-compare_keys").value == 5000


def test_reset_my_lab_asks_first_and_cancel_deletes_nothing(monkeypatch):
    at = _page(monkeypatch, EVICTION)
    _click(at, LFU_RUN)
    at.switch_page("app_pages/structures.py").run()
    _click(at, "Run: Chat history: keep the last N")
    _click(at, "Reset my lab")
    asked = re.search(r"Delete all (\d+) of your keys\?", _texts(at.sidebar, "warning"))
    assert asked and int(asked.group(1)) >= 1, _texts(at.sidebar, "warning")
    _click(at, "Cancel")
    assert not at.sidebar.warning and not [t for t in at.toast if "Deleted" in t.value]
    _click(at, "Reset my lab")
    assert asked.group(0) in _texts(at.sidebar, "warning")  # Cancel deleted nothing: the same count
    _click(at, "Yes, delete")
    assert f"Deleted {asked.group(1)} of your keys." in [t.value for t in at.toast]


@pytest.mark.parametrize("page, tabs", [
    (PATTERNS, ["Side by side", "When the cache goes down", "Crash during write-behind", "When does caching pay?"]),
    (TTL, ["Plan your leases", "The memory model", "Synchronized expiry and jitter", "How Redis expires keys",
           "TTL commands, live"]),
])
def test_the_long_pages_have_tabs(monkeypatch, page, tabs):
    at = _page(monkeypatch, page)
    assert [t.label for t in at.tabs] == tabs


def test_the_cache_down_tab_has_a_form_of_its_own_set_half_way(monkeypatch):
    at = _page(monkeypatch, PATTERNS)
    assert at.number_input(key="patterns_down_cache_down_at").value == 0.5
    assert at.number_input(key="recipe_patterns-compare_cache_down_at").value == 1.0
    assert "form above" not in _texts(at, "caption")


def test_tiles_speak_words_with_units(monkeypatch):
    at = _page(monkeypatch, TTL)
    _click(at, "Run: Synchronized expiry and jitter")
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Peak cut by"] == "93.46×" and tiles["Peak without jitter"] == "10,000 misses/s"
    assert len(tiles) <= 6 and "peak reduction" not in tiles


def test_a_number_that_does_not_exist_reads_as_a_dash_not_none(monkeypatch):
    """No cache has no hit ratio: the table says "—" there (the grid would print a grey "None"), keeps the
    other strategies' ratios in words with their unit, and the CSV buttons name their tables in words."""
    at = _page(monkeypatch, PATTERNS)
    _click(at, "Run: Compare the caching patterns")
    frames = [d.value for d in at.dataframe if "hit_ratio" in d.value.columns]
    assert frames, "the patterns summary table is on the page"
    ratios = dict(zip(frames[0]["strategy"], frames[0]["hit_ratio"]))
    assert ratios["no cache"] == "—"
    assert re.fullmatch(r"\d+(\.\d+)? %", ratios["cache-aside"]), ratios
    labels = [b.label for b in at.get("download_button")]
    assert labels and not [lb for lb in labels if "_" in lb], labels


def test_the_home_page_result_is_labelled_when_the_form_changes(monkeypatch):
    """The first read runs on arrival; a changed value marks that result as from the earlier values."""
    at = _app(monkeypatch)
    assert "previous run" not in _texts(at, "warning")
    at.number_input(key="first_read_samples").set_value(40).run()
    assert "These results are from the previous run with" in _texts(at, "warning")
    _click(at, "Run the experiment")
    assert "previous run" not in _texts(at, "warning")

"""AppTest: the Workshop page — a display name, a challenge passed on its lab page showing up as progress,
the instructor passcode (wrong → no dashboard, right → dashboard), and a URL preset that reproduces a run."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from streamlit.testing.v1 import AppTest

from labs import load_all
from ui.catalog import ROOT
from ui.workshop import share_link

WORKSHOP = "app_pages/workshop.py"
EVICTION = "app_pages/eviction.py"


def _app(monkeypatch, backend: str = "sandbox", passcode: str | None = None) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", backend)
    monkeypatch.delenv("REDIS_URL", raising=False)
    if passcode is None:
        monkeypatch.delenv("LAB_INSTRUCTOR_PASSCODE", raising=False)
    else:
        monkeypatch.setenv("LAB_INSTRUCTOR_PASSCODE", passcode)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _click(at: AppTest, label: str) -> AppTest:
    [b for b in at.button if b.label == label][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _status(at: AppTest, title: str) -> str:
    for frame in at.dataframe:
        df = frame.value
        if "challenge" in df.columns and "status" in df.columns and title in set(df.challenge):
            return df.set_index("challenge").status[title]
    raise AssertionError(f"{title} not listed")


def _texts(at: AppTest, kind: str) -> str:
    return " ".join(str(e.value) for e in at.get(kind))


def test_a_challenge_passed_on_its_lab_page_shows_on_the_progress_page(monkeypatch):
    at = _app(monkeypatch).run()
    at.switch_page(WORKSHOP).run()
    at.text_input(key="workshop_name_input").set_value("Ada L")
    _click(at, "Save my name")
    assert "Ada L" in _texts(at, "text")
    assert _status(at, "Count to 100,000 in eight bits") == "to do"

    at.switch_page(EVICTION).run()
    at.number_input(key="recipe_lfu-counter_log_factor").set_value(10.0)
    _click(at, "Run: The LFU counter playground")
    assert "Hint:" in _texts(at, "warning")                      # a miss gets a hint, not a pass
    at.number_input(key="recipe_lfu-counter_log_factor").set_value(30.0)
    _click(at, "Run: The LFU counter playground")
    assert "lfu-log-factor 30" in _texts(at, "success")           # the reason it passed, with its numbers
    assert [b for b in at.get("download_button") if "JSON" in b.proto.label]

    at.switch_page(WORKSHOP).run()
    assert _status(at, "Count to 100,000 in eight bits") == "passed"
    assert _status(at, "Survive the scans") == "to do"


def test_a_display_name_with_markup_is_refused_and_never_rendered(monkeypatch):
    at = _app(monkeypatch).run()
    at.switch_page(WORKSHOP).run()
    at.text_input(key="workshop_name_input").set_value("<b>**x**</b>")
    _click(at, "Save my name")
    assert "letters, digits" in _texts(at, "warning")
    assert "**x**" not in _texts(at, "markdown") + _texts(at, "text")


def test_without_a_configured_passcode_one_is_generated_and_the_page_says_where_it_is(monkeypatch):
    """Like Jupyter's token: printed in the terminal at start-up, never on the page; it opens the dashboard."""
    from ui.startup import instructor_passcode

    at = _app(monkeypatch).run()
    at.switch_page(WORKSHOP).run()
    generated = instructor_passcode()
    assert generated.generated and len(generated.value) >= 12
    info = _texts(at, "info")
    assert "printed in the terminal" in info and "LAB_INSTRUCTOR_PASSCODE" in info
    assert generated.value not in info + _texts(at, "markdown") + _texts(at, "code") + _texts(at, "caption")
    at.text_input(key="workshop_passcode").set_value(generated.value)
    _click(at, "Open the dashboard")
    assert "Leaderboard" in _texts(at, "markdown")


def test_a_wrong_passcode_shows_no_dashboard_and_the_right_one_does(monkeypatch):
    at = _app(monkeypatch, passcode="s3cret-class").run()
    at.switch_page(WORKSHOP).run()
    at.text_input(key="workshop_passcode").set_value("guess")
    _click(at, "Open the dashboard")
    assert "not the instructor passcode" in _texts(at, "warning")
    assert "Leaderboard" not in _texts(at, "markdown") and not [b for b in at.button if b.label == "End workshop"]
    at.text_input(key="workshop_passcode").set_value("s3cret-class")
    _click(at, "Open the dashboard")
    assert "Leaderboard" in _texts(at, "markdown") and [b for b in at.button if b.label == "End workshop"]
    assert "s3cret-class" not in _texts(at, "markdown") + _texts(at, "code")   # the passcode is never shown
    assert any(str(c.value).startswith("http") and "class=" in str(c.value) for c in at.code)  # the share link


def test_the_dashboard_lists_the_instructors_session_progress_on_the_sandbox(monkeypatch):
    at = _app(monkeypatch, passcode="pw-123").run()
    at.switch_page(EVICTION).run()
    at.number_input(key="recipe_lfu-counter_log_factor").set_value(30.0)
    _click(at, "Run: The LFU counter playground")
    at.switch_page(WORKSHOP).run()
    at.text_input(key="workshop_passcode").set_value("pw-123")
    _click(at, "Open the dashboard")
    progress = [f.value for f in at.dataframe if "passed by" in f.value.columns][0]
    assert progress.set_index("challenge")["passed by"]["Count to 100,000 in eight bits"] == 1
    assert "without a server (sandbox only)" in _texts(at, "info")


def test_on_the_embedded_default_two_learners_progress_shows_on_one_dashboard(monkeypatch):
    """The default setup (`make run`): class progress on the embedded server every session of the app shares,
    under lab:{class:<id>}:, with a TTL; End workshop removes exactly the class's keys."""
    from ui import resources

    learners = []
    for name, factor in (("Ada E", 30.0), ("Bob E", 10.0)):
        at = _app(monkeypatch, backend="embedded", passcode="pw-emb").run()
        at.switch_page(WORKSHOP).run()
        at.text_input(key="workshop_name_input").set_value(name)
        _click(at, "Save my name")
        at.switch_page(EVICTION).run()
        at.number_input(key="recipe_lfu-counter_log_factor").set_value(factor)
        _click(at, "Run: The LFU counter playground")
        learners.append(at)
    instructor = _app(monkeypatch, backend="embedded", passcode="pw-emb").run()
    instructor.switch_page(WORKSHOP).run()
    instructor.text_input(key="workshop_passcode").set_value("pw-emb")
    _click(instructor, "Open the dashboard")
    board = [f.value for f in instructor.dataframe if "challenges passed" in f.value.columns][0]
    assert dict(zip(board.name, board["challenges passed"])) == {"Ada E": 1}   # the board lists passes only
    assert [m.value for m in instructor.metric if m.label == "Learners"] == ["2"]   # both were seen
    progress = [f.value for f in instructor.dataframe if "passed by" in f.value.columns][0]
    assert progress.set_index("challenge")["passed by"]["Count to 100,000 in eight bits"] == 1
    assert "embedded server" in _texts(instructor, "caption")
    client = resources.embedded()[0].client
    keys = [k.decode() for k in client.scan_iter(match="lab:{class:workshop}:*")]
    assert keys and all(0 < client.ttl(k) <= 8 * 3600 for k in keys)
    instructor.checkbox(key="workshop_end_sure").check().run()
    _click(instructor, "End workshop")
    assert not list(client.scan_iter(match="lab:{class:workshop}:*"))


def _run_preset(monkeypatch, query: dict[str, str]) -> tuple[AppTest, dict]:
    at = _app(monkeypatch)
    at.query_params.update(query)
    at.run()
    at.switch_page(EVICTION).run()
    _click(at, "Run: Every policy on one workload")
    return at, at.session_state["recipe_result_eviction-compare"].metrics


def test_a_url_preset_reproduces_the_params_and_metrics_in_a_new_session(monkeypatch):
    """The link sets capacity 1100 and hides it; two fresh sessions from it get the same metrics (same seed)
    as a headless run with those params, and the hidden control is not on the page."""
    link = share_link("http://x", EVICTION, "eviction-compare", {"capacity": 1100, "seed": 3}, ["capacity"])
    query = dict(parse_qsl(urlsplit(link).query))
    assert query == {"recipe_eviction-compare_capacity": "1100", "recipe_eviction-compare_seed": "3",
                     "hide": "eviction-compare.capacity"}
    first, metrics = _run_preset(monkeypatch, query)
    assert not [n for n in first.number_input if n.key == "recipe_eviction-compare_capacity"]
    assert "Capacity = 1,100" in _texts(first, "caption")
    assert first.number_input(key="recipe_eviction-compare_seed").value == 3
    second, again = _run_preset(monkeypatch, query)
    assert again == metrics
    served = "Served from the app's cache — computed"      # a deterministic simulation, same params: not re-run
    assert served not in _texts(first, "caption") and served in _texts(second, "caption")
    exp = load_all()["eviction-compare"]
    from labs.core.backends import open_sandbox

    headless = exp.run(exp.params_cls(capacity=1100, seed=3), backend=open_sandbox()).metrics
    assert headless == metrics
    default = exp.run(exp.params_cls(), backend=open_sandbox()).metrics
    assert default != metrics                                     # the preset really changed the run


def test_a_bad_value_in_a_link_is_ignored_with_a_message(monkeypatch):
    at, metrics = _run_preset(monkeypatch, {"recipe_eviction-compare_capacity": "lots",
                                            "hide": "eviction-compare.capacity"})
    assert "Capacity must be a whole number" in _texts(at, "warning")
    from labs.core.backends import open_sandbox

    exp = load_all()["eviction-compare"]
    assert metrics == exp.run(exp.params_cls(), backend=open_sandbox()).metrics

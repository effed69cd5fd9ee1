"""A recipe panel: an experiment's form, its Run button, its numbers — headline tiles, every other number
in a labelled table — and the transcript of what Redis saw (command, reply, measured round trip).

A result always belongs to the values the form shows: when the form holds other values (or values the
experiment refuses), the previous result stays visible but dimmed, under a line saying which values it
came from. Every number reads through :mod:`labs.core.measures` (label, unit, format).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import redis
import streamlit as st

from labs import load_all
from labs.core.backends import Backend, BackendError, classify_error
from labs.core.experiment import Result, knobs
from labs.core.measures import csv_frame, format_value
from labs.core.metrics import format_duration_ns
from ui.results import earlier_run, show_result_numbers
from ui.runner import run_experiment
from ui.session import command_log, learner_guard, namespace, session_id
from ui.widgets import form_values, hidden_controls, notes, params_form
from ui.workshop import judge_run, show_verdicts

Extra = Callable[[Result, Any], None]


def show_metrics(metrics: dict[str, Any], labels: dict[str, str] | None = None, per_row: int = 4,
                 result: Result | None = None) -> None:
    """Tiles for ``metrics``: labelled by ``labels``, else by the measure ``result`` declares for the key; the
    value reads in the measure's unit ("86.9 %", not 0.869)."""
    items = [(k, v) for k, v in metrics.items() if not isinstance(v, (list, dict))]
    labels = labels or {}
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (key, value) in zip(cols, items[start:start + per_row]):
            m = result.describe(key) if result is not None else None
            label = labels.get(key) or (m.label if m else key.replace("_", " ").capitalize())
            col.metric(label, format_value(value, m), help=(m.help or None) if m else None)


def transcript(result: Result, *, last: int = 40) -> None:
    """The commands a recipe sent, as redis-cli would show them, keys without the learner's prefix."""
    frame = result.frames.get("commands")
    if frame is None or frame.empty:
        return
    shown = frame.tail(last)
    shown = shown.assign(latency=shown.latency_us.map(lambda us: format_duration_ns(us * 1000)))
    more = f" (last {last} of {len(frame)})" if len(frame) > last else ""
    with st.expander(f"What Redis saw{more}", icon=":material/terminal:"):
        st.dataframe(shown[["command", "reply", "latency"]].rename(
            columns={"command": "Command", "reply": "Reply", "latency": "Round trip"}), hide_index=True, width="stretch")
        st.caption(f"Keys are shown without your prefix `lab:{{{session_id()}}}:<lab>:`.")


def downloads(name: str, result: Result, params: Any, key: str = "") -> None:
    """The run as files: its result as JSON (params, metrics with their labels and units, notes) and each
    table as CSV with its headers in words."""
    data = result.to_json()
    payload = {"experiment": name, "params": dict(vars(params)) if params is not None else {},
               "metrics": data["metrics"], "measures": data.get("measures", {}), "notes": list(result.notes)}
    frames = [(frame, df) for frame, df in result.frames.items() if not df.empty]
    cols = st.columns(min(4, 1 + len(frames)))
    key = key or name
    cols[0].download_button("Result (JSON)", json.dumps(payload, indent=2, default=str), f"{name}.json",
                            "application/json", key=f"download_json_{key}", on_click="ignore",
                            icon=":material/download:")
    for i, (frame, df) in enumerate(frames, start=1):
        cols[i % len(cols)].download_button(f"{frame_title(frame)} (CSV)", csv_frame(df, result.measures).to_csv(index=False),
                                            f"{name}-{frame}.csv", "text/csv", key=f"download_csv_{key}_{frame}",
                                            on_click="ignore", icon=":material/table:")


def frame_title(frame: str) -> str:
    """A result table's name as a learner reads it on a button: "hit_curve" → "Hit curve"."""
    words = frame.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def recipe(name: str, backend: Backend, *, extra: Extra | None = None, columns: int = 3,
           hide: tuple[str, ...] = (), metrics: bool = True, show: tuple[str, ...] | None = None,
           progress: str | None = None, key: str | None = None,
           defaults: dict[str, Any] | None = None) -> Result | None:
    """Form → run the registered experiment ``name`` on this learner's backend → numbers, extras, transcript.

    The experiment's headline measures are the tiles (``show`` picks others, ``hide`` drops some,
    ``metrics=False`` shows none: the extra renders the result); the rest are listed under an expander.
    The URL's ``?hide=`` hides controls (see ``ui.widgets.hidden_controls``). ``key`` names the form and
    its result (default ``recipe_<name>``): a page that shows another page's experiment (the workshop)
    gives its own, so nothing typed on one page follows the learner to the other; ``defaults`` start some
    fields elsewhere than the knob defaults (a second form of the same experiment, set up for its lesson).
    ``progress`` (its first text) is for long runs whose ``run`` takes ``on_progress(fraction, text)``: a
    progress bar and a Cancel button (any click reruns the script, which stops the run at its next update).
    After a run, the experiment's challenges are judged on it and passes recorded in the learner's progress.
    """
    exp = load_all()[name]
    key = key or f"recipe_{name}"
    st.markdown(f"**{exp.title}** — {exp.summary}")
    hidden = hidden_controls(name, [k["name"] for k in knobs(exp.params_cls)])
    params, submitted = params_form(exp.params_cls, key=key, columns=columns, submit=f"Run: {exp.title}",
                                    hidden=hidden, defaults=defaults)
    suffix = name if key == f"recipe_{name}" else key
    state_key, run_key = f"recipe_result_{suffix}", f"recipe_run_{suffix}"
    if submitted and params is not None:
        extra_kw = {}
        if progress is not None:
            cancel = st.empty()
            cancel.button("Cancel", icon=":material/stop_circle:", key=f"{key}_cancel",
                          help="Stops the run; anything it started is shut down.")
            bar = st.progress(0.0, text=progress)
            extra_kw["on_progress"] = lambda done, text: bar.progress(min(max(done, 0.0), 1.0), text=text)
        try:
            result = run_experiment(name, params, backend, ns=namespace(), log=command_log(), guard=learner_guard(),
                                    **extra_kw)
            st.session_state[state_key] = result
            st.session_state[run_key] = (params, judge_run(name, params, result))
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
        except (redis.RedisError, OSError, BackendError) as exc:  # the server failed mid-run: say so, keep the page
            err = exc if isinstance(exc, BackendError) else classify_error(exc, backend.label)
            st.error(f"{err.message} {err.hint}".strip(), icon=":material/cloud_off:")
        if progress is not None:
            bar.empty()
            cancel.empty()  # the run is over: nothing left to cancel
    result: Result | None = st.session_state.get(state_key)
    if result is None:
        return None
    run_params, verdicts = st.session_state.get(run_key, (params, []))
    with earlier_run(exp.params_cls, run_params, params if params is not None else form_values(key),
                     f"{key}__earlier"):
        if metrics:  # every experiment declares its measures (tests/unit/core/test_every_number_described.py)
            show_result_numbers(result, show=show, hide=hide)
        if extra is not None:
            extra(result, run_params)
        notes(result)
        show_verdicts(verdicts)
        downloads(name, result, run_params, key)
        transcript(result)
    return result

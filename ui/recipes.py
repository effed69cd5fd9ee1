"""A recipe panel: an experiment's form, its Run button, headline numbers, and the transcript of what
Redis saw (command, reply, measured round trip) — the building block of the structures page."""
from __future__ import annotations

import json
from typing import Any, Callable

import redis
import streamlit as st

from labs.core.backends import Backend, BackendError, classify_error
from labs.core.experiment import Result, knobs
from labs import load_all
from labs.core.metrics import format_duration_ns
from ui.runner import run_experiment
from ui.session import command_log, learner_guard, namespace, session_id
from ui.widgets import hidden_controls, notes, params_form
from ui.workshop import judge_run, show_verdicts

Extra = Callable[[Result, Any], None]


def _metric_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else str(value)


def show_metrics(metrics: dict[str, Any], labels: dict[str, str] | None = None, per_row: int = 4) -> None:
    items = [(k, v) for k, v in metrics.items() if not isinstance(v, (list, dict))]
    labels = labels or {}
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (key, value) in zip(cols, items[start:start + per_row]):
            col.metric(labels.get(key, key.replace("_", " ")), _metric_text(value))


def transcript(result: Result, *, last: int = 40) -> None:
    """The commands a recipe sent, as redis-cli would show them, keys without the learner's prefix."""
    frame = result.frames.get("commands")
    if frame is None or frame.empty:
        return
    shown = frame.tail(last).assign(latency=frame.latency_us.tail(last).map(lambda us: format_duration_ns(us * 1000)))
    more = f" (last {last} of {len(frame)})" if len(frame) > last else ""
    with st.expander(f"What Redis saw{more}", icon=":material/terminal:"):
        st.dataframe(shown[["command", "reply", "latency"]], hide_index=True, width="stretch")
        st.caption(f"Keys are shown without your prefix `lab:{{{session_id()}}}:<lab>:`.")


def downloads(name: str, result: Result, params: Any) -> None:
    """The run as files: its result as JSON (params, metrics, notes) and each table as CSV."""
    payload = {"experiment": name, "params": dict(vars(params)) if params is not None else {},
               "metrics": result.to_json()["metrics"], "notes": list(result.notes)}
    frames = [(frame, df) for frame, df in result.frames.items() if not df.empty]
    cols = st.columns(min(4, 1 + len(frames)))
    cols[0].download_button("Result (JSON)", json.dumps(payload, indent=2, default=str), f"{name}.json",
                            "application/json", key=f"download_json_{name}", on_click="ignore",
                            icon=":material/download:")
    for i, (frame, df) in enumerate(frames, start=1):
        cols[i % len(cols)].download_button(f"{frame} (CSV)", df.to_csv(index=False), f"{name}-{frame}.csv",
                                            "text/csv", key=f"download_csv_{name}_{frame}", on_click="ignore",
                                            icon=":material/table:")


def recipe(name: str, backend: Backend, *, extra: Extra | None = None, labels: dict[str, str] | None = None,
           columns: int = 3, hide: tuple[str, ...] = (), metrics: bool = True,
           show: tuple[str, ...] | None = None, progress: str | None = None) -> Result | None:
    """Form → run the registered experiment ``name`` on this learner's backend → numbers, extras, transcript.

    ``hide`` hides metrics; the URL's ``?hide=`` hides controls (see ``ui.widgets.hidden_controls``).
    ``progress`` (its first text) is for long runs whose ``run`` takes ``on_progress(fraction, text)``: a
    progress bar and a Cancel button (any click reruns the script, which stops the run at its next update).
    After a run, the experiment's challenges are judged on it and passes recorded in the learner's progress.
    """
    exp = load_all()[name]
    st.markdown(f"**{exp.title}** — {exp.summary}")
    hidden = hidden_controls(name, [k["name"] for k in knobs(exp.params_cls)])
    params, submitted = params_form(exp.params_cls, key=f"recipe_{name}", columns=columns,
                                    submit=f"Run: {exp.title}", hidden=hidden)
    state_key = f"recipe_result_{name}"
    if submitted and params is not None:
        extra_kw = {}
        if progress is not None:
            st.button("Cancel", icon=":material/stop_circle:", key=f"recipe_cancel_{name}",
                      help="Stops the run; anything it started is shut down.")
            bar = st.progress(0.0, text=progress)
            extra_kw["on_progress"] = lambda done, text: bar.progress(min(max(done, 0.0), 1.0), text=text)
        try:
            result = run_experiment(name, params, backend, ns=namespace(), log=command_log(), guard=learner_guard(),
                                    **extra_kw)
            st.session_state[state_key] = result
            st.session_state[f"recipe_run_{name}"] = (params, judge_run(name, params, result))
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
        except (redis.RedisError, OSError, BackendError) as exc:  # the server failed mid-run: say so, keep the page
            err = exc if isinstance(exc, BackendError) else classify_error(exc, backend.label)
            st.error(f"{err.message} {err.hint}".strip(), icon=":material/cloud_off:")
        if progress is not None:
            bar.empty()
    result: Result | None = st.session_state.get(state_key)
    if result is None:
        return None
    run_params, verdicts = st.session_state.get(f"recipe_run_{name}", (params, []))
    if metrics:
        chosen = {k: v for k, v in result.metrics.items() if k not in hide and (show is None or k in show)}
        show_metrics(chosen, labels)
    if extra is not None:
        extra(result, params)
    notes(result)
    show_verdicts(verdicts)
    downloads(name, result, run_params)
    transcript(result)
    return result

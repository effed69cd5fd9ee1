"""Shared page pieces: params forms generated from an experiment's params dataclass, lesson prose,
result notes and the command log.

A form names each knob as every message does (:func:`labs.core.experiment.knob_label`). It is a bordered
group of widgets and a Run button, not an ``st.form``: a changed value reaches the server at once, so the
page can dim a result that no longer matches the form (see ``ui.results.earlier_run``) and explain a
value outside its range under its field, in words — and Run is then refused with a visible message (the
browser's own min/max check would only turn the field red and swallow the click). A preset link's bad
value is dropped — the field shows its default — and the page says which and why.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from labs.core.experiment import Result, check_value, knob_label, knobs, parse_value, show_number
from labs.core.metrics import CommandLog, format_duration_ns
from labs.workshop.progress import escape_markdown

CONTENT = Path(__file__).resolve().parent.parent / "content"


def lesson(name: str) -> None:
    """Render ``content/<name>.md``."""
    st.markdown((CONTENT / f"{name}.md").read_text(encoding="utf-8"))


def params_form(params_cls: type, *, key: str, only: tuple[str, ...] | None = None,
                columns: int = 2, submit: str = "Run", hidden: frozenset[str] | set[str] = frozenset(),
                defaults: dict[str, Any] | None = None) -> tuple[Any | None, bool]:
    """A form with one widget per knob and a Run button; returns (validated params or None, Run clicked?).

    Widgets are bound to the URL (``bind="query-params"``, the query param is the widget key
    ``<key>_<knob>``) so an instructor can share a preset link. Knobs in ``hidden`` get no widget (TF
    Playground style): their value still comes from the URL, or the default, and the form says so.
    A value the params class rejects is shown as a message; nothing the learner typed is lost.
    ``defaults`` start some fields elsewhere than the knob's default (a page section's own starting point).
    """
    values: dict[str, Any] = {}
    every = [{**k, "default": (defaults or {}).get(k["name"], k["default"])} for k in knobs(params_cls)
             if only is None or k["name"] in only]
    link_notes = st.session_state.setdefault(f"{key}__link_problems", [])
    link_notes += _drop_bad_link_values(params_cls, [k for k in every if k["name"] not in hidden], key)
    told = set(link_notes)
    bad_fields = 0
    with st.container(border=True, key=f"{key}__form"):
        cols = st.columns(columns)
        shown = [k for k in every if k["name"] not in hidden]
        for i, k in enumerate(shown):
            with cols[i % columns]:
                values[k["name"]] = _widget(k, f"{key}_{k['name']}")
                problem = _field_problem(params_cls, k, values[k["name"]])
                if problem:
                    bad_fields += 1
                    st.markdown(f":red[:material/error: {escape_markdown(problem)}]")
        preset = [k for k in every if k["name"] in hidden]
        for k in preset:
            try:
                values[k["name"]] = _url_value(params_cls, k, f"{key}_{k['name']}")
            except ValueError as exc:
                if f"{knob_label(k)}: {exc}" not in told:
                    link_notes.append(f"{knob_label(k)}: {exc}")
                values[k["name"]] = k["default"]
        if preset:
            fixed = ", ".join(f"{knob_label(k)} = {show_number(values[k['name']])}" for k in preset)
            st.caption(":material/lock: Set by your instructor's link: " + escape_markdown(fixed))
        submitted = st.button(submit, type="primary", icon=":material/play_arrow:", key=f"{key}__run")
    if st.session_state.get(f"{key}__link_resets"):
        st.rerun()  # put the link's out-of-range values back to their defaults before anything runs
    if submitted:  # told once, until the learner runs the form
        st.session_state.pop(f"{key}__link_problems", None)
    for problem in link_notes:
        st.warning(f"Your link's value was ignored and the default used — {problem}", icon=":material/link_off:")
    st.session_state[f"{key}__values"] = dict(values)
    refused = "Not run: " if submitted else ""
    if bad_fields:
        st.error(f"{refused}{'a value is' if bad_fields == 1 else f'{bad_fields} values are'} outside what this "
                 "experiment accepts — see the message under the field.", icon=":material/error:")
        return None, submitted
    try:
        return params_cls(**values), submitted
    except ValueError as exc:
        st.error(f"{refused}{exc}", icon=":material/error:")
        return None, submitted


def form_values(key: str) -> dict[str, Any]:
    """The values the form ``key`` holds in this run (valid or not), by knob name."""
    return dict(st.session_state.get(f"{key}__values", {}))


def _field_problem(params_cls: type, k: dict[str, Any], value: Any) -> str:
    try:
        check_value(params_cls, k["name"], value)
    except ValueError as exc:
        return str(exc)
    return ""


def _drop_bad_link_values(params_cls: type, shown: list[dict[str, Any]], key: str) -> list[str]:
    """A preset link's values that do not parse or are out of range: removed from the URL, and described
    for the page. Streamlit seeds a bound widget from the URL on the first run whatever the code says, so a
    value that parses (e.g. 3 where at least 10 is allowed) is put back to its default on one more run."""
    pending = st.session_state.setdefault(f"{key}__link_resets", {})
    for wkey, default in list(pending.items()):
        st.session_state[wkey] = default  # no longer the first run: the code's value now wins
    pending.clear()
    problems = []
    for k in shown:
        wkey = f"{key}_{k['name']}"
        text = st.query_params.get(wkey)
        if text is None or wkey in st.session_state:
            continue
        try:
            value = parse_value(params_cls, k["name"], text)
        except ValueError as exc:  # Streamlit ignores it too: the field keeps its default
            problems.append(f"{knob_label(k)} = '{text}': {exc}")
            del st.query_params[wkey]
            continue
        try:
            check_value(params_cls, k["name"], value)
        except ValueError as exc:
            problems.append(f"{knob_label(k)} = '{text}': {exc}")
            del st.query_params[wkey]
            pending[wkey] = k["type"](k["default"]) if k["type"] in (int, float) else k["default"]
    return problems


def _url_value(params_cls: type, k: dict[str, Any], wkey: str) -> Any:
    """A hidden knob's value: the URL's ``<wkey>=…`` if there is one, else the knob's default."""
    text = st.query_params.get(wkey)
    return k["default"] if text is None else parse_value(params_cls, k["name"], text)


def hidden_controls(experiment: str, names: list[str]) -> frozenset[str]:
    """Knobs the URL hides for this form: ``?hide=ttl_s,policy`` (any form) or ``?hide=eviction-compare.capacity``."""
    raw = ",".join(st.query_params.get_all("hide"))
    wanted = {item.strip() for item in raw.split(",") if item.strip()}
    out = set()
    for name in names:
        if name in wanted or f"{experiment}.{name}" in wanted:
            out.add(name)
    return frozenset(out)


def _widget(k: dict[str, Any], wkey: str) -> Any:
    label = knob_label(k)
    if k.get("unit"):
        label += f" ({k['unit']})"
    common = dict(key=wkey, bind="query-params")
    if k.get("choices"):
        choices = list(k["choices"])
        return st.selectbox(label, choices, index=choices.index(k["default"]), help=k["help"], **common)
    if k["type"] is bool:
        return st.toggle(label, value=k["default"], help=k["help"], **common)
    if k["type"] in (int, float):
        # no min_value/max_value: the browser would refuse an out-of-range value silently; the range is in
        # the help, and a value outside it is explained under the field when the form is run
        unit = f" {k['unit']}" if k.get("unit") else ""
        limits = (f" Between {show_number(k['min'])} and {show_number(k['max'])}{unit}."
                  if k.get("min") is not None and k.get("max") is not None else "")
        return st.number_input(label, value=k["type"](k["default"]), help=k["help"] + limits, **common)
    return st.text_input(label, value=str(k["default"]), help=k["help"], **common)


def notes(result: Result) -> None:
    for note in result.notes:
        st.caption(":material/info: " + note.replace("$", "\\$"))  # a "$" pair would render as maths


def command_log(log: CommandLog, *, last: int = 25, expanded: bool = False) -> None:
    """The last commands sent to Redis, in redis-cli form, with reply and measured round trip."""
    records = log.records()[-last:]
    with st.expander(f"What Redis saw (last {len(records)} commands)", expanded=expanded,
                     icon=":material/terminal:"):
        if not records:
            st.caption("No command sent yet.")
            return
        st.dataframe(pd.DataFrame([{"Command": r.command, "Reply": r.error or r.reply,
                                    "Round trip": format_duration_ns(r.elapsed_ns)} for r in reversed(records)]),
                     hide_index=True, width="stretch")

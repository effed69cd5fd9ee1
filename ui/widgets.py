"""Shared page pieces: params forms generated from an experiment's params dataclass, lesson prose,
result notes and the command log."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from labs.core.experiment import Result, knobs, parse_value
from labs.core.metrics import CommandLog, format_duration_ns
from labs.workshop.progress import escape_markdown

CONTENT = Path(__file__).resolve().parent.parent / "content"


def lesson(name: str) -> None:
    """Render ``content/<name>.md``."""
    st.markdown((CONTENT / f"{name}.md").read_text(encoding="utf-8"))


def params_form(params_cls: type, *, key: str, only: tuple[str, ...] | None = None,
                columns: int = 2, submit: str = "Run", hidden: frozenset[str] | set[str] = frozenset()
                ) -> tuple[Any | None, bool]:
    """A form with one widget per knob; returns (validated params or None, submitted?).

    Widgets are bound to the URL (``bind="query-params"``, the query param is the widget key
    ``<key>_<knob>``) so an instructor can share a preset link. Knobs in ``hidden`` get no widget (TF
    Playground style): their value still comes from the URL, or the default, and the form says so.
    A value the params class rejects is shown as a message; nothing the learner typed is lost.
    """
    values: dict[str, Any] = {}
    with st.form(key, border=True):
        cols = st.columns(columns)
        every = [k for k in knobs(params_cls) if only is None or k["name"] in only]
        shown = [k for k in every if k["name"] not in hidden]
        for i, k in enumerate(shown):
            with cols[i % columns]:
                values[k["name"]] = _widget(k, f"{key}_{k['name']}")
        preset = [k for k in every if k["name"] in hidden]
        problems = []
        for k in preset:
            try:
                values[k["name"]] = _url_value(params_cls, k, f"{key}_{k['name']}")
            except ValueError as exc:
                problems.append(str(exc))
                values[k["name"]] = k["default"]
        if preset:
            fixed = ", ".join(f"{k.get('label') or k['name'].replace('_', ' ')} = {values[k['name']]}" for k in preset)
            st.caption(":material/lock: Set by your instructor's link: " + escape_markdown(fixed))
        submitted = st.form_submit_button(submit, type="primary", icon=":material/play_arrow:")
    for problem in problems:
        st.warning(f"The link's value was ignored: {problem}", icon=":material/link_off:")
    try:
        return params_cls(**values), submitted
    except ValueError as exc:
        st.error(f"{exc}", icon=":material/error:")
        return None, submitted


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
    label = k.get("label") or k["name"].replace("_", " ")
    label = label[0].upper() + label[1:]
    if k.get("unit"):
        label += f" ({k['unit']})"
    common = dict(help=k["help"], key=wkey, bind="query-params")
    if k.get("choices"):
        choices = list(k["choices"])
        return st.selectbox(label, choices, index=choices.index(k["default"]), **common)
    if k["type"] is bool:
        return st.toggle(label, value=k["default"], **common)
    if k["type"] in (int, float):
        cast = k["type"]  # Streamlit wants value, min and max of one type
        lo, hi = (None if k.get(b) is None else cast(k[b]) for b in ("min", "max"))
        return st.number_input(label, min_value=lo, max_value=hi, value=cast(k["default"]), **common)
    return st.text_input(label, value=str(k["default"]), **common)


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
        st.dataframe(pd.DataFrame([{"command": r.command, "reply": r.error or r.reply,
                                    "round trip": format_duration_ns(r.elapsed_ns)} for r in reversed(records)]),
                     hide_index=True, width="stretch")

"""Shared page pieces: params forms generated from an experiment's params dataclass, lesson prose,
result notes and the command log."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from labs.experiment import Result, knobs
from labs.metrics import CommandLog, format_duration_ns

CONTENT = Path(__file__).resolve().parent.parent / "content"


def lesson(name: str) -> None:
    """Render ``content/<name>.md``."""
    st.markdown((CONTENT / f"{name}.md").read_text(encoding="utf-8"))


def params_form(params_cls: type, *, key: str, only: tuple[str, ...] | None = None,
                columns: int = 2, submit: str = "Run") -> tuple[Any | None, bool]:
    """A form with one widget per knob; returns (validated params or None, submitted?).

    Widgets are bound to the URL (``bind="query-params"``) so an instructor can share a preset link.
    A value the params class rejects is shown as a message; nothing the learner typed is lost.
    """
    values: dict[str, Any] = {}
    with st.form(key, border=True):
        cols = st.columns(columns)
        shown = [k for k in knobs(params_cls) if only is None or k["name"] in only]
        for i, k in enumerate(shown):
            with cols[i % columns]:
                values[k["name"]] = _widget(k, f"{key}_{k['name']}")
        submitted = st.form_submit_button(submit, type="primary", icon=":material/play_arrow:")
    try:
        return params_cls(**values), submitted
    except ValueError as exc:
        st.error(f"{exc}", icon=":material/error:")
        return None, submitted


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

"""How a result reads on a page: a few headline tiles, every other number in a labelled table, and tables
whose columns carry their label and unit — all through the one formatter of :mod:`labs.core.measures`.

A tile shows a metric's label in words and its value with its unit ("64.5 %", "1.44 MB"), its help on
hover; a table's header reads "Read, median (ms)" and its numbers are rounded for reading. A result from
values the form no longer shows is dimmed and labelled as from its run (:func:`earlier_run`).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd
import streamlit as st

from labs.core.experiment import MAX_HEADLINES, Result, knob_label, knobs, show_number
from labs.core.measures import UNITS, Measure, describe, format_value

TILES_PER_ROW = 3


def column_config(columns: Iterable[Any], measures: Mapping[str, Measure]) -> dict[str, Any]:
    """``st.column_config`` for each declared column: its heading with the unit, its help, its format."""
    config: dict[str, Any] = {}
    for column in columns:
        m = describe(measures, str(column))
        if m is None:
            continue
        kind = UNITS[m.unit]
        if kind == "text":
            config[column] = st.column_config.TextColumn(m.heading, help=m.help or None)
        elif kind == "flag":
            config[column] = st.column_config.CheckboxColumn(m.heading, help=m.help or None)
        else:
            config[column] = st.column_config.NumberColumn(m.heading, help=m.help or None, format=m.column_format)
    return config


def table(frame: pd.DataFrame, measures: Mapping[str, Measure], *, columns: list[str] | None = None,
          height: int | None = None, key: str | None = None) -> None:
    """``frame`` (or its ``columns``) as a table whose headers are words with units."""
    shown = frame[[c for c in columns if c in frame.columns]] if columns else frame
    extra: dict[str, Any] = {"height": height} if height else {}
    config = column_config(shown.columns, measures)
    shown, config = _missing_as_dash(shown, measures, config)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=key, **extra)


def _missing_as_dash(frame: pd.DataFrame, measures: Mapping[str, Measure],
                     config: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A numeric column with a missing value (no cache has no hit ratio) would read "None" in the grid:
    such a column is shown as its formatted values, with "—" where there is none."""
    patched = None
    for column in frame.columns:
        m = describe(measures, str(column))
        if m is None or UNITS[m.unit] in ("text", "flag") or not frame[column].isna().any():
            continue
        if patched is None:
            patched = frame.copy()
        patched[column] = [format_value(v, m) for v in frame[column]]
        config[column] = st.column_config.TextColumn(m.heading, help=m.help or None)
    return (frame if patched is None else patched), config


def result_table(result: Result, name: str, **kw: Any) -> None:
    """One of the result's frames, labelled by the experiment's measures."""
    table(result.frames[name], result.measures, **kw)


def tiles(result: Result, keys: list[str]) -> None:
    """``keys`` of the result's metrics as tiles: label in words, value with its unit, help on hover."""
    items = [(k, result.metrics[k]) for k in keys if k in result.metrics]
    per_row = len(items) if len(items) <= 4 else TILES_PER_ROW
    for start in range(0, len(items), max(1, per_row)):
        cols = st.columns(per_row)
        for col, (key, value) in zip(cols, items[start:start + per_row]):
            m = result.describe(key)
            col.metric(m.label if m else key, format_value(value, m), help=(m.help or None) if m else None)


def numbers_frame(result: Result, keys: list[str]) -> pd.DataFrame:
    """The metrics ``keys`` as rows a learner reads: what, value with its unit, what it means."""
    rows = []
    for key in keys:
        m = result.describe(key)
        rows.append({"What": m.label if m else key, "Value": format_value(result.metrics[key], m),
                     "Meaning": m.help if m else ""})
    return pd.DataFrame(rows, columns=["What", "Value", "Meaning"])


def other_numbers(result: Result, keys: list[str]) -> None:
    """Every other number of the run, in a labelled table under an expander."""
    keys = [k for k in keys if not isinstance(result.metrics[k], (list, dict))]
    if not keys:
        return
    with st.expander(f"Every number of this run ({len(keys)} more)", icon=":material/table_rows:"):
        st.dataframe(numbers_frame(result, keys), hide_index=True, width="stretch")


def show_result_numbers(result: Result, *, show: tuple[str, ...] | None = None, hide: tuple[str, ...] = ()) -> None:
    """The headline metrics as tiles (or ``show``; never more than six), the rest in the labelled table."""
    keys = [k for k in result.metrics if k not in hide]
    chosen = [k for k in keys if k in show] if show is not None else [k for k in keys if k in result.headlines()]
    chosen = chosen[:MAX_HEADLINES]
    tiles(result, chosen)
    other_numbers(result, [k for k in keys if k not in chosen])


def changed_knobs(params_cls: type, ran: Any, now: Any) -> list[str]:
    """The knobs whose value differs between the run's params and the form's (params or a dict of the
    values typed), as "Label = value" of the earlier run."""
    typed = now if isinstance(now, Mapping) else (vars(now) if now is not None else {})
    out = []
    for k in knobs(params_cls):
        before = getattr(ran, k["name"], None)
        if typed.get(k["name"], before) != before:
            unit = f" {k['unit']}" if k.get("unit") else ""
            out.append(f"{knob_label(k)} = {show_number(before)}{unit}")
    return out


def earlier_run(params_cls: type, ran: Any, now: Any, key: str, *, other: str = "") -> Any:
    """A container for a result: plain when it belongs to the values the form shows (``now``: params, or
    the dict of values typed when they do not validate), otherwise dimmed under a line saying which values
    it came from. ``other`` names inputs outside the form that changed too (e.g. "data classes").
    Returns the container to render into."""
    if ran is None or (ran == now and not other):
        return st.container()
    diff = changed_knobs(params_cls, ran, now) + ([f"other {other}"] if other else [])
    what = ("These results are from the previous run with " + "; ".join(diff[:6])
            + ("; …" if len(diff) > 6 else "") + ". Run again to see the values above."
            if diff else "These results are from the previous run, not from the values above.")
    st.warning(what, icon=":material/history:")
    st.html(f"<style>.st-key-{key} {{ opacity: 0.45; }}</style>")
    return st.container(key=key)

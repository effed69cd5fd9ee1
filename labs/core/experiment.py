"""The Experiment contract: frozen params with validation → ``run(...)`` → ``Result(metrics, frames, notes)``.

Every lab exposes its experiments this way so the page, the CLI (``python -m labs``), the tests and the
benchmarks call one thing. A params dataclass declares each knob with :func:`knob` (default, range,
unit, help); :func:`check_ranges` enforces those limits in ``__post_init__`` with messages a learner can
act on, and :func:`params_from_strings` turns ``--set key=value`` text into a validated params object.
Messages name a knob the way the form does (:func:`knob_label`: "Crash after write must be between 1 and
Writes (200)"), and every result carries its experiment's measures (:mod:`labs.core.measures`), so the
page, the CLI and the files print its numbers with their words and units.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from labs.core.measures import Measure, csv_frame, describe, readable

MAX_HEADLINES = 6  # tiles a run shows at most; its other numbers go in a labelled table


def knob(default: Any, *, help: str, min: float | None = None, max: float | None = None,
         unit: str = "", choices: tuple | None = None, label: str | None = None) -> Any:
    """A params field with the metadata pages and the CLI need (range, unit, help, choices)."""
    meta = {"help": help, "min": min, "max": max, "unit": unit, "choices": choices, "label": label}
    return field(default=default, metadata=meta)


def knob_label(k: Mapping[str, Any]) -> str:
    """The words a form shows for a knob: its ``label``, else its name in words, first letter capitalised —
    an ASCII letter only ("β" must not become "Β"), and not a config name ("lfu-log-factor" stays)."""
    label = k.get("label") or k["name"].replace("_", " ")
    first = label[:1]
    config_name = "-" in label and " " not in label
    if first.isascii() and first.isalpha() and not config_name:
        return first.upper() + label[1:]
    return label


def label_of(params: Any, name: str) -> str:
    """The form's words for knob ``name`` of a params object or class (for messages a learner reads)."""
    for f in dataclasses.fields(params):
        if f.name == name:
            return knob_label({"name": name, **f.metadata})
    raise KeyError(name)


def show_number(value: Any) -> str:
    """A knob's value or limit as a message prints it: 10,000 · 0.5 · 1 (not 10000.0 or 1.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer():
        return f"{value:,.0f}"
    return readable(float(value), 4).rstrip("0").rstrip(".")


def check_value(params_cls: type, name: str, value: Any) -> None:
    """One knob's value against its declared type, range and choices; ValueError in the form's words."""
    k = next((k for k in knobs(params_cls) if k["name"] == name), None)
    if k is None:
        raise ValueError(f"Unknown parameter '{name}'. Known: {', '.join(x['name'] for x in knobs(params_cls))}.")
    _check(k, value)


def _check(k: Mapping[str, Any], value: Any) -> None:
    label, kind = knob_label(k), k["type"]
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{label} must be a number, got {value!r}.")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{label} must be a whole number, got {value}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{label} must be a finite number, got {value}.")
    unit = f" {k.get('unit')}" if k.get("unit") else ""
    lo, hi = k.get("min"), k.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ValueError(f"{label} must be between {show_number(lo)} and {show_number(hi)}{unit}, "
                         f"got {show_number(value)}.")
    choices = k.get("choices")
    if choices and value not in choices:
        raise ValueError(f"{label} must be one of {', '.join(map(str, choices))}; got {value!r}.")


def check_ranges(params: Any) -> None:
    """Validate every knob of a params dataclass against its declared type, range and choices."""
    for k in _knob_table(type(params)):
        _check(k, getattr(params, k["name"]))


@dataclass
class Result:
    """What an experiment returns: headline numbers, tables for charts/CSV, and what was real or simulated."""

    metrics: dict[str, float | int | str]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # the experiment's measures (label, unit, format of each metric and column), set by the registry
    measures: Mapping[str, Measure] = field(default_factory=dict, repr=False)

    def describe(self, key: str) -> Measure | None:
        """The label, unit and format of one metric or table column of this result."""
        return describe(self.measures, key)

    def headlines(self) -> list[str]:
        """The metrics shown as tiles, in the order the experiment reports them."""
        return [k for k in self.metrics if (m := self.describe(k)) is not None and m.headline]

    def to_json(self) -> dict[str, Any]:
        out = {
            "metrics": {k: _plain(v) for k, v in self.metrics.items()},
            "frames": {name: json.loads(df.to_json(orient="records")) for name, df in self.frames.items()},
            "notes": list(self.notes),
        }
        if self.measures:  # what each number means, keyed like the metrics and columns above
            keys = list(self.metrics) + [c for df in self.frames.values() for c in df.columns]
            out["measures"] = {str(k): {"label": m.label, "unit": m.unit, "help": m.help, "shown": m.csv_heading}
                               for k in dict.fromkeys(keys) if (m := self.describe(str(k))) is not None}
        return out

    def metrics_frame(self) -> pd.DataFrame:
        """One row per metric: its key, label, value, unit and the value as a page shows it."""
        rows = []
        for k, v in self.metrics.items():
            m = self.describe(k)
            rows.append({"metric": k, "label": m.label if m else k, "value": _plain(v), "unit": m.unit if m else "",
                         "shown": m.format(v) if m else str(v)})
        return pd.DataFrame(rows, columns=["metric", "label", "value", "unit", "shown"])

    def write_csv(self, folder: str | Path) -> list[Path]:
        """One CSV per frame (``<name>.csv``, headers in words) plus ``metrics.csv``; returns the files."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.frames.items():
            paths.append(folder / f"{name}.csv")
            csv_frame(df, self.measures).to_csv(paths[-1], index=False)
        paths.append(folder / "metrics.csv")
        self.metrics_frame().to_csv(paths[-1], index=False)
        return paths


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Experiment:
    """A registry entry: a name, a title, the params class and the run function."""

    name: str
    title: str
    summary: str
    params_cls: type
    run: Callable[..., Result]
    page: str = ""  # the app page that shows it, e.g. "app_pages/home.py"
    measures: Mapping[str, Measure] = field(default_factory=dict)  # metric and column metadata

    def describe(self, key: str) -> Measure | None:
        """The label, unit and format of one of this experiment's metrics or table columns."""
        return describe(self.measures, key)


REGISTRY: dict[str, Experiment] = {}


def register(name: str, *, title: str, summary: str, params: type, page: str = "",
             measures: Mapping[str, Measure] | None = None) -> Callable:
    """Decorator: ``@register("first-read", title=..., summary=..., params=FirstReadParams, measures={...})``.

    ``measures`` maps metric names and table column names (glob patterns allowed) to :func:`measure`
    metadata: the words, unit and format a learner reads (see :mod:`labs.core.measures`)."""

    declared = dict(measures or {})
    headlines = [k for k, m in declared.items() if m.headline and "*" not in k]
    if len(headlines) > MAX_HEADLINES:
        raise ValueError(f"{name}: {len(headlines)} headline measures; at most {MAX_HEADLINES} tiles a run")

    def wrap(run: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(run)
        def described(*args: Any, **kwargs: Any) -> Result:
            result = run(*args, **kwargs)
            if isinstance(result, Result) and not result.measures:
                result.measures = declared
            return result

        REGISTRY[name] = Experiment(name, title, summary, params, described, page, declared)
        return run

    return wrap


def knobs(params_cls: type) -> list[dict[str, Any]]:
    """Each knob of a params class: name, type, default, help, min, max, unit, choices."""
    return [dict(k) for k in _knob_table(params_cls)]


@functools.lru_cache(maxsize=None)
def _knob_table(params_cls: type) -> tuple[dict[str, Any], ...]:
    hints = typing.get_type_hints(params_cls)
    return tuple({"name": f.name, "type": hints.get(f.name), "default": f.default, **f.metadata}
                 for f in dataclasses.fields(params_cls))


def params_from_strings(params_cls: type, values: dict[str, str]) -> Any:
    """Build validated params from text (CLI ``--set k=v``, URL query params); ValueError if wrong."""
    by_name = {k["name"]: k for k in knobs(params_cls)}
    converted: dict[str, Any] = {}
    for key, text in values.items():
        if key not in by_name:
            raise ValueError(f"Unknown parameter '{key}'. Known: {', '.join(by_name)}.")
        converted[key] = _convert(by_name[key], text)
    return params_cls(**converted)


def parse_value(params_cls: type, key: str, text: str) -> Any:
    """One knob's value from text (a URL query param), typed like the knob; ValueError if it is not."""
    by_name = {k["name"]: k for k in knobs(params_cls)}
    if key not in by_name:
        raise ValueError(f"Unknown parameter '{key}'. Known: {', '.join(by_name)}.")
    return _convert(by_name[key], text)


def _convert(k: Mapping[str, Any], text: str) -> Any:
    kind = k["type"]
    text = str(text).strip()
    try:
        if kind is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError
        if kind is int:
            return int(text.replace("_", ""))
        if kind is float:
            return float(text)
    except ValueError:
        noun = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise ValueError(f"{knob_label(k)} must be {noun}, got '{text}'.") from None
    return text

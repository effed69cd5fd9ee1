"""The Experiment contract: frozen params with validation → ``run(...)`` → ``Result(metrics, frames, notes)``.

Every lab exposes its experiments this way so the page, the CLI (``python -m labs``), the tests and the
benchmarks call one thing. A params dataclass declares each knob with :func:`knob` (default, range,
unit, help); :func:`check_ranges` enforces those limits in ``__post_init__`` with messages a learner can
act on, and :func:`params_from_strings` turns ``--set key=value`` text into a validated params object.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from labs.core.measures import Measure, describe


def knob(default: Any, *, help: str, min: float | None = None, max: float | None = None,
         unit: str = "", choices: tuple | None = None, label: str | None = None) -> Any:
    """A params field with the metadata pages and the CLI need (range, unit, help, choices)."""
    meta = {"help": help, "min": min, "max": max, "unit": unit, "choices": choices, "label": label}
    return field(default=default, metadata=meta)


def check_ranges(params: Any) -> None:
    """Validate every knob of a params dataclass against its declared type, range and choices."""
    hints = typing.get_type_hints(type(params))
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        meta = f.metadata
        kind = hints.get(f.name)
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{f.name} must be a number, got {value!r}.")
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{f.name} must be a whole number, got {value}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number, got {value}.")
        unit = f" {meta.get('unit')}" if meta.get("unit") else ""
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None and value < lo or hi is not None and value > hi:
            raise ValueError(f"{f.name} must be between {lo} and {hi}{unit}, got {value}.")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ValueError(f"{f.name} must be one of {', '.join(map(str, choices))}; got {value!r}.")


@dataclass
class Result:
    """What an experiment returns: headline numbers, tables for charts/CSV, and what was real or simulated."""

    metrics: dict[str, float | int | str]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": {k: _plain(v) for k, v in self.metrics.items()},
            "frames": {name: json.loads(df.to_json(orient="records")) for name, df in self.frames.items()},
            "notes": list(self.notes),
        }

    def write_csv(self, folder: str | Path) -> list[Path]:
        """One CSV per frame (``<name>.csv``) plus ``metrics.csv``; returns the files written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.frames.items():
            paths.append(folder / f"{name}.csv")
            df.to_csv(paths[-1], index=False)
        paths.append(folder / "metrics.csv")
        pd.DataFrame([{"metric": k, "value": v} for k, v in self.metrics.items()]).to_csv(paths[-1], index=False)
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

    def wrap(run: Callable[..., Result]) -> Callable[..., Result]:
        REGISTRY[name] = Experiment(name, title, summary, params, run, page, dict(measures or {}))
        return run

    return wrap


def knobs(params_cls: type) -> list[dict[str, Any]]:
    """Each knob of a params class: name, type, default, help, min, max, unit, choices."""
    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        out.append({"name": f.name, "type": hints.get(f.name), "default": f.default, **f.metadata})
    return out


def params_from_strings(params_cls: type, values: dict[str, str]) -> Any:
    """Build validated params from text (CLI ``--set k=v``, URL query params); ValueError if wrong."""
    by_name = {k["name"]: k for k in knobs(params_cls)}
    converted: dict[str, Any] = {}
    for key, text in values.items():
        if key not in by_name:
            raise ValueError(f"Unknown parameter '{key}'. Known: {', '.join(by_name)}.")
        kind = by_name[key]["type"]
        converted[key] = _convert(key, kind, text)
    return params_cls(**converted)


def parse_value(params_cls: type, key: str, text: str) -> Any:
    """One knob's value from text (a URL query param), typed like the knob; ValueError if it is not."""
    by_name = {k["name"]: k for k in knobs(params_cls)}
    if key not in by_name:
        raise ValueError(f"Unknown parameter '{key}'. Known: {', '.join(by_name)}.")
    return _convert(key, by_name[key]["type"], text)


def _convert(key: str, kind: Any, text: str) -> Any:
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
        raise ValueError(f"{key} must be {noun}, got '{text}'.") from None
    return text

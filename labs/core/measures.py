"""What a number means: the label in words, the unit, how to print it, and whether it is a headline.

A params field gets its metadata from :func:`labs.core.experiment.knob`; a result's metric or a table's
column gets it from :func:`measure`. An experiment declares its measures when it registers::

    @register("first-read", ..., measures={
        "hit_median_us": measure("Cache hit, median", "µs", help="Redis GET round trip ...", headline=True),
        "*: hit_ratio": measure("Hit ratio — {0}", "fraction"),     # a pattern: {0} is what * matched
    })

One formatter (:func:`format_value`) prints a value with its unit for tiles, tables, challenge verdicts,
CSV/JSON headers and the CLI, so "0.64538" reads "64.5 %" everywhere. :data:`COMMON` holds the columns
many experiments share (the command transcript, for one); an experiment's own entries win over it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

# unit -> kind of value. Fractions are stored 0..1 and shown as percent; "%" values are stored as percent.
UNITS: dict[str, str] = {
    "fraction": "percent", "%": "percent", "pp": "points",
    "×": "ratio",
    "ns": "time", "µs": "time", "ms": "time", "s": "time", "min": "time", "h": "time", "days": "time",
    "bytes": "bytes", "KB": "size", "MB": "size", "GB": "size", "GiB": "size", "bytes/key": "size",
    "$": "money", "$/month": "money", "$/h": "money", "$/day": "money",
    "req/s": "rate", "/s": "rate", "keys/s": "rate", "ops/s": "rate", "messages/s": "rate",
    "keys": "count", "requests": "count", "reads": "count", "writes": "count", "queries": "count",
    "entries": "count", "messages": "count", "tokens": "count", "threads": "count", "commands": "count",
    "elements": "count", "samples": "count", "count": "count", "hits": "count", "calls": "count",
    "rank": "count", "seconds": "count",
    "": "number", "text": "text", "yes/no": "flag", "similarity": "number", "distance": "number",
}


@dataclass(frozen=True)
class Measure:
    """Metadata of one metric or table column."""

    label: str             # words a learner reads, e.g. "Cache hit, median"
    unit: str = ""         # a key of UNITS
    fmt: str | None = None  # a format spec for the number (e.g. ",.2f"); None = the unit's default
    help: str = ""         # one line: what it is and how it was obtained
    headline: bool = False  # shown as a tile (at most a few per run); the rest go in a table

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r} for {self.label!r}; known: {', '.join(UNITS)}")
        if not self.label or "_" in self.label and " " not in self.label:
            raise ValueError(f"label {self.label!r} must be words, not an identifier")

    @property
    def heading(self) -> str:
        """The label with its unit, for a table header or a CSV column: "Cache hit, median (µs)"."""
        shown = {"fraction": "%", "text": "", "yes/no": "", "": "", "similarity": "", "count": ""}.get(
            self.unit, self.unit)
        return f"{self.label} ({shown})" if shown else self.label

    def format(self, value: Any) -> str:
        return format_value(value, self)


def measure(label: str, unit: str = "", *, help: str = "", headline: bool = False, fmt: str | None = None) -> Measure:
    """Declare a metric's or column's metadata (see the module docstring)."""
    return Measure(label, unit, fmt, help, headline)


_DEFAULT_FMT = {"percent": ".1f", "points": "+.1f", "ratio": ",.2f", "time": ",.3g", "size": ",.2f",
                "money": ",.2f", "rate": ",.0f", "count": ",.0f", "number": ",.4g"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,.0f} bytes" if float(n).is_integer() else f"{n:,.1f} bytes"


def format_value(value: Any, m: Measure | None) -> str:
    """``value`` as a learner reads it, with its unit: "64.5 %", "1.44 MB", "3.82×", "$12.30/month"."""
    if m is None:
        return str(value)
    kind = UNITS[m.unit]
    if kind == "flag" or isinstance(value, bool):
        return "yes" if value else "no"
    number = _number(value)
    if kind == "text" or number is None:
        return "—" if value is None else str(value)
    if math.isnan(number):
        return "—"
    if math.isinf(number):
        return "unbounded" if number > 0 else "−unbounded"
    spec = m.fmt or _DEFAULT_FMT.get(kind, ",.4g")
    if kind == "percent":
        return f"{(number * 100 if m.unit == 'fraction' else number):{spec}} %"
    if kind == "points":
        return f"{number:{spec}} pp"
    if kind == "ratio":
        return f"{number:{spec}}×"
    if kind == "bytes":
        return _bytes(number) if m.fmt is None else f"{number:{spec}} bytes"
    if kind == "money":
        sign, amount = ("−", -number) if number < 0 else ("", number)
        tail = m.unit[1:]
        return f"{sign}${amount:{spec}}{tail}"
    if kind == "count" and m.unit not in ("count", "rank"):
        word = m.unit[:-1] if number == 1 and m.unit.endswith("s") else m.unit
        return f"{number:{spec}} {word}"
    if kind in ("count", "number"):
        return f"{number:{spec}}"
    return f"{number:{spec}} {m.unit}"


# Columns many experiments share.
COMMON: dict[str, Measure] = {
    "command": measure("Command", "text", help="What the lab sent, in redis-cli form, without your key prefix."),
    "reply": measure("Reply", "text", help="What the server answered."),
    "latency_us": measure("Round trip", "µs", help="Measured time from sending the command to its reply."),
}


def describe(measures: Mapping[str, Measure], key: str) -> Measure | None:
    """The measure for ``key``: an exact entry, else the first pattern that matches (``{0}``, ``{1}`` … in
    its label are filled with what each ``*`` matched), else :data:`COMMON`, else None."""
    if key in measures:
        return measures[key]
    for pattern, m in measures.items():
        if "*" in pattern:
            parts = _wildcards(pattern, key)
            if parts is not None:
                return replace(m, label=m.label.format(*parts)) if "{" in m.label else m
    return COMMON.get(key)


def _wildcards(pattern: str, key: str) -> list[str] | None:
    """What each ``*`` of a glob pattern matched in ``key``, or None when it does not match."""
    regex = "".join("(.*?)" if ch == "*" else re.escape(ch) for ch in pattern)
    match = re.fullmatch(regex, key)
    return list(match.groups()) if match else None

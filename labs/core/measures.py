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
    "bytes/element": "size", "bytes/conversation": "size", "GB/day": "size",
    "$": "money", "$/month": "money", "$/h": "money", "$/day": "money",
    "req/s": "rate", "/s": "rate", "keys/s": "rate", "ops/s": "rate", "messages/s": "rate",
    "misses/s": "rate", "queries/s": "rate", "recomputes/s": "rate", "lookups/s": "rate",
    "keys": "count", "requests": "count", "reads": "count", "writes": "count", "queries": "count",
    "entries": "count", "messages": "count", "tokens": "count", "threads": "count", "commands": "count",
    "elements": "count", "samples": "count", "count": "count", "hits": "count", "calls": "count",
    "rank": "count", "seconds": "count", "fields": "count", "jobs": "count", "users": "count",
    "players": "count", "points": "count", "updates": "count", "recomputes": "count", "misses": "count",
    "evictions": "count", "expiries": "count", "flushes": "count", "loops": "count", "cycles": "count",
    "conversations": "count", "turns": "count", "interleavings": "count", "answers": "count",
    "round trips": "count", "lookups": "count", "words": "count",
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
    def shown_unit(self) -> str:
        """The unit as a heading shows it: fractions read as %, counts and text need none."""
        return _SHOWN_UNIT.get(self.unit, self.unit)

    @property
    def heading(self) -> str:
        """The label with its unit, for a table header: "Cache hit, median (µs)" — but "Stale reads", not
        "Stale reads (reads)": a count whose unit the label already says needs no parentheses."""
        shown = self.shown_unit
        if UNITS[self.unit] == "count" and shown.lower() in self.label.lower().replace("-", " ").split():
            shown = ""
        return f"{self.label} ({shown})" if shown else self.label

    @property
    def csv_heading(self) -> str:
        """The header of a CSV column or a JSON field: like :attr:`heading`, but a fraction says it is
        stored 0–1 (the file holds the raw number, not the percent a page shows)."""
        return f"{self.label} (fraction, 0-1)" if self.unit == "fraction" else self.heading

    @property
    def column_format(self) -> str | None:
        """How a table column prints its numbers (a Streamlit NumberColumn format), or None for text."""
        kind = UNITS[self.unit]
        if kind in ("text", "flag"):
            return None
        if self.unit == "fraction":
            return "percent"
        if self.fmt:
            return _printf(self.fmt)
        return {"points": "%+.2f", "ratio": "%,.2f", "percent": "%.1f"}.get(kind, "localized")

    def format(self, value: Any) -> str:
        return format_value(value, self)


_SHOWN_UNIT = {"fraction": "%", "text": "", "yes/no": "", "": "", "similarity": "", "count": "", "rank": ""}


def measure(label: str, unit: str = "", *, help: str = "", headline: bool = False, fmt: str | None = None) -> Measure:
    """Declare a metric's or column's metadata (see the module docstring)."""
    return Measure(label, unit, fmt, help, headline)


_DEFAULT_FMT = {"percent": ".1f", "points": "+.1f", "ratio": ",.2f", "size": ",.2f", "money": ",.2f"}


def _printf(spec: str) -> str:
    """A Python format spec (",.2f") as the printf one tables use ("%,.2f")."""
    return "%" + spec if spec[-1:] in "fdge" else "localized"


def readable(number: float, digits: int = 3) -> str:
    """``number`` with ``digits`` significant digits, never in scientific notation: 3,522 · 46.5 · 0.0412."""
    if number == 0:
        return "0"
    if abs(number) >= 10 ** (digits - 1):
        return f"{number:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(abs(number)))
    return f"{number:,.{decimals}f}"


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


def _plain_number(number: float, kind: str, spec: str | None) -> str:
    if spec:
        return f"{number:{spec}}"
    if number.is_integer() and kind in ("count", "time", "rate", "number"):
        return f"{number:,.0f}"
    if kind in ("percent", "points", "ratio", "size", "money"):
        return f"{number:{_DEFAULT_FMT[kind]}}"
    return readable(number, 4 if kind == "number" else 3)


def format_value(value: Any, m: Measure | None) -> str:
    """``value`` as a learner reads it, with its unit: "64.5 %", "1.44 MB", "3.82×", "$12.30/month"."""
    if m is None:
        if isinstance(value, float):
            return readable(value, 4)
        return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
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
    if kind == "percent":
        return f"{_plain_number(number * 100 if m.unit == 'fraction' else number, kind, m.fmt)} %"
    if kind == "bytes" and m.fmt is None:
        return _bytes(number)
    if kind == "money":
        sign, amount = ("−", -number) if number < 0 else ("", number)
        shown = _plain_number(amount, kind, m.fmt) if amount >= 0.01 or amount == 0 else readable(amount, 2)
        return f"{sign}${shown}{m.unit[1:]}"
    text = _plain_number(number, kind, m.fmt)
    if kind == "points":
        return f"{text} pp"
    if kind == "ratio":
        return f"{text}×"
    if kind == "count" and m.unit not in ("count", "rank"):
        word = m.unit[:-1] if number == 1 and m.unit.endswith("s") else m.unit
        return f"{text} {word}"
    if kind in ("count", "number"):
        return text
    return f"{text} {m.unit}"


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


def headings(columns: Any, measures: Mapping[str, Measure]) -> dict[str, str]:
    """Each column's header in words with its unit; an undeclared column keeps its name."""
    out = {}
    for column in columns:
        m = describe(measures, str(column))
        out[column] = m.heading if m else str(column)
    return out


def csv_frame(frame: Any, measures: Mapping[str, Measure]) -> Any:
    """``frame`` with CSV headers in words (fractions say they are stored 0–1); values unchanged."""
    names = {}
    for column in frame.columns:
        m = describe(measures, str(column))
        names[column] = m.csv_heading if m else str(column)
    return frame.rename(columns=names)

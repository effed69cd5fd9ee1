"""What a TTL saves: illustrative node prices and a lease planner, on the measured memory model.

RAM is the expensive part of a cache, and a key without a TTL is rent paid forever on data nobody
reads. A TTL is a *lease*: short for volatile data (API responses, real-time counters), medium for
sessions and conversation history. This module answers "how much memory, and which node, with and
without leases?" with two parts on top of the memory model (:mod:`labs.ttl.memory`, bytes per key
measured on a private server):

* prices — ``data/node_prices.csv``: ILLUSTRATIVE ElastiCache on-demand rates (us-east-1, dated, with
  their source in every row); ElastiCache Serverless bills stored data in GB-hours.
* the lease planner — SIMULATED by computation on a virtual clock (no key is written): live keys per
  data class (Little's law: L = λ·W), bytes (the memory model), hit ratio (Monte-Carlo re-reads under
  cache-aside), and the node that fits the peak, with TTLs and without.

Sources: Little, "A proof for the queuing formula L = λW" (Operations Research, 1961); AWS ElastiCache
docs "Choosing your node size" (``reserved-memory-percent`` defaults to 25 %).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labs.core.experiment import Result, check_ranges, knob, label_of, register
from labs.core.measures import measure
from labs.ttl.memory import DEFAULT_MODEL, MemoryModel

PAGE = "app_pages/ttl_cost.py"
HOURS_PER_MONTH = 730  # the convention AWS's pricing calculator uses
GIB = 2 ** 30
PRICES_PATH = Path(__file__).resolve().parents[2] / "data" / "node_prices.csv"

# ElastiCache Serverless data storage, $ per GB-hour, us-east-1. Source: usage.ai "ElastiCache Serverless
# pricing" (June 2026), quoting the AWS Database Blog "Unlock on-demand, cost-optimized performance with
# Amazon ElastiCache Serverless" for Redis OSS; minimum metered storage 1 GB (Redis OSS) / 100 MB (Valkey)
# per aws.amazon.com/elasticache/pricing. ILLUSTRATIVE: check the pricing page before deciding anything.
SERVERLESS_USD_PER_GB_HOUR = {"Redis OSS": 0.125, "Valkey": 0.084}
SERVERLESS_MIN_GB = {"Redis OSS": 1.0, "Valkey": 0.1}
SERVERLESS_SOURCE = ("illustrative, us-east-1, as of 2026-06: usage.ai ElastiCache Serverless pricing guide "
                     "citing the AWS Database Blog")


# --------------------------------------------------------------------------- prices

def load_prices(path: str | Path | None = None) -> pd.DataFrame:
    """The node price table (illustrative, dated), sorted by memory."""
    df = pd.read_csv(path or PRICES_PATH)
    missing = {"node_type", "memory_gib", "usd_per_hour", "family", "as_of", "source"} - set(df.columns)
    if missing:
        raise ValueError(f"price table {path or PRICES_PATH} lacks columns: {', '.join(sorted(missing))}")
    return df.sort_values(["memory_gib", "usd_per_hour"]).reset_index(drop=True)


def usable_bytes(row: Any, reserved_fraction: float = 0.25) -> float:
    return float(row["memory_gib"]) * GIB * (1 - reserved_fraction)


def node_for(bytes_needed: float, prices: pd.DataFrame, reserved_fraction: float = 0.25) -> pd.Series | None:
    """The cheapest node whose memory × (1 − reserved_fraction) holds ``bytes_needed`` (ties: less memory).

    In this table the cheapest fitting node is also the smallest, except where a general-purpose node
    has slightly less memory than a cheaper memory-optimized one (m7g.xlarge 12.93 GiB at 0.315 $/h vs
    r7g.large 13.07 GiB at 0.219 $/h): paying more for less memory is never the plan, so price wins.
    None when no node is big enough.
    """
    if not 0 <= reserved_fraction < 1:
        raise ValueError(f"reserved_fraction must be in [0, 1), got {reserved_fraction}.")
    fits = prices[prices.memory_gib * GIB * (1 - reserved_fraction) >= bytes_needed]
    if fits.empty:
        return None
    return fits.sort_values(["usd_per_hour", "memory_gib"]).iloc[0]


def monthly_cost(row: Any) -> float:
    """On-demand $ per month: ``usd_per_hour × 730``."""
    return float(row["usd_per_hour"]) * HOURS_PER_MONTH


def serverless_monthly(gb: float, usd_per_gb_hour: float | None = None, engine: str = "Redis OSS",
                       hours: float = HOURS_PER_MONTH) -> float:
    """ElastiCache Serverless storage cost for ``gb`` stored on average over ``hours`` (no ECPU charges)."""
    rate = SERVERLESS_USD_PER_GB_HOUR[engine] if usd_per_gb_hour is None else usd_per_gb_hour
    return max(gb, SERVERLESS_MIN_GB.get(engine, 0.0)) * rate * hours


# --------------------------------------------------------------------------- data classes

@dataclass(frozen=True)
class DataClass:
    """One kind of cached data: how fast keys arrive, their size, their lease and how they are re-read."""

    name: str
    keys_per_s: float
    key_bytes: int
    value_bytes: int
    ttl_s: float          # 0 = no TTL
    reads_per_key: float  # mean re-reads per key (Poisson) during its useful life
    useful_life_s: float  # how long after it is written the data is still read


# ILLUSTRATIVE workloads after the course's argument: short leases for volatile data, medium ones for
# conversation history. Rates and sizes are assumptions to edit, not measurements.
PRESETS = (
    DataClass("API responses", 50, 40, 2_000, 60, 20, 600),
    DataClass("user sessions", 5, 48, 1_000, 1_800, 30, 1_800),
    DataClass("real-time analytics", 200, 32, 200, 10, 5, 10),
    DataClass("conversation history", 1, 48, 20_000, 86_400, 10, 86_400),
)
_FIELDS = {"name": str, "keys_per_s": float, "key_bytes": int, "value_bytes": int, "ttl_s": float,
           "reads_per_key": float, "useful_life_s": float}
_LIMITS = {"keys_per_s": (1e-6, 1e6), "key_bytes": (1, 65_536), "value_bytes": (0, 512 * 2 ** 20),
           "ttl_s": (0, 365 * 86_400), "reads_per_key": (0, 1_000), "useful_life_s": (1e-3, 365 * 86_400)}


def presets_json() -> str:
    return json.dumps([asdict(c) for c in PRESETS])


def parse_classes(text: str) -> list[DataClass]:
    """Parse the planner's JSON rows; ValueError naming the row and field when something is wrong."""
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"classes is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(rows, list) or not rows:
        raise ValueError("classes must be a JSON list with at least one row, e.g. "
                         '[{"name": "sessions", "keys_per_s": 5, ...}].')
    out, seen = [], set()
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ValueError(f"Row {i} must be a JSON object with fields {', '.join(_FIELDS)}; got {row!r}.")
        label = f"Row {i}" + (f" ({row['name']!r})" if isinstance(row.get("name"), str) else "")
        unknown = set(row) - set(_FIELDS)
        if unknown:
            raise ValueError(f"{label}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(_FIELDS)}.")
        values: dict[str, Any] = {}
        for field_name, kind in _FIELDS.items():
            if field_name not in row:
                raise ValueError(f"{label}: field '{field_name}' is missing.")
            value = row[field_name]
            if kind is str:
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{label}: field 'name' must be a non-empty text.")
                values[field_name] = value.strip()
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{label}: field '{field_name}' must be a number, got {value!r}.")
            if kind is int and float(value) != int(value):
                raise ValueError(f"{label}: field '{field_name}' must be a whole number of bytes, got {value}.")
            lo, hi = _LIMITS[field_name]
            if not lo <= value <= hi:
                raise ValueError(f"{label}: field '{field_name}' must be between {lo:g} and {hi:g}, got {value}.")
            values[field_name] = kind(value)
        if values["name"] in seen:
            raise ValueError(f"{label}: the name {values['name']!r} is used twice; names must differ.")
        seen.add(values["name"])
        out.append(DataClass(**values))
    return out


# --------------------------------------------------------------------------- the planner (simulated)

def residency(cls: DataClass, rng: np.random.Generator, samples: int | None = None) -> dict[str, Any]:
    """Monte-Carlo cache-aside life of ``samples`` keys of one class, each written at age 0.

    Reads come at Poisson times over the useful life (count ~ Poisson(reads_per_key), times uniform).
    A read before the lease runs out is a hit; after, a miss that refills the key with a fresh TTL
    (cache-aside; a GET does not extend the lease). Returns the residency intervals (ages, seconds),
    hits and misses. With no TTL the key stays forever: one interval [0, ∞).
    """
    samples = samples or int(max(200, min(2_000, 100_000 // (cls.reads_per_key + 1))))
    counts = rng.poisson(cls.reads_per_key, samples)
    starts, ends, hits, misses = [], [], 0, 0
    for count in counts:
        reads = np.sort(rng.uniform(0, cls.useful_life_s, count))
        if cls.ttl_s <= 0:
            starts.append(0.0), ends.append(math.inf)
            hits += int(count)
            continue
        start, expires = 0.0, cls.ttl_s
        for t in reads:
            if t < expires:
                hits += 1
            else:
                misses += 1
                starts.append(start), ends.append(expires)
                start, expires = float(t), float(t) + cls.ttl_s
        starts.append(start), ends.append(expires)
    return {"samples": samples, "starts": np.array(starts), "ends": np.array(ends), "hits": hits, "misses": misses}


def live_keys(cls: DataClass, life: dict[str, Any], t: np.ndarray) -> np.ndarray:
    """Expected live keys at times ``t`` when keys arrive at ``keys_per_s`` from time 0.

    A key written at s is live at t if its age t − s is inside a residency interval, so
    live(t) = λ · (1/M) Σ_intervals |[start, end) ∩ [0, t)| — which tends to λ × mean resident time
    per key (Little's law, L = λW); with no TTL it is λ·t, growing without bound.
    """
    # Σ max(0, min(e, t) − s) = Σ_{s<t} (t − s) − Σ_{e<t} (t − e), with sorted prefix sums: O((n + T) log n).
    starts = np.sort(life["starts"])
    ends = np.sort(life["ends"][np.isfinite(life["ends"])])
    cum_s, cum_e = np.concatenate(([0.0], np.cumsum(starts))), np.concatenate(([0.0], np.cumsum(ends)))
    k, m = np.searchsorted(starts, t, "left"), np.searchsorted(ends, t, "left")
    covered = (k * t - cum_s[k]) - (m * t - cum_e[m])
    return cls.keys_per_s * covered / life["samples"]


def plan(classes: list[DataClass], horizon_h: float = 24, step_min: float = 15, model: MemoryModel = DEFAULT_MODEL,
         maxmemory_bytes: float = 0, seed: int = 7) -> dict[str, Any]:
    """Simulate every class on a virtual clock; return the timeline, per-class table and totals."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, horizon_h * 3600, int(round(horizon_h * 60 / step_min)) + 1)
    timeline, rows = [], []
    total = np.zeros_like(t)
    no_ttl_bytes = 0.0
    no_ttl_rate = 0.0  # bytes per second the same data adds when nothing ever expires
    for cls in classes:
        life = residency(cls, rng)
        per_key = model.bytes_per_key(cls.key_bytes, cls.value_bytes, cls.ttl_s > 0)
        keys = live_keys(cls, life, t)
        total += keys * per_key
        timeline.append(pd.DataFrame({"t_h": t / 3600, "class": cls.name, "keys": keys, "bytes": keys * per_key}))
        mean_resident = float(np.sum(life["ends"] - life["starts"]) / life["samples"])
        steady = cls.keys_per_s * mean_resident  # inf without a TTL
        reads = life["hits"] + life["misses"]
        # live(t) stops changing once t passes the longest residency: the class is steady from then on
        steady_after = float(life["ends"].max()) if len(life["ends"]) else 0.0
        rows.append({"class": cls.name, "ttl_s": cls.ttl_s, "steady_after_h": steady_after / 3600, "steady_keys": steady,
                     "steady_bytes": steady * per_key, "keys_at_horizon": float(keys[-1]),
                     "bytes_at_horizon": float(keys[-1] * per_key), "bytes_per_key": per_key,
                     "hit_ratio": life["hits"] / reads if reads else math.nan, "sampled_keys": life["samples"]})
        no_ttl_bytes += cls.keys_per_s * t[-1] * model.bytes_per_key(cls.key_bytes, cls.value_bytes, False)
        no_ttl_rate += cls.keys_per_s * model.bytes_per_key(cls.key_bytes, cls.value_bytes, False)
    no_ttl_total = no_ttl_rate * t
    if maxmemory_bytes > 0:
        total = np.minimum(total, maxmemory_bytes)
        no_ttl_bytes = min(no_ttl_bytes, maxmemory_bytes)
        no_ttl_total = np.minimum(no_ttl_total, maxmemory_bytes)
    totals = pd.concat([pd.DataFrame({"t_h": t / 3600, "data": "with your TTLs", "bytes": total}),
                        pd.DataFrame({"t_h": t / 3600, "data": "same data without TTLs", "bytes": no_ttl_total})],
                       ignore_index=True)
    frame = pd.DataFrame(rows)
    share = frame.bytes_at_horizon / frame.bytes_at_horizon.sum() if frame.bytes_at_horizon.sum() else 0.0
    frame["share_of_cost"] = share
    return {"timeline": pd.concat(timeline, ignore_index=True), "totals": totals, "classes": frame,
            "peak_bytes": float(total.max()),
            "steady_bytes": float(frame.steady_bytes.sum()), "no_ttl_bytes": float(no_ttl_bytes), "t": t, "total": total}


# --------------------------------------------------------------------------- experiment

@dataclass(frozen=True)
class LeaseParams:
    classes: str = knob(presets_json(), label="data classes (JSON)",
                        help="One row per kind of data: name, keys_per_s, key_bytes, value_bytes, ttl_s (0 = no "
                             "TTL), reads_per_key, useful_life_s.")
    horizon_h: float = knob(48.0, min=1, max=24 * 90, unit="h", label="horizon",
                            help="How long to simulate; longer than the longest lease, so every class settles.")
    step_min: float = knob(15.0, min=1, max=1440, unit="min", label="time step", help="Timeline resolution.")
    reserved_fraction: float = knob(0.25, min=0, max=0.9, label="reserved memory",
                                    help="Share of a node's memory kept for overhead (ElastiCache default 25 %).")
    maxmemory_gb: float = knob(0.0, min=0, max=10_000, unit="GB", label="maxmemory",
                               help="Cap on cache memory (0 = unlimited); past it the server must evict or refuse.")
    seed: int = knob(7, min=0, max=2**31 - 1, help="Seed of the simulated re-reads.")

    def __post_init__(self) -> None:
        check_ranges(self)
        parse_classes(self.classes)
        if self.horizon_h * 60 / self.step_min > 5_000:
            raise ValueError(f"{label_of(self, 'horizon_h')} ÷ {label_of(self, 'step_min')} gives "
                             f"{self.horizon_h * 60 / self.step_min:,.0f} points; use a longer "
                             f"{label_of(self, 'step_min').lower()} (at most 5,000 points).")


def _node_label(row: pd.Series | None, prices: pd.DataFrame) -> tuple[str, float]:
    if row is None:
        return f"none fits (largest: {prices.iloc[-1].node_type})", math.nan
    return str(row["node_type"]), monthly_cost(row)


PLANNER_MEASURES = {
    "steady_memory_gb": measure("Steady memory with TTLs", "GB", headline=True,
                                help="Little's law, L = λW: what memory settles at once every class is steady."),
    "peak_memory_gb": measure("Peak memory within the horizon", "GB", help="The largest total the timeline reached."),
    "steady_after_h": measure("Memory settles after", "h", headline=True,
                              help="When the slowest class stops growing; past the horizon, peak is not steady yet."),
    "no_ttl_memory_gb": measure("Memory without TTLs at the horizon", "GB", headline=True,
                                help="And still growing: nothing ever leaves."),
    "node_with_ttls": measure("Node with TTLs", "text", help="The cheapest node whose usable memory holds the peak."),
    "usd_per_month_with_ttls": measure("Node cost with TTLs", "$/month", headline=True, help="On demand, illustrative."),
    "node_without_ttls": measure("Node without TTLs", "text"),
    "usd_per_month_without_ttls": measure("Node cost without TTLs", "$/month", headline=True),
    "savings_ratio": measure("Cost without TTLs ÷ with", "×", headline=True),
    "serverless_usd_per_month_with_ttls": measure("Serverless storage, with TTLs", "$/month",
                                                  help="ElastiCache Serverless data storage only (illustrative)."),
    "serverless_usd_per_month_without_ttls": measure("Serverless storage, without TTLs", "$/month"),
    "t_h": measure("Time", "h", help="On the planner's virtual clock."), "class": measure("Data class", "text"),
    "keys": measure("Live keys", "keys"), "bytes": measure("Memory", "bytes"), "data": measure("Data", "text"),
    "ttl_s": measure("TTL", "s", help="0 = no TTL."),
    "steady_keys": measure("Steady live keys", "keys", help="λ × mean time a key stays cached (∞ without a TTL)."),
    "steady_bytes": measure("Steady memory", "bytes"),
    "keys_at_horizon": measure("Live keys at the horizon", "keys"),
    "bytes_at_horizon": measure("Memory at the horizon", "bytes"),
    "bytes_per_key": measure("Memory per key", "bytes/key", help="From the memory model: overhead + name + value (+ TTL)."),
    "hit_ratio": measure("Hit ratio", "fraction", help="Re-reads that found the key, cache-aside (simulated)."),
    "sampled_keys": measure("Keys simulated", "keys"), "share_of_cost": measure("Share of memory", "fraction"),
    "node_type": measure("Node", "text"), "memory_gib": measure("Memory", "GiB"),
    "usd_per_hour": measure("Price", "$/h"), "family": measure("Family", "text"), "as_of": measure("Price as of", "text"),
    "source": measure("Source", "text"), "usable_gib": measure("Usable memory", "GiB"),
    "fits": measure("Fits with TTLs", "yes/no"), "fits_without_ttls": measure("Fits without TTLs", "yes/no"),
    "usd_per_month": measure("Price", "$/month"),
}


@register("lease-planner", title="Plan your leases",
          summary="How much memory each kind of data holds with a TTL and without, and what node it needs.",
          params=LeaseParams, page=PAGE, measures=PLANNER_MEASURES)
def run_planner(params: LeaseParams, *, backend: Any = None, ns: Any = None, log: Any = None,
                model: MemoryModel = DEFAULT_MODEL, prices: pd.DataFrame | None = None, **_: Any) -> Result:
    """SIMULATED: computed on a virtual clock, no key is written."""
    classes = parse_classes(params.classes)
    prices = load_prices() if prices is None else prices
    out = plan(classes, params.horizon_h, params.step_min, model, params.maxmemory_gb * 1e9, params.seed)
    with_row = node_for(out["peak_bytes"], prices, params.reserved_fraction)
    without_row = node_for(out["no_ttl_bytes"], prices, params.reserved_fraction)
    with_node, with_cost = _node_label(with_row, prices)
    without_node, without_cost = _node_label(without_row, prices)
    nodes = prices.copy()
    nodes["usable_gib"] = nodes.memory_gib * (1 - params.reserved_fraction)
    nodes["fits"] = nodes.usable_gib * GIB >= out["peak_bytes"]
    nodes["fits_without_ttls"] = nodes.usable_gib * GIB >= out["no_ttl_bytes"]
    nodes["usd_per_month"] = nodes.usd_per_hour * HOURS_PER_MONTH
    settles_h = float(out["classes"].steady_after_h.max()) if len(out["classes"]) else 0.0
    metrics = {"steady_memory_gb": out["steady_bytes"] / 1e9, "peak_memory_gb": out["peak_bytes"] / 1e9,
               "steady_after_h": settles_h, "no_ttl_memory_gb": out["no_ttl_bytes"] / 1e9, "node_with_ttls": with_node,
               "usd_per_month_with_ttls": with_cost, "node_without_ttls": without_node,
               "usd_per_month_without_ttls": without_cost,
               "savings_ratio": without_cost / with_cost if with_cost and not math.isnan(with_cost) else math.nan,
               "serverless_usd_per_month_with_ttls": serverless_monthly(out["peak_bytes"] / 1e9),
               "serverless_usd_per_month_without_ttls": serverless_monthly(out["no_ttl_bytes"] / 1e9)}
    notes = [f"SIMULATED on a virtual clock over {params.horizon_h:g} h: no key is written, whichever backend "
             "(embedded, sandbox or live) is selected. Live keys follow Little's law (L = λW); hit ratios are "
             f"Monte-Carlo over sampled keys (seed {params.seed}) with cache-aside refills on a miss.",
             f"Bytes per key from the memory model: {model.source}.",
             f"Prices are ILLUSTRATIVE on-demand rates, dated (as of {', '.join(sorted(prices.as_of.astype(str).unique()))}): "
             f"{prices.iloc[0].source.split(';')[0]}. One node, no replicas; check the AWS pricing page.",
             f"Serverless: data storage only, {SERVERLESS_USD_PER_GB_HOUR['Redis OSS']} $/GB-hour for Redis OSS "
             f"(Valkey {SERVERLESS_USD_PER_GB_HOUR['Valkey']}; {SERVERLESS_SOURCE}), priced at the peak size with "
             "TTLs and at the horizon size without; request charges (ECPUs) are not included.",
             "Without TTLs, memory grows by rate × bytes per key every second: at the horizon it is "
             f"{out['no_ttl_bytes'] / 1e9:,.2f} GB and keeps growing."]
    if math.isfinite(settles_h) and settles_h > params.horizon_h:
        notes.append(f"Not steady yet: the slowest class settles after {settles_h:,.1f} h, beyond the "
                     f"{params.horizon_h:g} h horizon, so the peak is still climbing. Simulate at least "
                     f"{math.ceil(settles_h):,} h to see steady memory.")
    forever = [c.name for c in classes if c.ttl_s <= 0]
    if forever:
        notes.append(f"No steady state: {', '.join(forever)} has no TTL, so its memory grows without bound "
                     "(steady memory is unbounded; the peak is the size at the horizon).")
    if params.maxmemory_gb > 0 and out["no_ttl_bytes"] >= params.maxmemory_gb * 1e9:
        notes.append(f"Capped at maxmemory ({params.maxmemory_gb:g} GB): past it the server evicts keys "
                     "(or refuses writes with noeviction) — the TTL-less data no longer fits.")
    return Result(metrics, {"timeline": out["timeline"], "totals": out["totals"], "classes": out["classes"],
                            "nodes": nodes}, notes)

"""Hot-key stampedes (thundering herds) and their defences: single-flight lock, XFetch, TTL jitter,
stale-while-revalidate — simulated on a virtual clock and run for real with threads.

Importing the package registers its experiments (no connection is opened).
"""
from labs.invalidation.stampede import experiments  # noqa: F401  (registers stampede-sim, stampede-real, xfetch-probability)
from labs.invalidation.stampede.strategies import (STRATEGIES, NoProtection, SingleFlight, StaleWhileRevalidate, XFetch,
                                      xfetch_early, xfetch_probability)

__all__ = ["STRATEGIES", "NoProtection", "SingleFlight", "StaleWhileRevalidate", "XFetch", "xfetch_early",
           "xfetch_probability", "experiments"]

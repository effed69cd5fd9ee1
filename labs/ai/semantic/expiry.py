"""An expired entry leaves the vector index by itself: store one with a short TTL and watch, in real time.

The server's index follows the keyspace: when Redis deletes an expired hash (lazily when it is touched, or by
the active expire cycle), the search module is notified and removes the document, so a KNN query stops
returning it without the lab dropping anything (redis.io "Indexing": documents are updated as the keys they
index change). The numpy index lives in the app and cannot be told: it keeps the vector until a lookup reads
the hash back, finds it gone and drops it — the hashes stay the truth either way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.core.backends import open_backend_for
from labs.core.experiment import Result, check_ranges, knob, register
from labs.core.measures import measure
from labs.core.namespace import Namespace, new_session_id
from labs.ai.semantic.embedder import Embedder, HashingEmbedder
from labs.ai.semantic.store import INDEXES, SemanticCache

PAGE = "app_pages/ai_cache.py"
PROMPT = "How long does a cached answer live?"
TENANT = "acme-co"


@dataclass(frozen=True)
class ExpiryParams:
    ttl_s: int = knob(2, min=1, max=5, unit="s", label="entry TTL", help="The entry's lease; the demo waits it out.")
    index: str = knob("auto", choices=INDEXES, label="vector index",
                      help="auto: the server's FLAT index where the server has search, else numpy in the app.")

    def __post_init__(self) -> None:
        check_ranges(self)


@register("semantic-expiry", title="An expired entry leaves the index",
          summary="One cache entry with a short TTL, searched every quarter second until it is gone: the server's "
                  "index forgets it by itself.",
          params=ExpiryParams, page=PAGE, measures={
              "gone_from_index_s": measure("Gone from the search after", "s", headline=True,
                                           help="Measured from the write; the TTL plus the server's expiry delay."),
              "key_gone_s": measure("Hash gone after", "s", headline=True, help="EXISTS returned 0 from then on."),
              "index": measure("Index that answered", "text"),
              "t_s": measure("Time since the write", "s", fmt=".2f"), "pttl_ms": measure("PTTL", "ms"),
              "key_exists": measure("EXISTS", "yes/no"),
              "returned_by_index": measure("Returned by the index", "yes/no",
                                           help="The raw KNN answer, before the cache reads the hash back."),
              "found": measure("Served by the cache", "yes/no", help="After reading the hash back."),
          })
def run_expiry(params: ExpiryParams, *, backend: Any = None, ns: Namespace | None = None,
               embedder: Embedder | None = None, **_: Any) -> Result:
    backend, opened = open_backend_for(backend)
    try:
        return _watch(params, backend, ns or Namespace(new_session_id()), embedder or HashingEmbedder(384))
    finally:
        for b in opened:
            b.close()


def _watch(p: ExpiryParams, backend: Any, ns: Namespace, embedder: Embedder) -> Result:
    cache = SemanticCache(backend.client, ns, embedder, index=p.index, caps=backend.caps, name="expiry", ttl_s=p.ttl_s)
    cache.clear()
    vector = embedder.embed([PROMPT])[0]
    key = cache.store(PROMPT, "As long as its TTL: a hit renews it.", TENANT, vector=vector)
    start, rows = time.monotonic(), []
    while True:
        t = time.monotonic() - start
        returned = any(k == key for k, _ in cache.index.search(vector, TENANT, 1))  # before touching the key:
        pttl = backend.client.pttl(key)  # reading an expired key makes the server delete it there and then
        exists = bool(backend.client.exists(key))
        served = any(n.key == key for n in cache.nearest(vector, TENANT, 1))  # read back from the hash
        rows.append({"t_s": t, "pttl_ms": pttl if pttl >= 0 else None, "key_exists": exists,
                     "returned_by_index": returned, "found": served})
        if (not exists and not returned) or t > p.ttl_s + 5:
            break
        time.sleep(0.25)
    frame = pd.DataFrame(rows)
    gone = frame[~frame.returned_by_index]
    key_gone = frame[~frame.key_exists]
    notes = [f"MEASURED on {backend.label}, in real time: one entry with a {p.ttl_s} s TTL, searched with the "
             f"{cache.index.kind} every 0.25 s." + (f" ({cache.index_note})" if cache.index_note else "")]
    if cache.index.kind.startswith("numpy"):
        notes.append("The numpy matrix in the app cannot know the hash expired: the index returns it until a lookup "
                     "reads the hash back, finds it gone and drops it.")
    else:
        notes.append("Nobody deleted anything from the index: the server removed the document when the hash expired.")
        late = frame[frame.returned_by_index & ~frame.key_exists]
        if len(late):
            notes.append(f"At {late.t_s.iloc[0]:.2f} s the index still returned the entry after its TTL had run out: "
                         "the server had not deleted the key yet (expiry is lazy, plus a periodic sweep). The cache "
                         "reads every match back from its hash, so it did not serve it.")
    metrics = {"gone_from_index_s": float(gone.t_s.iloc[0]) if len(gone) else float("nan"),
               "key_gone_s": float(key_gone.t_s.iloc[0]) if len(key_gone) else float("nan"),
               "index": cache.index.kind}
    return Result(metrics, {"timeline": frame}, notes)

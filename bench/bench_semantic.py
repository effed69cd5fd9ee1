"""Semantic-cache benchmarks, measured in one run (targets from issue 8):

1. first render of the AI-apps page in a fresh process (imports torch, loads all-MiniLM-L6-v2) and a
   second render — AppTest, sandbox backend;
2. process RSS with the model loaded, beside the app's libraries (target < 900 MB);
3. a full lookup — embed + search + read back — with 10,000 cached entries on the embedded server
   (target p50 ≤ 15 ms), and its parts;
4. the search alone over 100,000 entries (exact cosine KNN in numpy; target p50 ≤ 20 ms).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("LAB_BACKEND", "sandbox")

import numpy as np  # noqa: E402

from labs.ai.semantic.embedder import normalize  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def first_render() -> None:
    from streamlit.testing.v1 import AppTest

    torch_loaded = "torch" in sys.modules
    before = rss_mb()
    start = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    home = time.perf_counter() - start
    start = time.perf_counter()
    at.switch_page("app_pages/ai_cache.py").run()
    first = time.perf_counter() - start
    assert not at.exception, [e.value for e in at.exception]
    start = time.perf_counter()
    at.run()
    second = time.perf_counter() - start
    from labs.ai.semantic.embedder import default_embedder

    model = default_embedder()
    print(f"AI-apps page, first render {first:.1f} s (torch {'already' if torch_loaded else 'not yet'} imported; "
          f"of which torch + sentence-transformers import {getattr(model, 'import_s', float('nan')):.1f} s, "
          f"model load {getattr(model, 'load_s', float('nan')):.2f} s); second render {second:.2f} s "
          f"(home page before it: {home:.1f} s)")
    after = rss_mb()
    print(f"process RSS: {before:.0f} MB before, {after:.0f} MB with the app's libraries and the model loaded "
          f"(target < 900 MB; {after / 900:.2f} of it)")


def lookup_with_10k() -> None:
    from labs.core.backends import open_embedded
    from labs.core.namespace import Namespace
    from labs.ai.semantic.dataset import load_faq
    from labs.ai.semantic.embedder import default_embedder
    from labs.ai.semantic.store import SemanticCache

    model = default_embedder()
    backend = open_embedded(maxmemory="512mb")
    try:
        cache = SemanticCache(backend.client, Namespace("bench0001"), model, threshold=0.8, ttl_s=600)
        faq = load_faq()
        rng = np.random.default_rng(1)
        filler = normalize(rng.normal(size=(10_000 - 169, model.dims)))
        start = time.perf_counter()
        for i in range(0, len(filler), 1000):
            chunk = filler[i:i + 1000]
            cache.store_many([f"filler question {i + j}" for j in range(len(chunk))], ["filler"] * len(chunk),
                             "acme", vectors=chunk)
        canon = faq[faq.kind == "canonical"]
        cache.store_many(list(canon.question), list(canon.answer), "acme")
        filled = time.perf_counter() - start
        queries = list(faq[faq.kind == "paraphrase"].question[:200])
        totals, embeds, searches, cpu = [], [], [], []
        for q in queries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            look = cache.check(q, "acme")
            totals.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
            embeds.append(look.embed_ms / 1000)
            searches.append(look.search_ms / 1000)
        total = p50_ms(totals)
        print(f"lookup with {len(cache.index):,} cached entries on {backend.label} ({filled:.1f} s to store them): "
              f"p50 {total:.1f} ms = embed {p50_ms(embeds):.1f} ms + search and read-back {p50_ms(searches):.2f} ms "
              f"(target ≤ 15 ms; {total / 15:.2f} of it); p95 {np.percentile(totals, 95) * 1000:.1f} ms; "
              f"CPU time of this thread p50 {p50_ms(cpu):.1f} ms (the work itself, without waiting for a core)")
        cache.clear()
    finally:
        backend.close()


def search_100k() -> None:
    from labs.ai.semantic.store import NumpyIndex

    rng = np.random.default_rng(2)
    vectors = normalize(rng.normal(size=(100_000, 384)))
    index = NumpyIndex(384)
    start = time.perf_counter()
    index.add_many([f"k{i}" for i in range(len(vectors))], "acme", vectors)
    built = time.perf_counter() - start
    queries = normalize(rng.normal(size=(200, 384)))
    samples, cpu = [], []
    for q in queries:
        start, start_cpu = time.perf_counter(), time.process_time()
        index.search(q, "acme", 5)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    p50 = p50_ms(samples)
    print(f"search alone over {len(index):,} entries (numpy exact KNN, top 5; index built in {built:.1f} s): "
          f"p50 {p50:.1f} ms (target ≤ 20 ms; {p50 / 20:.2f} of it); p95 {np.percentile(samples, 95) * 1000:.1f} ms; "
          f"process CPU time p50 {p50_ms(cpu):.1f} ms (all BLAS threads)")


def main() -> None:
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          "(above the CPU count, every figure below includes waiting for a core)")
    first_render()
    lookup_with_10k()
    search_100k()


if __name__ == "__main__":
    main()

"""Semantic-cache page pieces: the model (loaded once per process, with its progress shown while it loads),
the query-stream recipe, the threshold evaluation view and the try-it box."""
from __future__ import annotations

import os
import random
import time
from typing import Any

import numpy as np
import pandas as pd
import redis
import streamlit as st

from labs.core import charts
from labs.core.backends import Backend, BackendError, classify_error
from labs.core.experiment import Result
from labs.ai.llm import LLMError, Pricing, llm_from_env
from labs.ai.semantic import evaluate
from labs.ai.semantic.dataset import DatasetError, embed_cached, load_faq
from labs.ai.semantic.embedder import (Embedder, Loading, ModelUnavailable, cosine_distance, default_embedder,
                                       model_problem)
from labs.ai.semantic.guard import contrast_guard
from labs.ai.semantic.store import INDEXES, NumpyIndex, SemanticCache
from ui.preload import loading, start_model_load
from ui.recipes import recipe, show_metrics
from ui.results import result_table, table
from ui.session import namespace
from ui.widgets import lesson

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
TENANTS = ("tenant-1", "tenant-2")


def _wait_for_model() -> None:
    """Start the model load if nobody has (the start-up preload may be off), and show its stage and the
    seconds so far until it is done — never a frozen page."""
    start_model_load()
    state = loading()
    if state is None:
        return
    bar = st.progress(0.0, text="Loading the embedding model…")
    while (state := loading()) is not None:
        bar.progress(state.step / Loading.STEPS,
                     text=f"Loading the embedding model all-MiniLM-L6-v2 (once per app process): {state.stage} — "
                          f"{state.elapsed_s:.0f} s so far, usually a few seconds…")
        time.sleep(0.25)
    bar.empty()


def _model() -> Embedder:
    _wait_for_model()
    return default_embedder()


@st.cache_data(show_spinner=False)
def _faq() -> pd.DataFrame:
    return load_faq()


def ready() -> tuple[Embedder, pd.DataFrame] | None:
    """The model and the dataset, or None after a message saying what is missing (never a traceback)."""
    problem = model_problem()
    if problem is None:
        try:
            embedder = _model()
        except ModelUnavailable as exc:
            problem = str(exc)
    if problem:
        st.warning(f"{problem} The rest of the course works without it. (On Streamlit Community Cloud the "
                   "CPU build of torch and ~600 MB of RAM are needed: see the README.)", icon=":material/memory:")
        return None
    try:
        return embedder, _faq()
    except DatasetError as exc:
        st.warning(str(exc), icon=":material/dataset:")
        return None


def threshold_slider(key: str, default: float) -> float:
    """A similarity slider with the same threshold in RedisVL's cosine-distance units beside it."""
    left, right = st.columns([3, 1])
    sim = left.slider("Similarity threshold (a hit needs similarity ≥ this)", 0.0, 1.0, float(default), 0.01, key=key,
                      help="Cosine similarity: 1 = same direction, 0 = unrelated.")
    right.metric("= cosine distance (RedisVL)", f"≤ {cosine_distance(sim):.2f}",
                 help="Redis and RedisVL thresholds are cosine DISTANCE = 1 − similarity, from 0 to 2.")
    return sim


# --------------------------------------------------------------------------- tab 1: the stream

def stream_tab(backend: Backend) -> None:
    lesson("ai_semantic_intro")
    if ready() is None:
        return
    recipe("semantic-stream", backend, extra=_stream_view, columns=4,
           show=("hit_rate", "wrong_answers", "precision", "llm_calls", "saved_usd", "embed_p50_ms",
                 "search_p50_ms", "p50_with_cache_ms"))


def _stream_view(result: Result, _params: Any) -> None:
    st.caption(f"Every search was answered by the **{result.metrics.get('index', 'numpy exact KNN')}**.")
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(result.frames["cumulative"], "query", "usd", "setup", x_title="question",
                                        y_title="LLM $ spent so far (simulated)"), width="stretch")
    right.plotly_chart(charts.latency_ecdf(result.frames["latency"], "ms", "setup", x_title="time per question (ms)"),
                       width="stretch")
    result_table(result, "by_kind")
    frame = result.frames["queries"]
    wrong = frame[frame.outcome == "hit, WRONG answer"]
    if len(wrong):
        st.markdown("**Wrong answers served** — the cached question was close enough, but meant something else:")
        table(wrong, result.measures, columns=["question", "nearest", "similarity", "tenant"])
    with st.expander("Every question of the stream"):
        result_table(result, "queries")


# --------------------------------------------------------------------------- tab 2: evaluation

def evaluation_tab(backend: Backend) -> None:
    lesson("ai_semantic_threshold")
    if ready() is None:
        return
    recipe("semantic-threshold", backend, extra=_evaluation_view, columns=4,
           show=("recommended_threshold", "recommended_distance", "test_precision", "test_hit_rate",
                 "test_precision_contrast_guard", "test_hit_rate_contrast_guard", "test_precision_both_guards",
                 "test_hit_rate_both_guards", "test_precision_at_half_hit_rate",
                 "test_precision_at_half_hit_rate_both_guards", "enable_vs_disable_2fa", "reset_vs_change_password"))


def _evaluation_view(result: Result, _params: Any) -> None:
    scored, swept = result.frames["scored"], result.frames["sweep"]
    rec = float(result.metrics["recommended_threshold"])
    st.markdown("**The threshold table** (test split, never used to choose a threshold)")
    result_table(result, "table", columns=["setting", "threshold", "distance", "guard", "kind", "queries", "hit_rate",
                                           "right_hits", "wrong_answers", "precision"])
    st.markdown("**Move the threshold** — everything below redraws from the stored scores, nothing is re-embedded.")
    sim = threshold_slider("semantic_eval_threshold", rec)
    guard = st.radio("Guard", evaluate.GUARDS, index=3, horizontal=True, key="semantic_eval_guard",
                     help="Contrast words: refuse a hit whose questions differ in enable/disable, add/remove … "
                          "Domain filter: only match entries of the question's own help section.")
    test = scored[scored.split == "test"]
    show_metrics({k: v for k, v in evaluate.rates(test, sim, guard).items()
                  if k in ("hit_rate", "precision", "wrong_answers", "f1")},
                 {"hit_rate": "Hit rate (test)", "precision": "Precision (test)",
                  "wrong_answers": "Wrong answers (test)", "f1": "F1 (test)"}, result=result)
    table(evaluate.by_kind(test, sim, guard), result.measures)
    left, right = st.columns(2)
    left.plotly_chart(charts.similarity_histogram(scored, sim), width="stretch")
    part = swept[(swept.split == "test") & (swept.guard == guard)]
    right.plotly_chart(charts.threshold_sweep(part, {"tutorial's 0.95": evaluate.SEED_THRESHOLD,
                                                     f"recommended {rec:.2f}": rec}), width="stretch")
    st.markdown("**Precision at the same hit rate** (test split, every threshold): a guard is worth having "
                "when its line sits above the others.")
    st.plotly_chart(charts.precision_vs_hit_rate(swept[swept.split == "test"]), width="stretch")
    result_table(result, "same_hit_rate")
    st.markdown("**A day of traffic** (the mix above; test-split rates; LLM price and latency simulated)")
    st.plotly_chart(charts.savings_vs_wrong(result.frames["economics"]), width="stretch")
    hard = test[test.kind == "hard_negative"].sort_values("similarity", ascending=False)
    st.markdown("**The hardest negatives** — closest to a cached question that means something else:")
    table(hard.head(15), result.measures, columns=["question", "nearest", "similarity", "guard_reason"])


# --------------------------------------------------------------------------- tab 3: try it

def _cache(backend: Backend, embedder: Embedder, faq: pd.DataFrame, index: str) -> SemanticCache:
    """This learner's try-it cache on this backend and index, pre-filled with the FAQ for both tenants."""
    key = f"semantic_try_cache_{backend.kind}_{backend.label}_{index}"
    cache = st.session_state.get(key)
    if cache is None:
        cache = SemanticCache(backend.client, namespace("semantic"), embedder, index=index, caps=backend.caps,
                              name="try")
        cache.load()
        st.session_state[key] = cache
    cache.bind(backend.client)
    canon = faq[faq.kind == "canonical"]
    short = isinstance(cache.index, NumpyIndex) and len(cache.index) < len(TENANTS) * len(canon)
    gone = not backend.client.exists(cache.entry_key(TENANTS[0], canon.question.iloc[0]))
    if short or gone:  # first use, or entries expired / reset since
        vectors, _ = embed_cached(embedder, list(canon.question))
        for tenant in TENANTS:
            cache.store_many(list(canon.question), list(canon.answer), tenant, vectors=vectors)
    return cache


def _simulated_answers(embedder: Embedder, faq: pd.DataFrame):
    vectors, _ = embed_cached(embedder, list(faq.question))

    def answer(question: str) -> str:
        sims = vectors @ embedder.embed([question])[0]
        best = int(np.argmax(sims))
        if sims[best] >= 0.75:
            return str(faq.answer.iloc[best])
        return f"(A simulated LLM's answer to: {question})"

    return answer


def try_tab(backend: Backend) -> None:
    lesson("ai_semantic_try")
    found = ready()
    if found is None:
        return
    embedder, faq = found
    sim = threshold_slider("semantic_try_threshold", 0.80)
    left, middle, right = st.columns([2, 3, 1])
    tenant = left.selectbox("Asked by", TENANTS, key="semantic_try_tenant",
                            help="Each tenant (customer) only ever matches its own cache entries.")
    index = middle.radio("Vector index", INDEXES, horizontal=True, key="semantic_try_index",
                         help="auto: the server's FLAT index when the server has search, else numpy in the app. "
                              "FLAT is exact, HNSW approximate; numpy is exact KNN inside this app.")
    guard = right.toggle("Contrast guard", value=True, key="semantic_try_guard")
    with st.form("semantic_try"):
        question = st.text_input("Your question", value="How can I change my password?", key="semantic_try_q")
        asked = st.form_submit_button("Ask", type="primary", icon=":material/send:")
    if asked:
        try:
            st.session_state["semantic_try_result"] = _ask(backend, embedder, faq, question, tenant, sim, guard, index)
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
        except LLMError as exc:
            st.error(str(exc), icon=":material/cloud_off:")
        except (redis.RedisError, OSError, BackendError) as exc:
            err = exc if isinstance(exc, BackendError) else classify_error(exc, backend.label)
            st.error(f"{err.message} {err.hint}".strip(), icon=":material/cloud_off:")
    shown = st.session_state.get("semantic_try_result")
    if shown:
        _show_answer(shown)


def _ask(backend: Backend, embedder: Embedder, faq: pd.DataFrame, question: str, tenant: str, sim: float,
         guard: bool, index: str) -> dict:
    question = question.strip()
    if not question:
        raise ValueError("Type a question first.")
    if len(question) > 500:
        raise ValueError("Keep the question under 500 characters.")
    cache = _cache(backend, embedder, faq, index)
    cache.guard = contrast_guard if guard else None
    look = cache.check(question, tenant, threshold=sim, k=5)
    llm = None
    if not look.hit:
        model = llm_from_env(_simulated_answers(embedder, faq), pricing=Pricing(), rng=random.Random())
        llm = model.answer(question)
        cache.store(question, llm.text, tenant, vector=look.vector)
    key = look.best.key if look.hit else cache.entry_key(tenant, question)
    fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in backend.client.hgetall(key).items()}
    entry = {name: (f"<{len(value)} bytes: {len(value) // 4} float32>" if name == "vector"
                    else value.decode() if isinstance(value, bytes) else str(value)) for name, value in fields.items()}
    return {"look": look, "llm": llm, "index": cache.index.kind, "backend": backend.label, "key": key,
            "entry": entry, "ttl": backend.client.ttl(key), "why": cache.index_note, "notice": cache.notice}


def _show_answer(shown: dict) -> None:
    look, llm = shown["look"], shown["llm"]
    if shown.get("notice"):
        st.warning(shown["notice"], icon=":material/build:")
    if look.hit:
        st.success(f"**Cache hit** (similarity {look.best.similarity:.3f}, distance {look.best.distance:.3f}) — "
                   f"answer of the cached question “{look.best.prompt}”:\n\n{look.answer}", icon=":material/bolt:")
    else:
        why = f" The nearest entry was refused by the guard ({look.rejected_by})." if look.rejected_by else ""
        label = "simulated LLM" if llm.simulated else f"LLM {llm.model}"
        st.info(f"**Cache miss** — answered by the {label} and stored for next time.{why}\n\n{llm.text}",
                icon=":material/smart_toy:")
    cols = st.columns(4)
    cols[0].metric("Embed (measured)", f"{look.embed_ms:.1f} ms")
    cols[1].metric("Search (measured)", f"{look.search_ms:.2f} ms")
    if llm is None:
        cols[2].metric("LLM", "not called")
        cols[3].metric("Cost", "$0")
    else:
        kind = "simulated" if llm.simulated else "measured"
        cols[2].metric(f"LLM ({kind})", f"{llm.latency_ms:,.0f} ms")
        cols[3].metric(f"Cost ({'simulated' if llm.simulated else 'reported usage'})", f"${llm.cost_usd:.5f}")
    neighbours = pd.DataFrame([{"Cached question": n.prompt, "Tenant": n.tenant, "Similarity": round(n.similarity, 3),
                                "Cosine distance": round(n.distance, 3), "Answer": n.answer} for n in look.neighbours])
    st.markdown(f"**Nearest entries of {look.tenant}** (threshold {look.threshold:.2f} similarity) — answered by the "
                f"**{shown['index']}** on {shown['backend']}")
    if shown.get("why"):
        st.caption(shown["why"])
    st.dataframe(neighbours, hide_index=True, width="stretch")
    with st.expander(f"The entry in Redis: HGETALL {shown['key']} (TTL {shown['ttl']} s)", icon=":material/terminal:"):
        st.dataframe(pd.DataFrame(list(shown["entry"].items()), columns=["Field", "Value"]), hide_index=True,
                     width="stretch")

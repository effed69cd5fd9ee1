"""What each number of the semantic-stream and semantic-threshold experiments means: label, unit, help.

Declared here (``labs.core.measures``) so the two experiments' modules stay about what they compute. Units:
similarities and distances are cosine (similarity 1 = same direction; distance = 1 − similarity, RedisVL's
unit), shares are fractions shown as percent, money is SIMULATED (an LLM price list), times are measured.
"""
from __future__ import annotations

from labs.ai.semantic.dataset import QUERY_KINDS
from labs.ai.semantic.evaluate import GUARDS as _GUARDS
from labs.core.measures import measure

_KIND = ", ".join(QUERY_KINDS[:-1]) + " or " + QUERY_KINDS[-1]

STREAM = {
    "hit_rate": measure("Hit rate", "fraction", headline=True, help="Questions answered from the cache."),
    "wrong_answers": measure("Wrong answers served", "count", headline=True,
                             help="Hits whose cached question meant something else."),
    "precision": measure("Precision of hits", "fraction", help="Right answers among the hits."),
    "guard_refusals": measure("Hits the guard refused", "count"),
    "llm_calls": measure("LLM calls", "calls", help="Misses: each one asks the (simulated) LLM."),
    "cost_usd": measure("LLM cost with the cache (simulated)", "$", fmt=",.4f"),
    "cost_without_cache_usd": measure("LLM cost without a cache (simulated)", "$", fmt=",.4f"),
    "saved_usd": measure("Saved (simulated)", "$", fmt=",.4f", headline=True),
    "embed_p50_ms": measure("Embedding, median", "ms", headline=True, help="all-MiniLM-L6-v2 on this CPU, measured."),
    "search_p50_ms": measure("Search and read-back, median", "ms", headline=True,
                             help="KNN in the index that answered, then HMGET of the matches; measured."),
    "p50_with_cache_ms": measure("Time per question with the cache, median", "ms", headline=True,
                                 help="Embed + search, plus the simulated LLM on a miss."),
    "p50_without_cache_ms": measure("Time per question without a cache, median", "ms", help="The simulated LLM."),
    "threshold_similarity": measure("Similarity threshold", "similarity"),
    "threshold_distance": measure("Distance threshold (RedisVL's unit)", "distance"),
    "index": measure("Index that answered", "text"),
    "query": measure("Question number", "count"), "tenant": measure("Tenant", "text"),
    "kind": measure("Kind of question", "text", help=f"canonical, repeat, {_KIND}, or all."),
    "question": measure("Question", "text"), "outcome": measure("Outcome", "text"),
    "similarity": measure("Similarity to the nearest cached question", "similarity"),
    "nearest": measure("Nearest cached question", "text"), "guard": measure("Why the guard refused", "text"),
    "embed_ms": measure("Embedding", "ms"), "search_ms": measure("Search and read-back", "ms"),
    "llm_ms": measure("LLM (simulated)", "ms"),
    "setup": measure("Setup", "text"), "usd": measure("LLM $ spent so far (simulated)", "$", fmt=",.4f"),
    "ms": measure("Time per question", "ms"), "queries": measure("Questions", "queries"),
}

THRESHOLD = {
    "recommended_threshold": measure("Recommended similarity threshold", "similarity", headline=True,
                                     help="Best F1 on the validation split."),
    "recommended_distance": measure("Recommended threshold as a distance", "distance", headline=True),
    "test_precision": measure("Test precision, no guard", "fraction", headline=True),
    "test_hit_rate": measure("Test hit rate, no guard", "fraction", headline=True),
    "test_precision_contrast_guard": measure("Test precision, contrast guard", "fraction"),
    "test_hit_rate_contrast_guard": measure("Test hit rate, contrast guard", "fraction"),
    "test_precision_both_guards": measure("Test precision, both guards", "fraction"),
    "test_hit_rate_both_guards": measure("Test hit rate, both guards", "fraction"),
    "recommended_threshold_both_guards": measure("Threshold re-chosen with both guards", "similarity"),
    "test_precision_at_half_hit_rate": measure("Test precision at hit rate 50 %, no guard", "fraction"),
    "test_precision_at_half_hit_rate_both_guards": measure("Test precision at hit rate 50 %, both guards", "fraction"),
    "enable_vs_disable_2fa": measure("Enable vs disable 2FA", "similarity", headline=True,
                                     help="Cosine similarity of two questions that mean opposite things."),
    "reset_vs_change_password": measure("Reset vs change password", "similarity",
                                        help="Cosine similarity of a true paraphrase pair."),
    "day_saved_usd": measure("Saved per day at the recommended threshold (simulated)", "$/day"),
    "day_wrong_answers": measure("Wrong answers per day, no guard", "count"),
    "day_wrong_answers_both_guards": measure("Wrong answers per day, both guards", "count"),
    "llm_call_usd": measure("One LLM call (simulated)", "$", fmt=",.5f"),
    "lookup_ms": measure("One lookup: embed and search, median", "ms"),
    "index": measure("Index that answered", "text"),
    "top1_agreement_numpy": measure("Nearest question: server index = numpy", "fraction", headline=True,
                                    help="Every query's nearest canonical by the server index and by numpy; a tie "
                                         "in similarity counts as agreement."),
    "top1_ties": measure("Queries with a tie for nearest", "queries"),
    # the scored questions
    "question": measure("Question", "text"), "kind": measure("Kind of question", "text", help=_KIND + ", or all"),
    "intent": measure("Intent", "text"), "domain": measure("Help section", "text"), "split": measure("Split", "text"),
    "nearest": measure("Nearest cached question", "text"), "nearest_intent": measure("Its intent", "text"),
    "similarity": measure("Similarity to the nearest", "similarity"),
    "pair_similarity": measure("Similarity to its named pair", "similarity"),
    "nearest_in_domain": measure("Nearest in the same help section", "text"),
    "similarity_in_domain": measure("Similarity to the nearest in the section", "similarity"),
    "right_if_hit": measure("Right answer if served", "yes/no"),
    "right_if_hit_in_domain": measure("Right answer if served (section)", "yes/no"),
    "answerable": measure("The cache holds its answer", "yes/no"),
    "guard_reason": measure("Why the guard refuses", "text"),
    "guard_reason_in_domain": measure("Why the guard refuses (section)", "text"),
    # the sweep, the table, the day of traffic
    "guard": measure("Guard", "text", help=", ".join(_GUARDS)), "threshold": measure("Similarity threshold", "similarity"),
    "distance": measure("Distance threshold", "distance"), "setting": measure("Setting", "text"),
    "queries": measure("Questions", "queries"), "hits": measure("Hits", "hits"),
    "right_hits": measure("Right answers", "hits"), "wrong_answers": measure("Wrong answers", "count"),
    "hit_rate": measure("Hit rate", "fraction"), "precision": measure("Precision", "fraction"),
    "recall": measure("Recall", "fraction"), "f1": measure("F1", "fraction"),
    "hit_rate_*": measure("Hit rate, {0}", "fraction"), "wrong_rate_*": measure("Wrong-answer rate, {0}", "fraction"),
    "wrong_rate": measure("Wrong-answer rate", "fraction"), "llm_calls": measure("LLM calls", "calls"),
    "saved_usd": measure("Saved (simulated)", "$"), "saved_s": measure("Waiting saved", "s"),
    **{g: measure(f"Precision, {g} guard" if g != "none" else "Precision, no guard", "fraction") for g in _GUARDS},
}

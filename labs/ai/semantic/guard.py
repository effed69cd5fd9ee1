"""A guard against the semantic cache's worst mistake: serving the answer to the opposite question.

Sentence embeddings place "How do I enable two-factor authentication?" and "How do I disable two-factor
authentication?" very close (MiniLM: cosine 0.88, closer than most true paraphrases), because the two
sentences share every word but one. No threshold separates them. The guard checks the one thing the
embedding blurs: if the query and the cached prompt differ in a word from a contrasting pair (enable /
disable, add / remove, import / export, …) or in negation, the hit is refused and the LLM is asked.

The word list is generic English opposites (plus three pairs added after reading the validation split's
misses), never tuned on the test split; it is a heuristic
with a known cost (a paraphrase that says "turn off" where the cached prompt says "disable" is refused,
which costs an LLM call, not a wrong answer). Production systems use a cross-encoder re-ranker or a
metadata filter for the same job.
"""
from __future__ import annotations

import re

CONTRASTS: tuple[tuple[str, str], ...] = (
    ("enable", "disable"), ("activate", "deactivate"), ("on", "off"), ("add", "remove"), ("add", "delete"),
    ("import", "export"), ("upload", "download"), ("cancel", "renew"), ("cancel", "resume"),
    ("pause", "resume"), ("subscribe", "unsubscribe"), ("refund", "return"), ("lock", "unlock"),
    ("block", "unblock"), ("open", "close"), ("start", "stop"), ("show", "hide"), ("upgrade", "downgrade"),
    ("increase", "decrease"), ("raise", "lower"), ("buy", "sell"), ("deposit", "withdraw"),
    ("send", "receive"), ("accept", "decline"), ("accept", "reject"), ("join", "leave"),
    ("follow", "unfollow"), ("archive", "unarchive"), ("merge", "split"), ("link", "unlink"),
    ("connect", "disconnect"), ("install", "uninstall"), ("allow", "deny"), ("allow", "block"),
    ("before", "after"), ("first", "last"), ("min", "max"), ("minimum", "maximum"), ("in", "out"),
    ("login", "logout"), ("sign", "unsign"), ("pay", "refund"), ("create", "delete"), ("save", "delete"),
    ("restore", "delete"), ("domestic", "international"), ("free", "paid"), ("monthly", "annual"),
    ("monthly", "yearly"), ("personal", "business"), ("public", "private"), ("old", "new"),
    ("increase", "reduce"), ("more", "less"), ("early", "late"), ("expedite", "delay"),
    # added after reading the validation split's misses (never the test split's)
    ("same", "next"), ("ask", "answer"), ("refund", "charge"),
)
NEGATIONS = frozenset({"not", "no", "never", "cannot", "can't", "don't", "doesn't", "won't", "isn't", "didn't",
                       "without"})
_WORD = re.compile(r"[a-z0-9']+")
_STEMS = (("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("d", ""))


def _stem(word: str) -> str:
    """Crude suffix stripping so 'enabled', 'enabling' and 'enables' all count as 'enable'."""
    for suffix, repl in _STEMS:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            base = word[: -len(suffix)] + repl
            return base if base in _ALL else (base + "e" if base + "e" in _ALL else word)
    return word


_ALL = frozenset(w for pair in CONTRASTS for w in pair)


def words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower().replace("-", " "))}


def contrast_guard(query: str, cached: str) -> str:
    """"" when the cached answer may be served; otherwise why not (e.g. "'disable' vs 'enable'")."""
    q, c = words(query), words(cached)
    for a, b in CONTRASTS:
        if (a in q and b in c and a not in c and b not in q) or (b in q and a in c and b not in c and a not in q):
            mine, theirs = (a, b) if a in q else (b, a)
            return f"'{mine}' vs '{theirs}'"
    if bool(q & NEGATIONS) != bool(c & NEGATIONS):
        return "negation differs"
    return ""

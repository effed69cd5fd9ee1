"""Semantic caching for LLM apps: embed the question, find a similar past one, serve its answer.

- ``embedder``: the real all-MiniLM-L6-v2 (offline, lazy) and a deterministic fake for tests;
- ``store``: the cache — Redis hashes with a TTL per learner and tenant, exact cosine KNN (numpy) or the
  server's vector index when it has one;
- ``guard``: refuse a hit whose question differs in a contrasting word (enable vs disable …);
- ``dataset`` / ``evaluate``: the FAQ dataset, its cached embeddings, threshold sweeps and the recommended
  threshold (validation → test);
- ``experiments``: the registered experiments the page, the CLI and the tests run.
"""

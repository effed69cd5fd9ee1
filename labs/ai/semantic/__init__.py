"""Semantic caching for LLM apps: embed the question, find a similar past one, serve its answer.

- ``embedder``: the real all-MiniLM-L6-v2 (offline, loaded once per process, its progress readable) and a
  deterministic fake for tests;
- ``store``: the cache — Redis hashes with a TTL per learner and tenant, searched by the server's vector index
  where it has one, else by exact cosine KNN in numpy; ``server_index``: that index (one per server, FLAT or
  HNSW, escaped TAG filters, redis-py's search API on RESP2 and RESP3);
- ``guard``: refuse a hit whose question differs in a contrasting word (enable vs disable …);
- ``dataset`` / ``evaluate``: the FAQ dataset, its cached embeddings, threshold sweeps and the recommended
  threshold (validation → test);
- ``experiments`` (the stream, the threshold evaluation), ``vector_index`` (FLAT vs HNSW), ``expiry`` (an
  entry leaving the index), ``redisvl_compare`` (RedisVL's SemanticCache beside the lab's): the registered
  experiments the page, the CLI and the tests run; ``measure_sets`` declares what their numbers mean.
"""

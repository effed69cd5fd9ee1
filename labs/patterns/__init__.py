"""The caching-patterns lab: no cache, cache-aside, write-through and write-behind on one workload,
against the SQLite primary database — latency, load on the database, stale reads and lost writes."""

"""Keeping a cache correct when the data changes: time- vs event-based invalidation, the delete-vs-set race
and its fixes, and negative caching; hot-key stampedes and their defences live in ``stampede``, the near
cache (client-side caching kept fresh by the server) in ``nearcache``. Importing the package registers its
experiments (no connection)."""
from labs.invalidation import experiments, nearcache, negative, staleness  # noqa: F401  (register the experiments)
from labs.invalidation.race import INTERLEAVINGS, RaceRun, race_matrix
from labs.invalidation.store import RedisCache, VersionedTable, VirtualCache
from labs.invalidation.strategies import STRATEGIES, DeleteOnWrite, TTLOnly, VersionedKeys, WriteThrough

__all__ = ["INTERLEAVINGS", "RaceRun", "race_matrix", "RedisCache", "VersionedTable", "VirtualCache", "STRATEGIES",
           "DeleteOnWrite", "TTLOnly", "VersionedKeys", "WriteThrough"]

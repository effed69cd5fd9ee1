"""The near cache: a cache inside the application process kept correct by the server (``CLIENT TRACKING``,
RESP3 pushes or RESP2 REDIRECT + ``__redis__:invalidate``), redis-py's built-in cache where the server allows
it, and keyspace notifications as the other invalidation channel. Importing the package registers its
experiments (no connection)."""
from labs.invalidation.nearcache import experiments, modes, notify, reconnect  # noqa: F401  (register the experiments)
from labs.invalidation.nearcache.links import NONE, REDIRECT, RESP3, TrackingUnavailable, open_link
from labs.invalidation.nearcache.local import LocalCache
from labs.invalidation.nearcache.reader import NearCache, RedisPyReader

__all__ = ["NONE", "REDIRECT", "RESP3", "TrackingUnavailable", "open_link", "LocalCache", "NearCache", "RedisPyReader"]

"""TTL as a cost lever (the Memory & expiry page): what a key costs in memory (``memory``, measured on a
private server), what leases save in memory and money (``cost``, the lease planner over dated,
illustrative prices), how the server expires keys (``expiry``, the active-expire cycle simulated and
checked on a real server), synchronized expiry vs jitter (``jitter``), and the TTL commands live
(``mechanics``)."""

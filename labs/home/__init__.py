"""The first read of the course (Home page): one cache-aside read that misses, then hits, each timed against
the SQLite primary database behind a simulated network."""

"""How a key change reaches every instance's cache: applied here at once (invalidation.py), published over Redis
with the new state shared (invalidation_bus.py, shared_cache.py), and read back from the database by every
instance whatever Redis does (change_feed.py). The Redis connection and the proof that pub/sub works are cluster/."""

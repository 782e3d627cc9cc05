"""Coordination between instances through Redis: the connection and its health, the shared key cache, the
invalidation bus. Redis is optional and may fail at any time: every caller has a way to carry on without it."""

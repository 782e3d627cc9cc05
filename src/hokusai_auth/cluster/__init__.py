"""Redis between instances: the connection and its health (link.py), a pub/sub subscription that survives
(subscription.py), and the heartbeat that proves a message published now would arrive (heartbeat.py). Redis is
optional and may fail at any time: every caller has a way to carry on without it. Nothing here knows about keys;
what travels over it is propagation/ and the shared rate limits (ratelimit/redis.py)."""

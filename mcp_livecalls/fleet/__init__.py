"""Replicas that share one Redis (``LIVECALLS_REDIS_URL``): one fleet, one upstream budget.

``core.Fleet`` is the connection and its failure state; ``cache``, ``pacer``, ``memo``, ``bus``
and ``leases`` are the shared versions of the freshness cache, the Exotel pacer, the provider
memo, the subscription bus and poller leadership; ``metrics`` exposes them to Prometheus. Every
one of them falls back to the replica's local behaviour while Redis is unreachable.
"""

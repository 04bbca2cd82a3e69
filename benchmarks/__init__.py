"""Benchmarks of mcp-livecalls: token compactness, latency, polling load.

Run everything with ``python -m benchmarks`` from the repository root; each part also runs alone
(``python -m benchmarks.tokens``, ``.latency``, ``.polling``). They print tables; they are not tests.
"""

"""The HTTP policy of tests whose verdict must not depend on the machine's speed.

Where a timeout is not what a test is about, a loaded machine (a loopback simulator answering
a fan-out of detail requests on 2 busy cores) must not turn an answer into a timeout, a retry
or a cut-short page: every bound is far above what the requests take.
"""

from __future__ import annotations

from mcp_livecalls.upstream.policy import HttpPolicy

__all__ = ["PATIENT"]

PATIENT = HttpPolicy(connect_timeout_s=30, read_timeout_s=30, request_timeout_s=30, tool_budget_s=60)

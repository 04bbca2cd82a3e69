"""Helpers the simulated providers share for rendering payloads (each provider renders its own
payloads in ``simulator/<name>.py``).

Each function takes the call and ``ts`` (POSIX seconds) and answers the provider's documented shape.
Choices where the documents are silent are marked ``# Undocumented:``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

__all__ = ["iso_time_ms", "ms", "sid"]


def iso_time_ms(ts: float) -> str:
    """ISO 8601 with milliseconds and ``Z``: ``2024-06-15T10:30:00.000Z``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ms(ts: float) -> int:
    return round(ts * 1000)


def sid(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:16]

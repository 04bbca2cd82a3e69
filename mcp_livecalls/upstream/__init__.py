"""The one HTTP policy every provider request goes through: timeouts and retries, pacing, redaction,
and the translation of foreign errors into ``mcp_livecalls.errors``.
"""

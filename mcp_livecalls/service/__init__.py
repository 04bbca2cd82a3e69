"""What the MCP surface asks of the providers: lookups, merged paging across providers, the freshness
cache, polling and watches.
"""

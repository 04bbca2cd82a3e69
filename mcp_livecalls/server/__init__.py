"""The MCP surface: the server's assembly, one small constructor per tool, resource and prompt, compact
schemas and the token-compact rendering.
"""

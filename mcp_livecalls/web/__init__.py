"""The streamable HTTP front door: limits, the bearer and OAuth 2.1 checks, and ``/metrics``."""

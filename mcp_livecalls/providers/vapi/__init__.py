"""Everything about vapi: its adapter (``adapter``), simulated API (``simulated``), webhooks."""

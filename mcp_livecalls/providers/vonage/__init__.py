"""Everything about vonage: its adapter (``adapter``), simulated API (``simulated``), webhooks."""

"""Everything about telnyx: its adapter (``adapter``), simulated API (``simulated``), webhooks."""

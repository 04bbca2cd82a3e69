"""Everything about twilio: its adapter (``adapter``) and its simulated API (``simulated``)."""

"""Everything about retell: its adapter (``adapter``) and its simulated API (``simulated``)."""

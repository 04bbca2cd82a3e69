"""Everything about zudu: its adapter (``adapter``) and its simulated API (``simulated``)."""

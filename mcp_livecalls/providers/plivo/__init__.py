"""Everything about plivo: its adapter (``adapter``) and its simulated API (``simulated``)."""

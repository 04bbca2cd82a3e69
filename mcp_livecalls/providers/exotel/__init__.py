"""Everything about exotel: its adapter (``adapter``) and its simulated API (``simulated``)."""

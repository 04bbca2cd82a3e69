"""Everything about vobiz: its adapter (``adapter``) and its simulated API (``simulated``)."""

"""Each provider's own tests: its contract with the documents, its adapter and its simulated API."""

"""What several providers share: one module per family of APIs (adapters and simulated APIs)."""

"""What a provider's simulated API is built from: the ``SimulatedProvider`` base, the simulated
population of calls, clocks and wire-format helpers.
"""

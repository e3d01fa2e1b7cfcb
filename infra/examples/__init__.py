"""Examples of the utility's own workloads using the gateway (synthesized in tests)."""

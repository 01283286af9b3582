"""Built-in metrics, one per module; each is registered in `codealign.registry.METRICS`."""

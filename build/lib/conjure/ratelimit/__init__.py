"""Rate limits on the `limits` library: memory in embedded mode, Redis in production."""

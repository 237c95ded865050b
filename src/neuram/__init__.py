"""neuram: the brain-region API (placeholder until built)."""

"""The brain regions of neuram, one module each."""

"""Assets per layer."""

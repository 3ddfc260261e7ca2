"""The imagegen app."""

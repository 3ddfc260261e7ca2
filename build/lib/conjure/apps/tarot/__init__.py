"""The tarot app."""

"""Conjure: a backend for paid, AI-powered apps."""

__version__ = "0.1.0"

"""Tests of the ops app (seed 003)."""

"""The assistant app (seed 002): local-first streaming chat, vector memory, delegation, meditations."""

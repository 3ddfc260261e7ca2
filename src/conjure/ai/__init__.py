"""AI model providers, fallback chains, prompts, usage and cost."""

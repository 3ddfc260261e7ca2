"""AI model providers, fallback chains, prompts, usage and cost.

An app describes a model step (output type, instructions, prompt, offline answer) and
runs it through a :class:`~conjure.ai.chain.ModelChain` built from settings; the chain
tries each configured provider in order (``AI_PROVIDER=openai,gemini,offline``), bounds
concurrency per provider, times every call, and turns provider trouble into job errors.
"""

"""Usage and cost reports: jobs, tokens, provider cost, credits charged, revenue and margin."""

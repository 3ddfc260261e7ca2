"""Who a request is: Conjure's own tokens, external identity providers, Telegram, API keys."""

"""Users: who signs in, their role and their balances (the wallet domain owns the money rules)."""

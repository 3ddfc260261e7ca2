"""Wallet: stars, coins, holds and the ledger."""

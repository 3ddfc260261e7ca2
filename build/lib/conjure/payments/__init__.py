"""Payments: Stripe star packages, PaymentIntents, signed webhooks, refunds."""

"""Billing: subscription plans with monthly allowances, Stripe subscriptions and invoices (seeds 001, 002)."""

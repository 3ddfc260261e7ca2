"""Prometheus metrics shared by the API and the workers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("conjure_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("conjure_http_request_seconds", "HTTP request latency", ["method", "route"])
JOBS_SUBMITTED = Counter("conjure_jobs_submitted_total", "Jobs accepted", ["kind"])
JOBS_FINISHED = Counter("conjure_jobs_finished_total", "Jobs ended", ["kind", "status"])
JOB_RETRIES = Counter("conjure_job_retries_total", "Job attempts scheduled for retry", ["kind"])
JOB_DURATION = Histogram(
    "conjure_job_duration_seconds",
    "Time a job attempt ran",
    ["kind"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
QUEUE_DEPTH = Gauge("conjure_queue_depth", "Jobs waiting in the queue")
JOBS_IN_FLIGHT = Gauge("conjure_jobs_in_flight", "Jobs being processed")
DLQ_SIZE = Gauge("conjure_dlq_size", "Jobs in the dead-letter queue")
MODEL_LATENCY = Histogram("conjure_model_call_seconds", "AI model call latency", ["provider", "step"])
MODEL_ERRORS = Counter("conjure_model_errors_total", "AI model call errors", ["provider", "kind"])
MODEL_BREAKER_STATE = Gauge(
    "conjure_model_breaker_state", "AI provider circuit breaker (0 closed, 1 half-open, 2 open)", ["provider"]
)
MODEL_TOKENS = Counter("conjure_model_tokens_total", "AI model tokens", ["provider", "direction"])
RATE_LIMITED = Counter("conjure_rate_limited_total", "Requests refused by a rate limit", ["scope"])
RATE_LIMIT_OUTAGES = Counter(
    "conjure_rate_limit_outages_total", "Limit checks while the shared store was down", ["scope", "policy"]
)
AUTH_FAILURES = Counter("conjure_auth_failures_total", "Refused sign-ins and tokens", ["method", "reason"])
WALLET_TRANSACTIONS = Counter(
    "conjure_wallet_transactions_total", "Wallet ledger rows written", ["type", "currency"]
)
PAYMENTS_CREDITED = Counter("conjure_payments_credited_total", "Star purchases credited", ["package"])
PAYMENT_CLAWBACKS = Counter("conjure_payment_clawbacks_total", "Refunds that took stars back")
STRIPE_WEBHOOK_EVENTS = Counter(
    "conjure_stripe_webhook_events_total", "Stripe webhook events received", ["type", "outcome"]
)
QUEUE_OLDEST_AGE = Gauge(
    "conjure_queue_oldest_age_seconds", "Age of the oldest job waiting to start (0 when none is due)"
)
PROVIDER_BREAKER_STATE = Gauge(
    "conjure_provider_breaker_state",
    "Circuit breaker of an outside provider (0 closed, 1 half-open, 2 open)",
    ["provider", "service"],
)
PROVIDER_BREAKER_OPENED = Counter(
    "conjure_provider_breaker_opened_total",
    "Times a provider's circuit breaker opened",
    ["provider", "service"],
)
WALLET_CHECK_PROBLEMS = Gauge(
    "conjure_wallet_check_problems", "Broken wallet invariants found by the last periodic check"
)
WALLET_CHECK_FAILED = Gauge(
    "conjure_wallet_check_failed", "1 when the last periodic wallet check could not run"
)
WALLET_CHECK_LAST_RUN = Gauge(
    "conjure_wallet_check_last_run_timestamp_seconds", "When the periodic wallet check last finished"
)
DB_POOL_CHECKED_OUT = Gauge("conjure_db_pool_checked_out", "Database connections in use from the pool")
DB_POOL_SIZE = Gauge("conjure_db_pool_size", "Database connections the pool keeps")
STORAGE_LATENCY = Histogram("conjure_storage_call_seconds", "Object storage call latency", ["operation"])
MODEL_COST = Counter("conjure_model_cost_usd_total", "Provider cost of model calls in USD", ["provider"])

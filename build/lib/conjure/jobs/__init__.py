"""The job engine: durable jobs, brokers, workers, retries, DLQ, progress."""

"""The operator console's API: job search and detail, retry and cancel, paused kinds, throughput, users."""

"""Object storage: local folder (embedded) or an S3-compatible bucket."""

"""One-off tools operators run against a deployed stack with their own AWS credentials (never deployed)."""

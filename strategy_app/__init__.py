"""The ML-strategy desk application: CLI, persistence, background jobs and shared UI pieces."""

"""Offline stand-ins for external services, for end-to-end tests, benchmarks and demos."""

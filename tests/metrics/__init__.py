"""Tests of the Prometheus metrics, /metrics and the admin operations page."""

"""Intake service: bills from partners (JSON), idempotent submission, partner-facing status."""

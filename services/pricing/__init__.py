"""Pricing service: fee-schedule pricing of received bills, with per-line evidence."""

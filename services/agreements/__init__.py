"""Agreements service: settlement agreements and their signing."""

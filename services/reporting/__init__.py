"""Reporting service: KPI projections from every event."""

"""Negotiation service: cases, offers and agreement on terms."""

"""Practices: the tenants."""

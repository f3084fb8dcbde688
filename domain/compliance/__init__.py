"""Compliance rules as versioned data and their pure evaluation."""

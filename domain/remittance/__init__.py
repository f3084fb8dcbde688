"""Remittance: reading what payers send back about claims."""

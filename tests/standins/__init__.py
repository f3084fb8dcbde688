"""Local stand-ins for outside services (real HTTP servers speaking the provider's wire format)."""

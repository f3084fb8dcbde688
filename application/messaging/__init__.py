"""Text messages from clients (inbound SMS)."""

"""Text messaging with clients: inbound keywords and the record of each inbound message."""

"""Identity: pure rules for staff credentials (password policy, login lockout)."""

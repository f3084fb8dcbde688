"""Identity: pure rules for staff access (roles and permissions, password policy, login lockout)."""

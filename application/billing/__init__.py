"""The revenue cycle's commands: fee schedules, charges, payments (and the invoices, card payments
and remittances built on them)."""

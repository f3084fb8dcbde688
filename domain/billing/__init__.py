"""The revenue cycle's aggregates: fee schedules, charges, payments and invoices."""

"""Scheduling: appointment types, appointments, clinician schedules and the pure rules around them
(free slots, recurring series, booking consents, schedule metrics)."""

"""Appointment reminders: the Reminder aggregate (one per appointment and offset), when reminders
fall due, and the text they carry."""

-- depends: 0003_audit_blocks

-- Projection batches prefetch the data keys of the subjects in a range of positions.
CREATE INDEX IF NOT EXISTS event_subjects_notification_id ON event_subjects (notification_id);

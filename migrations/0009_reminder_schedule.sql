-- depends: 0006_members_and_access_alerts

-- Due work for appointment reminders (projections/reminder_schedule.py). Ids, offsets and times
-- only: no client names, numbers or message text.
CREATE TABLE IF NOT EXISTS reminder_practice_settings (
    practice_id uuid PRIMARY KEY,
    time_zone text NOT NULL,
    offsets_hours integer[] NOT NULL,
    enabled boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS reminder_schedule (
    reminder_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    appointment_id uuid NOT NULL,
    offset_hours integer NOT NULL,
    starts_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    -- state: due | in_flight (claimed, lease running) | retrying | sent | failed | skipped | withdrawn
    state text NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    outcome text,
    changed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS reminder_schedule_appointment ON reminder_schedule (appointment_id);
CREATE INDEX IF NOT EXISTS reminder_schedule_pending ON reminder_schedule (next_attempt_at)
    WHERE state IN ('due', 'in_flight', 'retrying');
CREATE TABLE IF NOT EXISTS reminder_schedule_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

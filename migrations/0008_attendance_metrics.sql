-- depends: 0006_members_and_access_alerts

-- Attendance and schedule metrics (seed 001, Module 7, categories 1 and 5). Ids, dates, times and
-- counts only: no PHI. Local dates are the practice's time zone.

CREATE TABLE IF NOT EXISTS attendance_practices (
    practice_id uuid PRIMARY KEY,
    time_zone text NOT NULL
);

-- Every member (a clinician id is a membership id), with what the schedule says about them.
CREATE TABLE IF NOT EXISTS attendance_members (
    member_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    schedule_id uuid,
    opened_on date,
    first_day date,
    holidays smallint[] NOT NULL DEFAULT '{}'  -- yearly holidays as month * 100 + day
);
CREATE INDEX IF NOT EXISTS attendance_members_practice ON attendance_members (practice_id);
CREATE UNIQUE INDEX IF NOT EXISTS attendance_members_schedule ON attendance_members (schedule_id)
    WHERE schedule_id IS NOT NULL;

-- Weekly hours and breaks, one version per local date they were set on.
CREATE TABLE IF NOT EXISTS attendance_hours (
    clinician_id uuid NOT NULL,
    effective_from date NOT NULL,
    practice_id uuid NOT NULL,
    hours jsonb NOT NULL,
    breaks jsonb NOT NULL,
    PRIMARY KEY (clinician_id, effective_from)
);
CREATE INDEX IF NOT EXISTS attendance_hours_practice ON attendance_hours (practice_id);

CREATE TABLE IF NOT EXISTS attendance_closures (
    clinician_id uuid NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    practice_id uuid NOT NULL,
    PRIMARY KEY (clinician_id, first_day, last_day)
);
CREATE INDEX IF NOT EXISTS attendance_closures_practice ON attendance_closures (practice_id, first_day);

-- One fact per appointment. status: open | completed | no_show | cancelled | rescheduled.
CREATE TABLE IF NOT EXISTS attendance_appointments (
    appointment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    client_id uuid NOT NULL,
    series_id uuid,
    local_day date NOT NULL,     -- the start's local date
    booked_day date NOT NULL,    -- the booking's local date
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    booked_at timestamptz NOT NULL,
    status text NOT NULL,
    late boolean NOT NULL DEFAULT false,
    rebooked boolean NOT NULL DEFAULT false,      -- completed, and a later visit within 30 days
    lead_counted boolean NOT NULL DEFAULT false   -- counts towards the average lead time
);
CREATE INDEX IF NOT EXISTS attendance_appointments_day ON attendance_appointments (clinician_id, local_day);
CREATE INDEX IF NOT EXISTS attendance_appointments_booked ON attendance_appointments (clinician_id, booked_day)
    WHERE lead_counted;
CREATE INDEX IF NOT EXISTS attendance_appointments_client ON attendance_appointments (client_id, starts_at);
CREATE INDEX IF NOT EXISTS attendance_appointments_series ON attendance_appointments (series_id)
    WHERE series_id IS NOT NULL;

-- Per clinician and local date: counts of the appointments starting that day, minutes of working
-- time they cover, and the lead times of the bookings made that day.
CREATE TABLE IF NOT EXISTS attendance_days (
    clinician_id uuid NOT NULL,
    local_day date NOT NULL,
    practice_id uuid NOT NULL,
    scheduled integer NOT NULL,
    completed integer NOT NULL,
    no_shows integer NOT NULL,
    cancelled integer NOT NULL,
    late_cancelled integer NOT NULL,
    rebooked integer NOT NULL,
    booked_minutes integer NOT NULL,
    booked_prime_minutes integer NOT NULL,
    lead_count integer NOT NULL,
    lead_us bigint NOT NULL,     -- sum of (start - booking) in microseconds
    PRIMARY KEY (clinician_id, local_day)
);
CREATE INDEX IF NOT EXISTS attendance_days_practice ON attendance_days (practice_id, local_day);

CREATE TABLE IF NOT EXISTS attendance_metrics_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

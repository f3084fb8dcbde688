-- depends: 0012_waitlist

-- Clinical supervision (seed 001 Module 7 category 6, Georgia rule 4): one row per session, plus
-- the staff facts (role, license, active) and practice time zones the monthly hours need.
-- Ids, dates, hours, codes and short topic subjects only; no client is named here.
CREATE TABLE IF NOT EXISTS supervision_log (
    session_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    supervisee_id uuid NOT NULL,
    supervisor_id uuid NOT NULL,
    session_date date NOT NULL,
    hours numeric(5, 2) NOT NULL,
    format text NOT NULL,
    topics text[] NOT NULL,
    logged_at timestamptz NOT NULL,
    logged_by uuid NOT NULL,
    signed_by uuid,
    signed_at timestamptz,
    signed_within_7_days boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS supervision_log_practice_date ON supervision_log (practice_id, session_date);
CREATE INDEX IF NOT EXISTS supervision_log_supervisee ON supervision_log (supervisee_id, session_date);
CREATE TABLE IF NOT EXISTS supervision_staff (
    member_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    role text NOT NULL,
    license_type text,
    active boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS supervision_staff_practice ON supervision_staff (practice_id);
CREATE TABLE IF NOT EXISTS supervision_practices (
    practice_id uuid PRIMARY KEY,
    time_zone text NOT NULL
);
CREATE TABLE IF NOT EXISTS supervision_log_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

-- depends: 0006_members_and_access_alerts

-- Follow-ups for the front desk (a client texted R to reschedule ...). Ids, codes and times only.
CREATE TABLE IF NOT EXISTS front_desk_tasks (
    task_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    kind text NOT NULL,
    appointment_id uuid,
    clinician_id uuid,
    source text NOT NULL,
    status text NOT NULL,
    opened_at timestamptz NOT NULL,
    completed_by uuid,
    completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS front_desk_tasks_practice ON front_desk_tasks (practice_id, status, opened_at);
CREATE TABLE IF NOT EXISTS front_desk_tasks_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

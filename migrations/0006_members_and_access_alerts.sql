-- depends: 0005_outbox_mail

-- Practice memberships replace the staff directory: staff and client-portal members alike.
DROP TABLE IF EXISTS staff_directory;
DROP TABLE IF EXISTS staff_tracking;

CREATE TABLE IF NOT EXISTS member_directory (
    member_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    user_id uuid,
    email text NOT NULL,
    full_name text NOT NULL,
    role text NOT NULL,
    license_type text,
    status text NOT NULL,
    supervisor_id uuid,
    client_ids uuid[] NOT NULL DEFAULT '{}',
    hipaa_training_on date,
    invited_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS member_directory_practice_role ON member_directory (practice_id, role);
CREATE INDEX IF NOT EXISTS member_directory_supervisor ON member_directory (supervisor_id) WHERE supervisor_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS members_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

-- Break-the-glass alerts for the practice admin. The stated reason stays in the (encrypted)
-- disclosure record; this table holds no PHI.
CREATE TABLE IF NOT EXISTS access_alerts (
    alert_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    accessed_by uuid NOT NULL,
    accessor_role text NOT NULL,
    kind text NOT NULL,
    access_id uuid NOT NULL,
    raised_at timestamptz NOT NULL,
    acknowledged_by uuid,
    acknowledged_at timestamptz
);
CREATE INDEX IF NOT EXISTS access_alerts_practice ON access_alerts (practice_id, raised_at DESC);
CREATE TABLE IF NOT EXISTS access_alerts_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

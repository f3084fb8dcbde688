-- depends: 0006_members_and_access_alerts

-- The front desk's waitlist: one row per entry, open or closed, in arrival order (seq). Ids,
-- codes and times only; no names or other demographics.
CREATE TABLE IF NOT EXISTS waitlist_entries (
    entry_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    seq bigint NOT NULL,
    clinician_id uuid,
    appointment_type text,
    earliest_date date NOT NULL,
    latest_date date NOT NULL,
    weekdays smallint[],
    earliest_time time,
    latest_time time,
    joined_at timestamptz NOT NULL,
    status text NOT NULL,
    offer_clinician_id uuid,
    offer_appointment_type text,
    offer_starts_at timestamptz,
    offer_ends_at timestamptz,
    offer_expires_at timestamptz,
    offered_at timestamptz,
    last_offer_outcome text,
    appointment_id uuid,
    left_reason text,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS waitlist_entries_practice ON waitlist_entries (practice_id, status, seq);
CREATE INDEX IF NOT EXISTS waitlist_entries_client ON waitlist_entries (client_id);

-- Each client's care team, so caseload roles see their own clients' entries only.
CREATE TABLE IF NOT EXISTS waitlist_care_team (
    client_id uuid NOT NULL,
    staff_id uuid NOT NULL,
    PRIMARY KEY (client_id, staff_id)
);
CREATE INDEX IF NOT EXISTS waitlist_care_team_staff ON waitlist_care_team (staff_id);

CREATE TABLE IF NOT EXISTS waitlist_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

-- depends: 0012_waitlist

-- Clinical notes as metadata: one row per note with its ids, type, dates, statuses, content
-- version, signature times and addenda count. No section text, codes or reasons (those are PHI
-- and stay encrypted in the events).
CREATE TABLE IF NOT EXISTS clinical_notes (
    note_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    author_id uuid NOT NULL,
    supervisor_id uuid,
    note_type text NOT NULL,
    service_date date NOT NULL,
    appointment_id uuid,
    status text NOT NULL,
    content_version integer NOT NULL,
    requires_cosign boolean NOT NULL,
    awaiting_cosign boolean NOT NULL DEFAULT false,
    drafted_at timestamptz NOT NULL,
    submitted_at timestamptz,
    signed_at timestamptz,
    cosigned_at timestamptz,
    fully_signed_at timestamptz,
    last_amended_at timestamptz,
    addenda integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS clinical_notes_client ON clinical_notes (practice_id, client_id, service_date);
CREATE INDEX IF NOT EXISTS clinical_notes_author ON clinical_notes (author_id, status);
CREATE INDEX IF NOT EXISTS clinical_notes_supervisor ON clinical_notes (supervisor_id) WHERE supervisor_id IS NOT NULL;

-- Each client's care team, so caseload roles list their own clients' notes only.
CREATE TABLE IF NOT EXISTS clinical_notes_care_team (
    client_id uuid NOT NULL,
    staff_id uuid NOT NULL,
    PRIMARY KEY (client_id, staff_id)
);
CREATE INDEX IF NOT EXISTS clinical_notes_care_team_staff ON clinical_notes_care_team (staff_id);

CREATE TABLE IF NOT EXISTS clinical_notes_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

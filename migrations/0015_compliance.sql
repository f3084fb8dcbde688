-- depends: 0012_waitlist

-- The compliance read model: the facts the rules judge (ids, dates, times, statuses, counts; no
-- PHI) and the alerts they raise. One projection writes all of it, so facts, alerts and the
-- tracking position always agree.
CREATE TABLE IF NOT EXISTS cp_practices (
    practice_id uuid PRIMARY KEY,
    time_zone text NOT NULL,
    moment timestamptz
);
CREATE TABLE IF NOT EXISTS cp_supervision_requirements (
    practice_id uuid NOT NULL,
    license_type text NOT NULL,
    effective_on date NOT NULL,
    hours numeric NOT NULL,
    PRIMARY KEY (practice_id, license_type, effective_on)
);
CREATE TABLE IF NOT EXISTS cp_staff (
    member_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    role text NOT NULL,
    active boolean NOT NULL,
    supervisor_id uuid,
    license_type text,
    joined_on date NOT NULL,
    first_session_on date
);
CREATE INDEX IF NOT EXISTS cp_staff_practice ON cp_staff (practice_id);
CREATE TABLE IF NOT EXISTS cp_trainings (
    member_id uuid NOT NULL,
    completed_on date NOT NULL,
    practice_id uuid NOT NULL,
    PRIMARY KEY (member_id, completed_on)
);
CREATE TABLE IF NOT EXISTS cp_clients (
    client_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    registered_on date NOT NULL,
    discharged_on date,
    adult_on date,
    clinician_id uuid,
    last_clinician_id uuid,
    last_session_on date,
    telehealth_since date,
    missing_demographics text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS cp_clients_practice ON cp_clients (practice_id);
CREATE TABLE IF NOT EXISTS cp_risk_flags (
    client_id uuid NOT NULL,
    flag text NOT NULL,
    set_at timestamptz NOT NULL,
    cleared_at timestamptz,
    practice_id uuid NOT NULL,
    PRIMARY KEY (client_id, flag, set_at)
);
CREATE INDEX IF NOT EXISTS cp_risk_flags_practice ON cp_risk_flags (practice_id);
CREATE TABLE IF NOT EXISTS cp_consents (
    consent_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    type text NOT NULL,
    signed_at timestamptz NOT NULL,
    expires_at timestamptz,
    withdrawn_at timestamptz
);
CREATE INDEX IF NOT EXISTS cp_consents_practice ON cp_consents (practice_id);
CREATE TABLE IF NOT EXISTS cp_sessions (
    appointment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    session_date date NOT NULL,
    ends_at timestamptz NOT NULL,
    modality text NOT NULL,
    booked_at timestamptz NOT NULL,
    status text NOT NULL,
    status_at timestamptz,
    signed_at timestamptz
);
CREATE INDEX IF NOT EXISTS cp_sessions_practice ON cp_sessions (practice_id, session_date);
-- The sessions a note-signature rule can still judge: completed and not (yet) signed.
CREATE INDEX IF NOT EXISTS cp_sessions_documenting ON cp_sessions (practice_id, signed_at) WHERE status = 'completed';
CREATE TABLE IF NOT EXISTS cp_notes (
    note_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    author_id uuid NOT NULL,
    note_type text NOT NULL,
    session_note boolean NOT NULL,
    service_date date NOT NULL,
    appointment_id uuid,
    drafted_at timestamptz NOT NULL,
    requires_cosign boolean NOT NULL,
    signed_at timestamptz,
    fully_signed_at timestamptz,
    signatures timestamptz[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS cp_notes_practice ON cp_notes (practice_id, service_date);
CREATE INDEX IF NOT EXISTS cp_notes_appointment ON cp_notes (appointment_id);
CREATE INDEX IF NOT EXISTS cp_notes_kind ON cp_notes (practice_id, note_type);
CREATE TABLE IF NOT EXISTS cp_supervision (
    session_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    supervisee_id uuid NOT NULL,
    supervisor_id uuid NOT NULL,
    session_date date NOT NULL,
    hours numeric NOT NULL,
    logged_at timestamptz NOT NULL,
    signed_at timestamptz
);
CREATE INDEX IF NOT EXISTS cp_supervision_practice ON cp_supervision (practice_id, session_date);
CREATE TABLE IF NOT EXISTS cp_alerts (
    alert_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    key text NOT NULL,
    rule_code text NOT NULL,
    step text NOT NULL,
    rule_version integer NOT NULL,
    kind text NOT NULL,
    severity text NOT NULL,
    target text NOT NULL,
    subject_type text NOT NULL,
    subject_id uuid,
    period date,
    client_id uuid,
    clinician_id uuid,
    supervisor_id uuid,
    message text NOT NULL,
    action text NOT NULL,
    violation boolean NOT NULL,
    since date NOT NULL,
    due date,
    status text NOT NULL,
    opened_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by uuid,
    acknowledged_note text,
    resolved_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS cp_alerts_current ON cp_alerts (practice_id, key) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS cp_alerts_practice ON cp_alerts (practice_id, status, opened_at);
CREATE TABLE IF NOT EXISTS compliance_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

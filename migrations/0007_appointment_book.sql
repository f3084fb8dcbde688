-- depends: 0006_members_and_access_alerts

-- Every appointment as it stands now: calendars, client history, the today board, .ics feeds.
-- Ids, codes and times only: no client names or other PHI.
CREATE TABLE IF NOT EXISTS appointment_book (
    appointment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    appointment_type text NOT NULL,
    modality text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    status text NOT NULL,
    series_id uuid,
    rescheduled_from uuid,
    replacement_id uuid,
    booked_at timestamptz NOT NULL,
    cancelled_by text,
    late boolean NOT NULL DEFAULT false,
    unrecorded_at timestamptz,
    version integer NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS appointment_book_clinician ON appointment_book (clinician_id, starts_at);
CREATE INDEX IF NOT EXISTS appointment_book_practice ON appointment_book (practice_id, starts_at);
CREATE INDEX IF NOT EXISTS appointment_book_client ON appointment_book (client_id, starts_at);
CREATE INDEX IF NOT EXISTS appointment_book_open ON appointment_book (starts_at)
    WHERE status IN ('scheduled', 'confirmed', 'checked_in') AND unrecorded_at IS NULL;
CREATE TABLE IF NOT EXISTS appointments_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

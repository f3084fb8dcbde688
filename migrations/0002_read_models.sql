-- depends: 0001_event_store

-- Client directory. No plaintext PHI: names and date of birth are searchable through keyed
-- hashes (blind index) and shown from `display`, encrypted with the client's own data key.
CREATE TABLE IF NOT EXISTS client_directory (
    client_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    seq bigint NOT NULL,
    status text NOT NULL,
    care_level text NOT NULL,
    name_tokens bigint[] NOT NULL DEFAULT '{}',
    dob_token bigint,
    display bytea,
    care_team uuid[] NOT NULL DEFAULT '{}',
    erased boolean NOT NULL DEFAULT false,
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS client_directory_practice_seq ON client_directory (practice_id, seq);
CREATE INDEX IF NOT EXISTS client_directory_tokens ON client_directory USING gin (name_tokens);
CREATE INDEX IF NOT EXISTS client_directory_dob ON client_directory (practice_id, dob_token);
CREATE TABLE IF NOT EXISTS clients_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

CREATE TABLE IF NOT EXISTS staff_directory (
    staff_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    full_name text NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    license_type text,
    active boolean NOT NULL,
    registered_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_directory_practice_role ON staff_directory (practice_id, role);
CREATE INDEX IF NOT EXISTS staff_directory_practice_email ON staff_directory (practice_id, email);
CREATE TABLE IF NOT EXISTS staff_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

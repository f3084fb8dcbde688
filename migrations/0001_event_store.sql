-- The one event store: eventsourcing 9.5's stored-events layout, plus what the audit trail needs
-- beside it (per-client data keys, the subject index, sealed blocks).

CREATE TABLE IF NOT EXISTS careledger_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS careledger_events_notification_id_idx
    ON careledger_events (notification_id ASC);

-- The row type eventsourcing's recorder inserts through (unnest of an array of these).
DO $$ BEGIN
    CREATE TYPE stored_event_uuid AS (
        originator_id uuid, originator_version bigint, topic text, state bytea
    );
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- Per-subject (client) data keys, AES-256 wrapped by the master key. Shredding sets wrapped_key
-- to NULL: the PHI in that client's events can then never be decrypted again.
CREATE TABLE IF NOT EXISTS phi_keys (
    subject_id uuid PRIMARY KEY,
    wrapped_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    shredded_at timestamptz
);

-- Which events are about which client, written in the same transaction as the events.
CREATE TABLE IF NOT EXISTS event_subjects (
    subject_id uuid NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (subject_id, notification_id)
);

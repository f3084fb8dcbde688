-- depends: 0002_read_models

-- Tamper evidence for the event store: events hashed in notification order into sealed blocks.
-- Each block's root = sha256(prev_root || block_no || leaf hashes), signed with the audit
-- signing key (Ed25519). notification_ids lists the ids sealed (bigserial ids have gaps), in
-- the same order as the 32-byte leaf hashes concatenated in leaf_hashes.
CREATE TABLE IF NOT EXISTS audit_blocks (
    block_no bigint PRIMARY KEY,
    first_notification_id bigint NOT NULL,
    last_notification_id bigint NOT NULL,
    event_count integer NOT NULL,
    notification_ids bigint[] NOT NULL,
    leaf_hashes bytea NOT NULL,
    prev_root bytea NOT NULL,
    root bytea NOT NULL,
    signature bytea NOT NULL,
    key_fingerprint text NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS audit_blocks_last_notification_id
    ON audit_blocks (last_notification_id);

-- depends: 0004_event_subjects_by_position

-- Outgoing mail. transport 'recorded': kept here instead of being sent (no SMTP configured;
-- listed at GET /api/v1/dev/outbox in dev mode). transport 'smtp': only the idempotency record
-- of a keyed send (no bodies), so a retry with the same key does not send twice.
-- Attachments are described (filename, content_type, size, sha256), never stored.
CREATE TABLE IF NOT EXISTS outbox_mail (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    idempotency_key text UNIQUE,
    practice_id uuid,
    to_address text NOT NULL,
    subject text NOT NULL,
    text_body text,
    html_body text,
    attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
    transport text NOT NULL CHECK (transport IN ('recorded', 'smtp')),
    status text NOT NULL CHECK (status IN ('recorded', 'sending', 'sent', 'failed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_mail_recent ON outbox_mail (transport, seq DESC);

-- depends: 0006_members_and_access_alerts

-- Inbound SMS routing: the practice a text was sent to (its SMS number, not PHI) and the client
-- it came from. Client numbers are never stored: only a keyed hash (per practice) of the number
-- in E.164 form; NULL when the client has no readable number.
CREATE TABLE IF NOT EXISTS sms_practice_numbers (
    practice_id uuid PRIMARY KEY,
    sms_number text NOT NULL
);
CREATE INDEX IF NOT EXISTS sms_practice_numbers_number ON sms_practice_numbers (sms_number);
CREATE TABLE IF NOT EXISTS sms_client_phones (
    client_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    phone_token bigint
);
CREATE INDEX IF NOT EXISTS sms_client_phones_lookup ON sms_client_phones (practice_id, phone_token)
    WHERE phone_token IS NOT NULL;
CREATE TABLE IF NOT EXISTS sms_routing_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

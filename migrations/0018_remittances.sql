-- depends: 0016_billing_ledger

-- 835 remittances (projections/remittances.py): one row per uploaded file with its counts,
-- totals and latest matching run; one row per claim of a file with its outcome (the review queue
-- is status 'review'); the insurance payment each transaction set recorded. Ids, codes, claim
-- numbers and amounts only: the patients' names and member ids stay in the stored 835.
CREATE TABLE IF NOT EXISTS remittances (
    remittance_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    filename text NOT NULL,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    uploaded_at timestamptz NOT NULL,
    uploaded_by uuid NOT NULL,
    interchanges integer NOT NULL DEFAULT 0,
    transaction_sets integer NOT NULL DEFAULT 0,
    claims integer NOT NULL DEFAULT 0,
    payers text[] NOT NULL DEFAULT '{}',
    balanced boolean NOT NULL DEFAULT true,
    findings integer NOT NULL DEFAULT 0,
    charged numeric NOT NULL DEFAULT 0,
    paid numeric NOT NULL DEFAULT 0,
    adjusted numeric NOT NULL DEFAULT 0,
    patient_responsibility numeric NOT NULL DEFAULT 0,
    provider_adjustments numeric NOT NULL DEFAULT 0,
    payment numeric NOT NULL DEFAULT 0,
    level_1 integer NOT NULL DEFAULT 0,
    level_2 integer NOT NULL DEFAULT 0,
    level_3 integer NOT NULL DEFAULT 0,
    level_4 integer NOT NULL DEFAULT 0,
    manual integer NOT NULL DEFAULT 0,
    unmatched integer NOT NULL DEFAULT 0,
    auto_match_rate numeric NOT NULL DEFAULT 0,
    unmatched_paid numeric NOT NULL DEFAULT 0,
    posted_payments numeric NOT NULL DEFAULT 0,
    posted_adjustments numeric NOT NULL DEFAULT 0,
    postings integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    refused integer NOT NULL DEFAULT 0,
    run integer NOT NULL DEFAULT 0,
    rules_version integer,
    last_run_at timestamptz,
    status text NOT NULL  -- uploaded | needs_review | processed
);
CREATE INDEX IF NOT EXISTS remittances_practice_uploaded
    ON remittances (practice_id, uploaded_at DESC, remittance_id DESC);

CREATE TABLE IF NOT EXISTS remittance_claims (
    remittance_id uuid NOT NULL,
    claim_key text NOT NULL,
    practice_id uuid NOT NULL,
    transaction_set integer NOT NULL,
    position integer NOT NULL,
    claim_number text NOT NULL,
    payer_claim_number text NOT NULL,
    claim_status text NOT NULL,
    charged numeric,
    paid numeric,
    reversal boolean NOT NULL,
    level text NOT NULL,  -- 1 | 2 | 3 | 4 | manual | 5 (review)
    confidence numeric NOT NULL,
    charge_ids uuid[] NOT NULL,
    suggestions jsonb NOT NULL DEFAULT '[]',
    reasons text[] NOT NULL DEFAULT '{}',
    status text NOT NULL,  -- matched | review | resolved | dismissed
    posted numeric NOT NULL DEFAULT 0,
    run integer NOT NULL,
    PRIMARY KEY (remittance_id, claim_key)
);
CREATE INDEX IF NOT EXISTS remittance_claims_order ON remittance_claims (remittance_id, transaction_set, position);
CREATE INDEX IF NOT EXISTS remittance_claims_review ON remittance_claims (practice_id) WHERE status = 'review';

CREATE TABLE IF NOT EXISTS remittance_payments (
    payment_id uuid PRIMARY KEY,
    remittance_id uuid NOT NULL,
    practice_id uuid NOT NULL
);

CREATE TABLE IF NOT EXISTS remittances_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

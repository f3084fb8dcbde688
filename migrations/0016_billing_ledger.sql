-- depends: 0015_compliance

-- The billing ledger (issue 6): charges with their running totals, every ledger entry, payments
-- with their applications and refunds, and completed visits (for charge on completion and the
-- billing compliance rate). Ids, codes, dates and amounts only: diagnosis codes (PHI) and free-text
-- notes and reasons stay in the encrypted events.
CREATE TABLE IF NOT EXISTS billing_charges (
    charge_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    appointment_id uuid,
    service_date date NOT NULL,
    cpt text NOT NULL,
    modifiers text[] NOT NULL,
    units numeric(7, 2) NOT NULL,
    unit_fee numeric(12, 2) NOT NULL,
    amount numeric(12, 2) NOT NULL,
    paid numeric(12, 2) NOT NULL DEFAULT 0,
    adjusted numeric(12, 2) NOT NULL DEFAULT 0,
    transferred numeric(12, 2) NOT NULL DEFAULT 0,
    balance numeric(12, 2) NOT NULL,
    status text NOT NULL,
    payer text,
    claim_number text,
    line_ref text NOT NULL,
    invoice_id uuid,
    entered_at timestamptz NOT NULL,
    entered_by uuid NOT NULL,
    billed_at timestamptz,
    voided boolean NOT NULL DEFAULT false,
    voided_at timestamptz
);
CREATE INDEX IF NOT EXISTS billing_charges_practice_date
    ON billing_charges (practice_id, service_date DESC, entered_at DESC, charge_id DESC);
CREATE INDEX IF NOT EXISTS billing_charges_client ON billing_charges (practice_id, client_id, service_date);
CREATE INDEX IF NOT EXISTS billing_charges_clinician ON billing_charges (practice_id, clinician_id, service_date);
CREATE INDEX IF NOT EXISTS billing_charges_appointment ON billing_charges (appointment_id)
    WHERE appointment_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_charges_claim ON billing_charges (practice_id, claim_number)
    WHERE claim_number IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_charges_line_ref ON billing_charges (practice_id, line_ref);

-- One row per ledger entry; `active` is false once a payment is unapplied or an invoice transfer
-- released. Amounts are positive except remittance reversals.
CREATE TABLE IF NOT EXISTS billing_entries (
    charge_id uuid NOT NULL,
    entry_id text NOT NULL,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    kind text NOT NULL,  -- payment | adjustment | write_off | transfer
    amount numeric(12, 2) NOT NULL,
    source text NOT NULL,  -- manual | card | remittance
    payment_id uuid,
    invoice_id uuid,
    remittance_id uuid,
    group_code text,
    reason_code text,
    remark_codes text[] NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL,
    active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (charge_id, entry_id)
);
CREATE INDEX IF NOT EXISTS billing_entries_practice_at ON billing_entries (practice_id, at);
CREATE INDEX IF NOT EXISTS billing_entries_payment ON billing_entries (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_entries_remittance ON billing_entries (remittance_id)
    WHERE remittance_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS billing_payments (
    payment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid,
    payer text,
    method text NOT NULL,  -- cash | check | card | insurance | other
    source text NOT NULL,  -- manual | card | remittance
    amount numeric(12, 2) NOT NULL,
    applied numeric(12, 2) NOT NULL DEFAULT 0,
    refunded numeric(12, 2) NOT NULL DEFAULT 0,
    unapplied numeric(12, 2) NOT NULL,
    received_on date NOT NULL,
    received_at timestamptz NOT NULL,
    check_number text,
    reference text
);
CREATE INDEX IF NOT EXISTS billing_payments_practice_date
    ON billing_payments (practice_id, received_on DESC, received_at DESC, payment_id DESC);
CREATE INDEX IF NOT EXISTS billing_payments_client ON billing_payments (practice_id, client_id);

CREATE TABLE IF NOT EXISTS billing_applications (
    application_id uuid PRIMARY KEY,
    payment_id uuid NOT NULL,
    practice_id uuid NOT NULL,
    target text NOT NULL,  -- charge | invoice
    target_id uuid NOT NULL,
    amount numeric(12, 2) NOT NULL,
    active boolean NOT NULL DEFAULT true,
    at timestamptz NOT NULL,
    unapplied_at timestamptz
);
CREATE INDEX IF NOT EXISTS billing_applications_payment ON billing_applications (payment_id);
CREATE INDEX IF NOT EXISTS billing_applications_target ON billing_applications (target_id);

CREATE TABLE IF NOT EXISTS billing_refunds (
    payment_id uuid NOT NULL,
    refund_id text NOT NULL,
    practice_id uuid NOT NULL,
    amount numeric(12, 2) NOT NULL,
    reference text,
    at timestamptz NOT NULL,
    PRIMARY KEY (payment_id, refund_id)
);
CREATE INDEX IF NOT EXISTS billing_refunds_practice_at ON billing_refunds (practice_id, at);

-- Completed appointments: service_date is the practice-local date of the start; charge_id the
-- live charge linked to the visit (NULL: the visit needs a charge).
CREATE TABLE IF NOT EXISTS billing_visits (
    appointment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    appointment_type text NOT NULL,
    service_date date NOT NULL,
    completed_at timestamptz NOT NULL,
    charge_id uuid
);
CREATE INDEX IF NOT EXISTS billing_visits_practice_date ON billing_visits (practice_id, service_date);
CREATE INDEX IF NOT EXISTS billing_visits_uncharged ON billing_visits (completed_at) WHERE charge_id IS NULL;

-- Working tables: appointments booked and not yet closed (the start, clinician and type a
-- completion needs), practice time zones and charge policy, and notes linked to appointments.
CREATE TABLE IF NOT EXISTS billing_appointments (
    appointment_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    clinician_id uuid NOT NULL,
    appointment_type text NOT NULL,
    starts_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS billing_practices (
    practice_id uuid PRIMARY KEY,
    fee_schedule_id uuid NOT NULL UNIQUE,
    time_zone text NOT NULL,
    charge_on_completion boolean NOT NULL DEFAULT false,
    policy_since timestamptz
);
CREATE TABLE IF NOT EXISTS billing_visit_notes (
    note_id uuid PRIMARY KEY,
    appointment_id uuid NOT NULL,
    practice_id uuid NOT NULL,
    drafted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS billing_visit_notes_appointment ON billing_visit_notes (appointment_id);

CREATE TABLE IF NOT EXISTS billing_ledger_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

-- depends: 0016_billing_ledger 0017_invoices 0018_remittances

-- Accounts receivable reports (projections/billing_reports.py). They read the billing ledger
-- (0016), the invoices (0017) and the matched 835 claims (0018) as of a moment; the one fact
-- those tables do not date is an invoice write-off, kept here with its time. Ids, amounts and
-- times only (the reason is free text and stays in the event).
CREATE TABLE IF NOT EXISTS billing_report_invoice_write_offs (
    invoice_id uuid NOT NULL,
    entry_id text NOT NULL,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    amount numeric(12, 2) NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, entry_id)
);
CREATE INDEX IF NOT EXISTS billing_report_invoice_write_offs_practice_at
    ON billing_report_invoice_write_offs (practice_id, at);

-- Which practice an invoice is of (write-off events do not say).
CREATE TABLE IF NOT EXISTS billing_reports_invoices (
    invoice_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL
);

-- Range scans of a practice's money by time (aging and reconciliation as of a moment, revenue
-- over a date range, and whether anything is recorded after a moment).
CREATE INDEX IF NOT EXISTS billing_applications_practice_at ON billing_applications (practice_id, at);
CREATE INDEX IF NOT EXISTS billing_applications_practice_unapplied
    ON billing_applications (practice_id, unapplied_at) WHERE unapplied_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_charges_open ON billing_charges (practice_id, client_id)
    WHERE balance <> 0 AND NOT voided;
CREATE INDEX IF NOT EXISTS billing_charges_practice_entered ON billing_charges (practice_id, entered_at);
CREATE INDEX IF NOT EXISTS billing_charges_practice_voided ON billing_charges (practice_id, voided_at)
    WHERE voided_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_charges_practice_billed ON billing_charges (practice_id, billed_at)
    WHERE billed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_practice_sent ON invoices (practice_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS invoices_practice_voided ON invoices (practice_id, voided_at) WHERE voided_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS billing_payments_practice_received_at ON billing_payments (practice_id, received_at);
-- The claim acceptance rate: the 835 answers matched to a practice's charges.
CREATE INDEX IF NOT EXISTS remittance_claims_practice_matched ON remittance_claims (practice_id)
    WHERE status IN ('matched', 'resolved');

CREATE TABLE IF NOT EXISTS billing_reports_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

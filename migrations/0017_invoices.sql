-- depends: 0015_compliance

-- Client invoices (domain/billing/invoice.py): one row per invoice with its figures as on the
-- aggregate (total = paid + written_off + balance), and one row per line. Numbers, codes, dates,
-- amounts and service descriptions only: the invoice notes (PHI, encrypted in the events) are not
-- copied here. Written by projections/invoices.py; lists, the overdue sweep and the reports read it.
CREATE TABLE IF NOT EXISTS invoices (
    invoice_id uuid PRIMARY KEY,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    number text NOT NULL,
    status text NOT NULL,  -- draft | sent | partially_paid | paid | overdue | void
    issued_on date NOT NULL,  -- practice-local date the invoice (and its number) was created
    due_on date NOT NULL,
    discount_kind text,  -- amount | percent | NULL
    discount_value numeric(12, 2),
    tax_rate numeric(6, 3) NOT NULL,  -- percent
    subtotal numeric(12, 2) NOT NULL,
    discount numeric(12, 2) NOT NULL,
    tax numeric(12, 2) NOT NULL,
    total numeric(12, 2) NOT NULL,
    paid numeric(12, 2) NOT NULL,
    written_off numeric(12, 2) NOT NULL,
    balance numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at timestamptz,
    emailed boolean NOT NULL DEFAULT false,
    paid_at timestamptz,  -- when the balance last reached zero (NULL while open)
    voided_at timestamptz,
    overdue_since date,  -- the first day past due, recorded by the sweep
    line_count integer NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS invoices_practice_number ON invoices (practice_id, number);
CREATE INDEX IF NOT EXISTS invoices_practice_client ON invoices (practice_id, client_id, number);
CREATE INDEX IF NOT EXISTS invoices_practice_status ON invoices (practice_id, status, number);
CREATE INDEX IF NOT EXISTS invoices_open_due ON invoices (due_on) WHERE status IN ('sent', 'partially_paid');

CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_id uuid NOT NULL,
    line_no integer NOT NULL,
    practice_id uuid NOT NULL,
    client_id uuid NOT NULL,
    kind text NOT NULL,  -- charge | service
    description text NOT NULL,
    service_date date NOT NULL,
    quantity numeric(12, 2) NOT NULL,  -- units or hours
    unit_price numeric(12, 2) NOT NULL,  -- unit fee or hourly rate
    amount numeric(12, 2) NOT NULL,
    taxable boolean NOT NULL,
    charge_id uuid,
    cpt text,
    modifiers text[] NOT NULL,
    PRIMARY KEY (invoice_id, line_no)
);
CREATE INDEX IF NOT EXISTS invoice_lines_charge ON invoice_lines (charge_id) WHERE charge_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS invoices_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);

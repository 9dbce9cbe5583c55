-- Per unit and person-month, the unit's newest record where another unit's newer record is current
-- (Displacement: a person two villages reported in one month). Control totals count these beside
-- the ledger's rows, and receipts name them, so that the earlier village's month still balances.
CREATE TABLE person_ledger_displaced (
    period date NOT NULL,
    unit_code char(12) NOT NULL,
    person_key bytea NOT NULL,
    record_id uuid NOT NULL,
    reported_at_ms bigint NOT NULL,
    PRIMARY KEY (period, unit_code, person_key)
);

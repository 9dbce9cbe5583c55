-- Every version of every unit-month row, stamped with the transaction's time: the figures
-- "as they stood" at a past date, and the difference between a preliminary and a revised month.
CREATE TABLE unit_month_count_history (LIKE unit_month_counts INCLUDING DEFAULTS);
ALTER TABLE unit_month_count_history ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX unit_month_count_history_lookup ON unit_month_count_history (unit_code, period, recorded_at);
INSERT INTO unit_month_count_history SELECT c.*, c.updated_at FROM unit_month_counts AS c;
CREATE FUNCTION empmon_keep_count_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unit_month_count_history SELECT NEW.*, now();
    RETURN NULL;
END;
$$;
CREATE TRIGGER unit_month_counts_history AFTER INSERT OR UPDATE ON unit_month_counts
    FOR EACH ROW EXECUTE FUNCTION empmon_keep_count_history();

-- Stored forecasts (`empmon forecast --indicator`): one run per indicator and origin.
CREATE TABLE forecast_runs (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    indicator text NOT NULL,
    origin date NOT NULL,
    horizon integer NOT NULL CHECK (horizon BETWEEN 1 AND 120),
    reconciliation text NOT NULL,
    shrinkage double precision,
    series integer NOT NULL
);
CREATE INDEX forecast_runs_latest ON forecast_runs (indicator, created_at DESC);
CREATE TABLE forecasts (
    run_id bigint NOT NULL REFERENCES forecast_runs (id) ON DELETE CASCADE,
    unit_code char(12) NOT NULL,
    period date NOT NULL,
    model text NOT NULL,
    mean double precision NOT NULL,
    lo80 double precision, hi80 double precision,
    lo95 double precision, hi95 double precision,
    PRIMARY KEY (run_id, unit_code, period)
);

-- Alerts: one open alert (pending or firing) per rule and unit; resolved ones stay as history.
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    rule_id text NOT NULL,
    unit_code char(12) NOT NULL,
    indicator text NOT NULL,
    severity text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    since_period date NOT NULL,
    last_period date NOT NULL,
    value double precision,
    threshold double precision,
    message text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    fired_at timestamptz,
    resolved_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alerts_open ON alerts (rule_id, unit_code) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts (state, updated_at DESC);
-- Outbox of lifecycle events, written in the transaction that changes the alert; delivered to the
-- alerts topic and to each webhook until it succeeds.
CREATE TABLE alert_events (
    id bigserial PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES alerts (id),
    event text NOT NULL CHECK (event IN ('firing', 'resolved')),
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE alert_deliveries (
    event_id bigint NOT NULL REFERENCES alert_events (id),
    target text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    last_error text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, target)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE delivered_at IS NULL;

-- Months are stored as the first day of the month. Partitioned tables get one partition per
-- month (empmon_ensure_month), so a closed year can be detached and archived.

-- The newest version of every person's record for every month (DESIGN.md: a later version
-- of the same person and month replaces the earlier one). Versions order by
-- (reported_at_ms, record_id).
CREATE TABLE person_ledger (
    period date NOT NULL CHECK (extract(day FROM period) = 1),
    person_key bytea NOT NULL CHECK (length(person_key) = 32),
    record_id uuid NOT NULL,
    unit_code char(12) NOT NULL,
    household_key bytea NOT NULL,
    birth_year smallint NOT NULL,
    sex text NOT NULL,
    status text NOT NULL,
    employment_form text,
    work_location text,
    sector char(1),
    registered_unemployed boolean NOT NULL,
    groups text[] NOT NULL,
    seeking_work boolean NOT NULL,
    assisted boolean NOT NULL,
    trained boolean NOT NULL,
    income_band text,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_key, period)
) PARTITION BY RANGE (period);

-- Versions that a newer one replaced, kept so that past figures can be reconstructed.
CREATE TABLE person_ledger_superseded (
    LIKE person_ledger INCLUDING DEFAULTS,
    superseded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_ledger_superseded_key ON person_ledger_superseded (person_key, period);

-- Members of each household in each village and month who are in the labour force and
-- employed: zero-employment households are counted from these.
CREATE TABLE household_members (
    period date NOT NULL,
    unit_code char(12) NOT NULL,
    household_key bytea NOT NULL,
    in_labour_force integer NOT NULL CHECK (in_labour_force >= 0),
    employed integer NOT NULL CHECK (employed >= 0),
    PRIMARY KEY (period, unit_code, household_key)
) PARTITION BY RANGE (period);

-- Person records per village and month: a village has reported when it is above zero.
CREATE TABLE village_reports (
    period date NOT NULL,
    unit_code char(12) NOT NULL,
    persons integer NOT NULL CHECK (persons >= 0),
    PRIMARY KEY (period, unit_code)
);

-- The newest activity report of every township and county station for every month.
CREATE TABLE activity_ledger (
    period date NOT NULL CHECK (extract(day FROM period) = 1),
    unit_code char(12) NOT NULL,
    record_id uuid NOT NULL,
    counters jsonb NOT NULL,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_code, period)
);
CREATE TABLE activity_ledger_superseded (
    LIKE activity_ledger INCLUDING DEFAULTS,
    superseded_at timestamptz NOT NULL DEFAULT now()
);

-- Months with data. Opening a month stores every unit's expected reporting villages.
CREATE TABLE monitored_periods (
    period date PRIMARY KEY CHECK (extract(day FROM period) = 1),
    opened_at timestamptz NOT NULL DEFAULT now()
);

-- Every count indicator of every unit at all four tiers for every month, one row per unit and
-- month (one column per indicator of IndicatorCatalogue.counts and .activity; a test keeps them in
-- step). Rates are not stored: they are ratios of these (IndicatorCatalogue.rates).
CREATE TABLE unit_month_counts (
    period date NOT NULL,
    unit_code char(12) NOT NULL,
    labour_force bigint NOT NULL DEFAULT 0,
    employed bigint NOT NULL DEFAULT 0,
    unemployed bigint NOT NULL DEFAULT 0,
    registered_unemployed bigint NOT NULL DEFAULT 0,
    new_employment bigint NOT NULL DEFAULT 0,
    new_urban_employment bigint NOT NULL DEFAULT 0,
    reemployed bigint NOT NULL DEFAULT 0,
    hard_to_employ_reemployed bigint NOT NULL DEFAULT 0,
    rural_labour_employed bigint NOT NULL DEFAULT 0,
    rural_labour_employed_local bigint NOT NULL DEFAULT 0,
    rural_labour_employed_in_province bigint NOT NULL DEFAULT 0,
    rural_labour_employed_out_of_province bigint NOT NULL DEFAULT 0,
    zero_employment_households bigint NOT NULL DEFAULT 0,
    trained bigint NOT NULL DEFAULT 0,
    assisted bigint NOT NULL DEFAULT 0,
    assistance_target bigint NOT NULL DEFAULT 0,
    unemployed_last_month bigint NOT NULL DEFAULT 0,
    college_graduates bigint NOT NULL DEFAULT 0,
    college_graduates_employed bigint NOT NULL DEFAULT 0,
    reporting_units bigint NOT NULL DEFAULT 0,
    expected_units bigint NOT NULL DEFAULT 0,
    jobs_collected bigint NOT NULL DEFAULT 0,
    recruitment_events bigint NOT NULL DEFAULT 0,
    internship_posts bigint NOT NULL DEFAULT 0,
    gig_market_services bigint NOT NULL DEFAULT 0,
    entrepreneurship_trainees bigint NOT NULL DEFAULT 0,
    jobs_created_by_entrepreneurship bigint NOT NULL DEFAULT 0,
    training_completions bigint NOT NULL DEFAULT 0,
    labour_disputes_handled bigint NOT NULL DEFAULT 0,
    wage_arrears_cases bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (period, unit_code)
);
CREATE INDEX unit_month_counts_unit ON unit_month_counts (unit_code, period);
-- The same in long form, for queries and dashboards: one row per unit, month and indicator.
CREATE VIEW indicator_values AS
    SELECT c.period, c.unit_code, v.indicator, v.value, c.updated_at
    FROM unit_month_counts AS c CROSS JOIN LATERAL (VALUES
        ('labour_force', c.labour_force),
        ('employed', c.employed),
        ('unemployed', c.unemployed),
        ('registered_unemployed', c.registered_unemployed),
        ('new_employment', c.new_employment),
        ('new_urban_employment', c.new_urban_employment),
        ('reemployed', c.reemployed),
        ('hard_to_employ_reemployed', c.hard_to_employ_reemployed),
        ('rural_labour_employed', c.rural_labour_employed),
        ('rural_labour_employed_local', c.rural_labour_employed_local),
        ('rural_labour_employed_in_province', c.rural_labour_employed_in_province),
        ('rural_labour_employed_out_of_province', c.rural_labour_employed_out_of_province),
        ('zero_employment_households', c.zero_employment_households),
        ('trained', c.trained),
        ('assisted', c.assisted),
        ('assistance_target', c.assistance_target),
        ('unemployed_last_month', c.unemployed_last_month),
        ('college_graduates', c.college_graduates),
        ('college_graduates_employed', c.college_graduates_employed),
        ('reporting_units', c.reporting_units),
        ('expected_units', c.expected_units),
        ('jobs_collected', c.jobs_collected),
        ('recruitment_events', c.recruitment_events),
        ('internship_posts', c.internship_posts),
        ('gig_market_services', c.gig_market_services),
        ('entrepreneurship_trainees', c.entrepreneurship_trainees),
        ('jobs_created_by_entrepreneurship', c.jobs_created_by_entrepreneurship),
        ('training_completions', c.training_completions),
        ('labour_disputes_handled', c.labour_disputes_handled),
        ('wage_arrears_cases', c.wage_arrears_cases)
    ) AS v (indicator, value);

-- Records the processor refused, with the reason (DESIGN.md invariant 3).
CREATE TABLE rejections (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    record_id text,
    agent_id text,
    unit_code text,
    reason_code text NOT NULL,
    field text NOT NULL DEFAULT '',
    message_zh text NOT NULL,
    message_en text NOT NULL,
    payload bytea NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX rejections_reason ON rejections (reason_code, rejected_at);

-- Creates the month partitions of the partitioned tables if they are missing. Concurrent
-- callers wait for each other instead of failing on "already exists".
CREATE FUNCTION empmon_ensure_month(month date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    child text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('empmon_ensure_month'));
    FOREACH parent IN ARRAY ARRAY['person_ledger', 'household_members'] LOOP
        child := parent || '_' || to_char(month, 'YYYY_MM');
        IF to_regclass(child) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                child, parent, month, (month + interval '1 month')::date);
        END IF;
    END LOOP;
END;
$$;

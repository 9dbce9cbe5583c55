import Postgres

/// The database schema of the employment monitor, as versioned migrations (`empmon db migrate`).
///
/// Never edit a migration that has shipped: the migrator refuses a changed checksum. Add a new one.
package enum Schema {
    package static let migrations: [PostgresMigration] = [
        PostgresMigration(
            version: 1, name: "consumer offsets",
            sql: """
                -- The processor stores the next offset of every partition here, in the same transaction
                -- as the aggregates it derived from the messages before it (exactly-once, DESIGN.md).
                CREATE TABLE consumer_offsets (
                    consumer_group text NOT NULL,
                    topic text NOT NULL,
                    partition integer NOT NULL CHECK (partition >= 0),
                    next_offset bigint NOT NULL CHECK (next_offset >= 0),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (consumer_group, topic, partition)
                );
                """),
        PostgresMigration(
            version: 2, name: "agent registry and city keys",
            sql: """
                -- Agents the city accepts records from. The secret is kept (not hashed) because HMAC
                -- verification needs it; the table is readable by the processor role only (Deploy/).
                CREATE TABLE agents (
                    agent_id text PRIMARY KEY,
                    unit_code char(12) NOT NULL CHECK (unit_code ~ '^[0-9]{12}$'),
                    name text NOT NULL DEFAULT '',
                    secret bytea NOT NULL CHECK (length(secret) >= 32),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    revoked_at timestamptz
                );
                CREATE INDEX agents_unit ON agents (unit_code);
                -- City-wide keys, e.g. the pseudonymization key every agent derives person keys with.
                CREATE TABLE city_keys (
                    purpose text PRIMARY KEY,
                    key bytea NOT NULL CHECK (length(key) >= 32),
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                """),
        PostgresMigration(
            version: 3, name: "ledger, derived counts, indicators, rejections",
            sql: """
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
                """),
        PostgresMigration(
            version: 4, name: "indicator history, forecasts, alerts",
            sql: """
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
                """),
        PostgresMigration(
            version: 5, name: "API tokens",
            sql: """
                -- Bearer tokens of the HTTP API, scoped to a unit's subtree. Only the SHA-256 of a token is kept;
                -- the token itself is shown once, when it is created.
                CREATE TABLE api_tokens (
                    id bigserial PRIMARY KEY,
                    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
                    scope char(12) NOT NULL CHECK (scope ~ '^[0-9]{12}$'),
                    role text NOT NULL CHECK (role IN ('analyst', 'viewer')),
                    name text NOT NULL DEFAULT '',
                    created_at timestamptz NOT NULL DEFAULT now(),
                    last_used_at timestamptz,
                    revoked_at timestamptz
                );
                """),
        PostgresMigration(
            version: 6, name: "control totals",
            sql: """
                -- The manifests agents send after each submission: how many records a unit's month holds at the
                -- agent, and SHA-256 of their ids. Written with the batch that carries them; verify --manifests
                -- and the missing_records alert reconcile the ledger against the latest one of each unit-month.
                CREATE TABLE submission_manifests (
                    record_id uuid PRIMARY KEY,
                    agent_id text NOT NULL,
                    unit_code char(12) NOT NULL CHECK (unit_code ~ '^[0-9]{12}$'),
                    period date NOT NULL CHECK (extract(day FROM period) = 1),
                    kind text NOT NULL CHECK (kind IN ('person', 'activity')),
                    records integer NOT NULL CHECK (records >= 0),
                    digest bytea NOT NULL CHECK (length(digest) = 32),
                    reported_at_ms bigint NOT NULL,
                    accepted_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX submission_manifests_latest ON submission_manifests (period, unit_code, kind, reported_at_ms DESC, record_id DESC);
                """),
        PostgresMigration(
            version: 7, name: "indicator history by statement",
            sql: """
                -- The same history rows as migration 4's trigger, written once per statement from its transition
                -- table instead of once per row: a batch changes ~8,000 unit-month rows, and the row trigger's
                -- per-row PL/pgSQL call was most of the time of its indicator upsert.
                DROP TRIGGER unit_month_counts_history ON unit_month_counts;
                DROP FUNCTION empmon_keep_count_history();
                CREATE FUNCTION empmon_keep_count_history() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO unit_month_count_history SELECT changed.*, now() FROM changed;
                    RETURN NULL;
                END;
                $$;
                -- One trigger per event: a trigger with transition tables may have only one. An INSERT … ON CONFLICT
                -- DO UPDATE fires both, each with its own rows.
                CREATE TRIGGER unit_month_counts_history_inserted AFTER INSERT ON unit_month_counts
                    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION empmon_keep_count_history();
                CREATE TRIGGER unit_month_counts_history_updated AFTER UPDATE ON unit_month_counts
                    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION empmon_keep_count_history();
                """),
        PostgresMigration(
            version: 8, name: "urban labour force and urban registered unemployed",
            sql: """
                -- The bureau's registered unemployment rate (城镇登记失业率) is over the urban labour force: two counts
                -- of persons of urban communities. Months stored before this migration hold 0 in both, so their urban
                -- rate is absent (0 of 0) until the months are recomputed, never wrong.
                ALTER TABLE unit_month_counts
                    ADD COLUMN urban_labour_force bigint NOT NULL DEFAULT 0,
                    ADD COLUMN urban_registered_unemployed bigint NOT NULL DEFAULT 0;
                ALTER TABLE unit_month_count_history
                    ADD COLUMN urban_labour_force bigint NOT NULL DEFAULT 0,
                    ADD COLUMN urban_registered_unemployed bigint NOT NULL DEFAULT 0;
                -- The history's columns now end with recorded_at before the new ones: name them.
                CREATE OR REPLACE FUNCTION empmon_keep_count_history() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO unit_month_count_history (period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, recorded_at)
                    SELECT period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, now() FROM changed;
                    RETURN NULL;
                END;
                $$;
                CREATE OR REPLACE VIEW indicator_values AS
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
                        ('wage_arrears_cases', c.wage_arrears_cases),
                        ('urban_labour_force', c.urban_labour_force),
                        ('urban_registered_unemployed', c.urban_registered_unemployed)
                    ) AS v (indicator, value);
                """),
        PostgresMigration(
            version: 9, name: "new entrants of each village and month",
            sql: """
                -- Employed persons with no record in the month before, per village and month: they count as new
                -- employment when their village reported in the month before (IndicatorComputation's new-entrant
                -- rule). Filled here from the stored ledger so that later batches change it from the right base.
                -- The indicators of months stored before this migration keep the earlier rule (such persons never
                -- counted) until they are recomputed; `empmon verify` names each of them.
                ALTER TABLE village_reports
                    ADD COLUMN employed_new_to_ledger integer NOT NULL DEFAULT 0 CHECK (employed_new_to_ledger >= 0);
                UPDATE village_reports AS v SET employed_new_to_ledger = e.persons
                FROM (
                    SELECT m.period, m.unit_code, count(*) AS persons FROM person_ledger AS m
                    WHERE m.status = 'employed' AND NOT EXISTS (
                        SELECT 1 FROM person_ledger AS b
                        WHERE b.person_key = m.person_key AND b.period = (m.period - interval '1 month')::date)
                    GROUP BY m.period, m.unit_code
                ) AS e
                WHERE v.period = e.period AND v.unit_code = e.unit_code;
                """),
        PostgresMigration(
            version: 10, name: "room on each page for the next version of a count row",
            sql: """
                -- Every batch updates ~8,000 unit-month rows and ~2,600 village rows, each once. With pages half
                -- empty the new version of a row fits beside the old one and the update is HOT: neither of the
                -- table's indexes gets an entry. The upsert of 8,000 indicator rows took 158 ms on full pages and
                -- 93 ms at fillfactor 50. The pages written from now on leave the room; the tables are small
                -- (~33,000 and ~32,000 rows a year).
                ALTER TABLE unit_month_counts SET (fillfactor = 50);
                ALTER TABLE village_reports SET (fillfactor = 50);
                """),
        PostgresMigration(
            version: 11, name: "a count of the statements that write the ledger and its derived counts",
            sql: """
                -- A processor keeps the person records of recent months it read or wrote in memory, and may use
                -- them only while nobody else has written since. Every statement that writes the person ledger,
                -- the household counts or the village counts draws a number from ledger_writes (a draw is seen by
                -- every session at once and is never rolled back) and counts its own draws in a setting local to
                -- its transaction: a transaction reads last_value minus its own draws, and that stays the same
                -- exactly as long as no other statement wrote these tables. Statement triggers on the partitioned
                -- parents: a statement that names a month's partition directly is not counted.
                CREATE SEQUENCE ledger_writes;
                SELECT setval('ledger_writes', 1, true);
                CREATE FUNCTION empmon_count_ledger_write() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM nextval('ledger_writes');
                    PERFORM set_config('empmon.own_ledger_writes',
                        (coalesce(nullif(current_setting('empmon.own_ledger_writes', true), ''), '0')::bigint + 1)::text,
                        true);
                    RETURN NULL;
                END $$;
                CREATE TRIGGER person_ledger_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON person_ledger
                    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
                CREATE TRIGGER household_members_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON household_members
                    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
                CREATE TRIGGER village_reports_writes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON village_reports
                    FOR EACH STATEMENT EXECUTE FUNCTION empmon_count_ledger_write();
                """),
        PostgresMigration(
            version: 12, name: "receipts to agents",
            sql: """
                -- The city's receipts to agents (SubmissionReceipt, JSON): written in the transaction of the batch
                -- they describe, published to the receipts topic after it commits, then marked. A receipt of a
                -- batch that rolled back never exists, so it is never published.
                CREATE TABLE receipt_outbox (
                    id bigserial PRIMARY KEY,
                    agent_id text NOT NULL,
                    payload jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    published_at timestamptz
                );
                CREATE INDEX receipt_outbox_unpublished ON receipt_outbox (id) WHERE published_at IS NULL;
                """),
        PostgresMigration(
            version: 13, name: "records displaced by another unit's",
            sql: """
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
                """),
        PostgresMigration(
            version: 14, name: "agents' public keys",
            sql: """
                -- Agents sign with Ed25519 keys whose private halves never leave their computers; the city keeps
                -- the public halves. A key that was rotated out stops being accepted at retires_at.
                CREATE TABLE agent_keys (
                    agent_id text NOT NULL REFERENCES agents (agent_id),
                    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
                    public_key bytea NOT NULL CHECK (length(public_key) = 32),
                    registered_at timestamptz NOT NULL DEFAULT now(),
                    retires_at timestamptz,
                    PRIMARY KEY (agent_id, key_id)
                );
                -- An agent enrolled without a key proves its first key with a one-time code: the city keeps its
                -- SHA-256 only, so a copy of this table cannot enrol a key.
                ALTER TABLE agents ADD COLUMN enrolment_code_sha256 bytea, ADD COLUMN enrolment_expires_at timestamptz;
                -- HMAC secrets of agents enrolled before key pairs, apart, until `empmon agent end-hmac` drops the
                -- table: then the city holds no secret an agent signs with.
                CREATE TABLE legacy_hmac_secrets (
                    agent_id text PRIMARY KEY REFERENCES agents (agent_id),
                    secret bytea NOT NULL
                );
                INSERT INTO legacy_hmac_secrets (agent_id, secret) SELECT agent_id, secret FROM agents;
                ALTER TABLE agents DROP COLUMN secret;
                """),
        PostgresMigration(
            version: 15, name: "data quality of each village and month",
            sql: """
                -- The month a refused record was for, when it could be read: rejections counted by village and
                -- month in the data-quality view. Rows refused before this migration keep NULL.
                ALTER TABLE rejections ADD COLUMN period date;
                CREATE INDEX rejections_unit_month ON rejections (period, unit_code) WHERE period IS NOT NULL;
                -- What the ledger shows of each village's month (Situation.DataQualityView, Domain.VillageMonthMeasure):
                -- computed per month in one statement over two months of the ledger, kept until the month's counts,
                -- its month before's or its rejections change. quality_refreshes holds what they stood at: the sum of
                -- the transaction ids (xmin) of the two months' unit_month_counts rows, which every write of a row
                -- changes whatever order writers commit in, and the sum of the month's rejection ids.
                CREATE TABLE village_month_quality (
                    period date NOT NULL,
                    unit_code char(12) NOT NULL,
                    persons integer NOT NULL,
                    first_reported_ms bigint,
                    last_reported_ms bigint,
                    corrected_persons integer NOT NULL,
                    corrected_statuses integer NOT NULL,
                    last_correction_ms bigint,
                    reported_month_before boolean NOT NULL,
                    -- Persons in the village's ledger both months, by their status the month before: how many, how
                    -- many changed in some reported field, how many changed status.
                    by_status jsonb NOT NULL,
                    joined integer NOT NULL,
                    left_ledger integer NOT NULL,
                    double_reports jsonb NOT NULL,
                    rejected jsonb NOT NULL,
                    PRIMARY KEY (period, unit_code)
                );
                CREATE TABLE quality_refreshes (
                    period date PRIMARY KEY,
                    counts_version numeric NOT NULL,
                    rejections_version numeric NOT NULL,
                    refreshed_at timestamptz NOT NULL DEFAULT now()
                );
                -- Where a month's inputs stand: sums of the transaction ids (xmin) of its and its month before's count
                -- rows, and of its rejections' ids. Every batch that changes a person's record of the month changes some
                -- count of it, and a write changes the sums in whatever order writers commit, where a latest time or id
                -- would miss a writer that started earlier and committed later.
                CREATE FUNCTION empmon_quality_versions(target_month date, OUT counts numeric, OUT rejections numeric)
                LANGUAGE sql STABLE AS $fn$
                    SELECT (SELECT coalesce(sum(xmin::text::bigint), 0) FROM unit_month_counts
                            WHERE period IN (target_month, (target_month - interval '1 month')::date)),
                        (SELECT coalesce(sum(id), 0) FROM rejections WHERE period = target_month)
                $fn$;
                -- One month's measures of every village that holds persons or refused records, from the ledger of the
                -- month and the month before, the versions it replaced, the records another village's displaced, and the
                -- rejections, with the versions of the inputs they come from. A function of the owner's (SECURITY
                -- DEFINER in Deploy/postgres/roles.sql), so that the API, which may not read persons, can have them
                -- recomputed and read only the per-village counts. The months are not materialised: each use is a scan
                -- of one partition or index probes (6 s for a month of 1.7 million persons, 10 s materialised).
                CREATE FUNCTION empmon_refresh_village_quality(target_month date) RETURNS void LANGUAGE plpgsql AS $fn$
                BEGIN
                    -- One refresher per month at a time; the versions are read before the ledger, so a write during
                    -- the refresh leaves the month stale for the next reader. The statement joins two months of the
                    -- ledger: with the default 4 MB of work memory its hashes spill to disk.
                    PERFORM pg_advisory_xact_lock(hashtext('empmon.quality'),
                        (extract(year FROM target_month) * 12 + extract(month FROM target_month))::int);
                    PERFORM set_config('work_mem', '256MB', true);
                    INSERT INTO quality_refreshes (period, counts_version, rejections_version)
                    SELECT target_month, v.counts, v.rejections FROM empmon_quality_versions(target_month) AS v
                    ON CONFLICT (period) DO UPDATE SET counts_version = EXCLUDED.counts_version,
                        rejections_version = EXCLUDED.rejections_version, refreshed_at = now();
                    DELETE FROM village_month_quality WHERE period = target_month;
                    WITH cur AS NOT MATERIALIZED (
                        SELECT person_key, unit_code, reported_at_ms, l.status, l.employment_form, l.work_location, l.sector, l.registered_unemployed, l.groups, l.seeking_work, l.assisted, l.trained, l.income_band, l.household_key FROM person_ledger AS l WHERE period = target_month
                    ), prev AS NOT MATERIALIZED (
                        SELECT person_key, unit_code, l.status, l.employment_form, l.work_location, l.sector, l.registered_unemployed, l.groups, l.seeking_work, l.assisted, l.trained, l.income_band, l.household_key FROM person_ledger AS l
                        WHERE period = (target_month - interval '1 month')::date
                    ), versions AS (
                        SELECT unit_code, min(reported_at_ms) AS first_ms, max(reported_at_ms) AS last_ms FROM (
                            SELECT unit_code, reported_at_ms FROM cur
                            UNION ALL SELECT unit_code, reported_at_ms FROM person_ledger_superseded WHERE period = target_month
                            UNION ALL SELECT unit_code, reported_at_ms FROM person_ledger_displaced WHERE period = target_month
                        ) AS v GROUP BY unit_code
                    ), corrections AS (
                        SELECT c.unit_code, count(DISTINCT c.person_key) AS persons,
                            count(DISTINCT c.person_key) FILTER (WHERE s.status <> c.status) AS statuses,
                            max(c.reported_at_ms) AS last_ms
                        FROM cur AS c JOIN person_ledger_superseded AS s
                            ON s.period = target_month AND s.person_key = c.person_key AND s.unit_code = c.unit_code
                        WHERE ROW(s.status, s.employment_form, s.work_location, s.sector, s.registered_unemployed, s.groups, s.seeking_work, s.assisted, s.trained, s.income_band, s.household_key) IS DISTINCT FROM ROW(c.status, c.employment_form, c.work_location, c.sector, c.registered_unemployed, c.groups, c.seeking_work, c.assisted, c.trained, c.income_band, c.household_key)
                        GROUP BY c.unit_code
                    ), pairs AS (
                        SELECT coalesce(c.unit_code, p.unit_code) AS unit_code, c.person_key IS NOT NULL AS now_here,
                            p.person_key IS NOT NULL AS before_here, p.status AS status_before,
                            c.status IS DISTINCT FROM p.status AS status_changed,
                            ROW(c.status, c.employment_form, c.work_location, c.sector, c.registered_unemployed, c.groups, c.seeking_work, c.assisted, c.trained, c.income_band, c.household_key) IS DISTINCT FROM ROW(p.status, p.employment_form, p.work_location, p.sector, p.registered_unemployed, p.groups, p.seeking_work, p.assisted, p.trained, p.income_band, p.household_key) AS changed
                        FROM cur AS c FULL JOIN prev AS p ON p.person_key = c.person_key AND p.unit_code = c.unit_code
                    ), changes AS (
                        SELECT unit_code,
                            count(*) FILTER (WHERE now_here) AS persons,
                            count(*) FILTER (WHERE before_here) AS persons_before,
                            count(*) FILTER (WHERE now_here AND NOT before_here) AS joined,
                            count(*) FILTER (WHERE before_here AND NOT now_here) AS left_ledger
                        FROM pairs GROUP BY unit_code
                    ), by_status AS (
                        SELECT unit_code, jsonb_object_agg(status_before, jsonb_build_object(
                            'compared', compared, 'changed', changed, 'statusChanges', status_changes)) AS changes
                        FROM (
                            SELECT unit_code, status_before, count(*) AS compared, count(*) FILTER (WHERE changed) AS changed,
                                count(*) FILTER (WHERE status_changed) AS status_changes
                            FROM pairs WHERE now_here AND before_here GROUP BY unit_code, status_before
                        ) AS s GROUP BY unit_code
                    ), pairs_reported_twice AS (
                        SELECT d.unit_code, c.unit_code AS other, false AS kept_here
                        FROM person_ledger_displaced AS d JOIN cur AS c ON c.person_key = d.person_key
                        WHERE d.period = target_month AND d.unit_code <> c.unit_code
                        UNION ALL
                        SELECT c.unit_code, d.unit_code AS other, true AS kept_here
                        FROM person_ledger_displaced AS d JOIN cur AS c ON c.person_key = d.person_key
                        WHERE d.period = target_month AND d.unit_code <> c.unit_code
                    ), doubles AS (
                        SELECT unit_code, jsonb_agg(jsonb_build_object('otherVillage', other, 'persons', persons, 'keptHere', kept)
                            ORDER BY other) AS reports
                        FROM (
                            SELECT unit_code, other, count(*) AS persons, count(*) FILTER (WHERE kept_here) AS kept
                            FROM pairs_reported_twice GROUP BY unit_code, other
                        ) AS g GROUP BY unit_code
                    ), refused AS (
                        SELECT unit_code, jsonb_object_agg(reason_code, records) AS reasons FROM (
                            SELECT unit_code::char(12) AS unit_code, reason_code, count(*) AS records FROM rejections
                            WHERE period = target_month AND unit_code ~ '^[0-9]{12}$' GROUP BY 1, 2
                        ) AS r GROUP BY unit_code
                    ), units AS (
                        SELECT unit_code FROM changes WHERE persons > 0 UNION SELECT unit_code FROM refused
                    )
                    INSERT INTO village_month_quality (period, unit_code, persons, first_reported_ms, last_reported_ms,
                        corrected_persons, corrected_statuses, last_correction_ms, reported_month_before, by_status, joined,
                        left_ledger, double_reports, rejected)
                    SELECT target_month, u.unit_code, coalesce(ch.persons, 0), v.first_ms, v.last_ms, coalesce(co.persons, 0),
                        coalesce(co.statuses, 0), co.last_ms, coalesce(ch.persons_before, 0) > 0,
                        coalesce(bs.changes, '{}'::jsonb), coalesce(ch.joined, 0), coalesce(ch.left_ledger, 0),
                        coalesce(d.reports, '[]'::jsonb), coalesce(r.reasons, '{}'::jsonb)
                    FROM units AS u
                    LEFT JOIN changes AS ch USING (unit_code)
                    LEFT JOIN by_status AS bs USING (unit_code)
                    LEFT JOIN versions AS v USING (unit_code)
                    LEFT JOIN corrections AS co USING (unit_code)
                    LEFT JOIN doubles AS d USING (unit_code)
                    LEFT JOIN refused AS r USING (unit_code);
                END
                $fn$;
                """),
    ]

    package static func migrator() throws -> PostgresMigrator {
        try PostgresMigrator(migrations: migrations)
    }
}

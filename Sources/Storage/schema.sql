-- The schema the migrations in Migrations/ make, as pg_dump writes it without owners, privileges and settings.
-- Do not edit: SchemaSnapshotTests writes it (EMPMON_WRITE_SCHEMA=1 bash scripts/test.sh --filter SchemaSnapshotTests)
-- and fails while it differs from what the migrations make.

CREATE FUNCTION public.empmon_count_ledger_write() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM nextval('ledger_writes');
    PERFORM set_config('empmon.own_ledger_writes',
        (coalesce(nullif(current_setting('empmon.own_ledger_writes', true), ''), '0')::bigint + 1)::text,
        true);
    RETURN NULL;
END $$;

CREATE FUNCTION public.empmon_ensure_month(month date) RETURNS void
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.empmon_keep_count_history() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO unit_month_count_history (period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, recorded_at)
    SELECT period, unit_code, labour_force, employed, unemployed, registered_unemployed, new_employment, new_urban_employment, reemployed, hard_to_employ_reemployed, rural_labour_employed, rural_labour_employed_local, rural_labour_employed_in_province, rural_labour_employed_out_of_province, zero_employment_households, trained, assisted, assistance_target, unemployed_last_month, college_graduates, college_graduates_employed, reporting_units, expected_units, jobs_collected, recruitment_events, internship_posts, gig_market_services, entrepreneurship_trainees, jobs_created_by_entrepreneurship, training_completions, labour_disputes_handled, wage_arrears_cases, urban_labour_force, urban_registered_unemployed, updated_at, now() FROM changed;
    RETURN NULL;
END;
$$;

CREATE FUNCTION public.empmon_quality_versions(target_month date, OUT counts numeric, OUT rejections numeric) RETURNS record
    LANGUAGE sql STABLE
    AS $$
    SELECT (SELECT coalesce(sum(xmin::text::bigint), 0) FROM unit_month_counts
            WHERE period IN (target_month, (target_month - interval '1 month')::date)),
        (SELECT coalesce(sum(id), 0) FROM rejections WHERE period = target_month)
$$;

CREATE FUNCTION public.empmon_refresh_village_quality(target_month date) RETURNS void
    LANGUAGE plpgsql
    AS $_$
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
$_$;

CREATE TABLE public.activity_ledger (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    record_id uuid NOT NULL,
    counters jsonb NOT NULL,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT activity_ledger_period_check CHECK ((EXTRACT(day FROM period) = (1)::numeric))
);

CREATE TABLE public.activity_ledger_superseded (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    record_id uuid NOT NULL,
    counters jsonb NOT NULL,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamp with time zone DEFAULT now() NOT NULL,
    superseded_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.agent_keys (
    agent_id text NOT NULL,
    key_id text NOT NULL,
    public_key bytea NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    retires_at timestamp with time zone,
    CONSTRAINT agent_keys_key_id_check CHECK ((key_id ~ '^[0-9a-f]{16}$'::text)),
    CONSTRAINT agent_keys_public_key_check CHECK ((length(public_key) = 32))
);

CREATE TABLE public.agents (
    agent_id text NOT NULL,
    unit_code character(12) NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    enrolment_code_sha256 bytea,
    enrolment_expires_at timestamp with time zone,
    CONSTRAINT agents_unit_code_check CHECK ((unit_code ~ '^[0-9]{12}$'::text))
);

CREATE TABLE public.alert_deliveries (
    event_id bigint NOT NULL,
    target text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    delivered_at timestamp with time zone,
    last_error text,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.alert_events (
    id bigint NOT NULL,
    alert_id bigint NOT NULL,
    event text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alert_events_event_check CHECK ((event = ANY (ARRAY['firing'::text, 'resolved'::text])))
);

CREATE SEQUENCE public.alert_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.alert_events_id_seq OWNED BY public.alert_events.id;

CREATE TABLE public.alerts (
    id bigint NOT NULL,
    rule_id text NOT NULL,
    unit_code character(12) NOT NULL,
    indicator text NOT NULL,
    severity text NOT NULL,
    state text NOT NULL,
    since_period date NOT NULL,
    last_period date NOT NULL,
    value double precision,
    threshold double precision,
    message text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    fired_at timestamp with time zone,
    resolved_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alerts_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'firing'::text, 'resolved'::text])))
);

CREATE SEQUENCE public.alerts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.alerts_id_seq OWNED BY public.alerts.id;

CREATE TABLE public.api_tokens (
    id bigint NOT NULL,
    token_sha256 bytea NOT NULL,
    scope character(12) NOT NULL,
    role text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_tokens_role_check CHECK ((role = ANY (ARRAY['analyst'::text, 'viewer'::text]))),
    CONSTRAINT api_tokens_scope_check CHECK ((scope ~ '^[0-9]{12}$'::text)),
    CONSTRAINT api_tokens_token_sha256_check CHECK ((length(token_sha256) = 32))
);

CREATE SEQUENCE public.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;

CREATE TABLE public.city_keys (
    purpose text NOT NULL,
    key bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT city_keys_key_check CHECK ((length(key) >= 32))
);

CREATE TABLE public.consumer_offsets (
    consumer_group text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT consumer_offsets_next_offset_check CHECK ((next_offset >= 0)),
    CONSTRAINT consumer_offsets_partition_check CHECK ((partition >= 0))
);

CREATE TABLE public.forecast_runs (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    indicator text NOT NULL,
    origin date NOT NULL,
    horizon integer NOT NULL,
    reconciliation text NOT NULL,
    shrinkage double precision,
    series integer NOT NULL,
    CONSTRAINT forecast_runs_horizon_check CHECK (((horizon >= 1) AND (horizon <= 120)))
);

CREATE SEQUENCE public.forecast_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.forecast_runs_id_seq OWNED BY public.forecast_runs.id;

CREATE TABLE public.forecasts (
    run_id bigint NOT NULL,
    unit_code character(12) NOT NULL,
    period date NOT NULL,
    model text NOT NULL,
    mean double precision NOT NULL,
    lo80 double precision,
    hi80 double precision,
    lo95 double precision,
    hi95 double precision
);

CREATE TABLE public.household_members (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    household_key bytea NOT NULL,
    in_labour_force integer NOT NULL,
    employed integer NOT NULL,
    CONSTRAINT household_members_employed_check CHECK ((employed >= 0)),
    CONSTRAINT household_members_in_labour_force_check CHECK ((in_labour_force >= 0))
)
PARTITION BY RANGE (period);

CREATE TABLE public.unit_month_counts (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    labour_force bigint DEFAULT 0 NOT NULL,
    employed bigint DEFAULT 0 NOT NULL,
    unemployed bigint DEFAULT 0 NOT NULL,
    registered_unemployed bigint DEFAULT 0 NOT NULL,
    new_employment bigint DEFAULT 0 NOT NULL,
    new_urban_employment bigint DEFAULT 0 NOT NULL,
    reemployed bigint DEFAULT 0 NOT NULL,
    hard_to_employ_reemployed bigint DEFAULT 0 NOT NULL,
    rural_labour_employed bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_local bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_in_province bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_out_of_province bigint DEFAULT 0 NOT NULL,
    zero_employment_households bigint DEFAULT 0 NOT NULL,
    trained bigint DEFAULT 0 NOT NULL,
    assisted bigint DEFAULT 0 NOT NULL,
    assistance_target bigint DEFAULT 0 NOT NULL,
    unemployed_last_month bigint DEFAULT 0 NOT NULL,
    college_graduates bigint DEFAULT 0 NOT NULL,
    college_graduates_employed bigint DEFAULT 0 NOT NULL,
    reporting_units bigint DEFAULT 0 NOT NULL,
    expected_units bigint DEFAULT 0 NOT NULL,
    jobs_collected bigint DEFAULT 0 NOT NULL,
    recruitment_events bigint DEFAULT 0 NOT NULL,
    internship_posts bigint DEFAULT 0 NOT NULL,
    gig_market_services bigint DEFAULT 0 NOT NULL,
    entrepreneurship_trainees bigint DEFAULT 0 NOT NULL,
    jobs_created_by_entrepreneurship bigint DEFAULT 0 NOT NULL,
    training_completions bigint DEFAULT 0 NOT NULL,
    labour_disputes_handled bigint DEFAULT 0 NOT NULL,
    wage_arrears_cases bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    urban_labour_force bigint DEFAULT 0 NOT NULL,
    urban_registered_unemployed bigint DEFAULT 0 NOT NULL
)
WITH (fillfactor='50');

CREATE VIEW public.indicator_values AS
 SELECT c.period,
    c.unit_code,
    v.indicator,
    v.value,
    c.updated_at
   FROM (public.unit_month_counts c
     CROSS JOIN LATERAL ( VALUES ('labour_force'::text,c.labour_force), ('employed'::text,c.employed), ('unemployed'::text,c.unemployed), ('registered_unemployed'::text,c.registered_unemployed), ('new_employment'::text,c.new_employment), ('new_urban_employment'::text,c.new_urban_employment), ('reemployed'::text,c.reemployed), ('hard_to_employ_reemployed'::text,c.hard_to_employ_reemployed), ('rural_labour_employed'::text,c.rural_labour_employed), ('rural_labour_employed_local'::text,c.rural_labour_employed_local), ('rural_labour_employed_in_province'::text,c.rural_labour_employed_in_province), ('rural_labour_employed_out_of_province'::text,c.rural_labour_employed_out_of_province), ('zero_employment_households'::text,c.zero_employment_households), ('trained'::text,c.trained), ('assisted'::text,c.assisted), ('assistance_target'::text,c.assistance_target), ('unemployed_last_month'::text,c.unemployed_last_month), ('college_graduates'::text,c.college_graduates), ('college_graduates_employed'::text,c.college_graduates_employed), ('reporting_units'::text,c.reporting_units), ('expected_units'::text,c.expected_units), ('jobs_collected'::text,c.jobs_collected), ('recruitment_events'::text,c.recruitment_events), ('internship_posts'::text,c.internship_posts), ('gig_market_services'::text,c.gig_market_services), ('entrepreneurship_trainees'::text,c.entrepreneurship_trainees), ('jobs_created_by_entrepreneurship'::text,c.jobs_created_by_entrepreneurship), ('training_completions'::text,c.training_completions), ('labour_disputes_handled'::text,c.labour_disputes_handled), ('wage_arrears_cases'::text,c.wage_arrears_cases), ('urban_labour_force'::text,c.urban_labour_force), ('urban_registered_unemployed'::text,c.urban_registered_unemployed)) v(indicator, value));

CREATE SEQUENCE public.ledger_writes
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE public.legacy_hmac_secrets (
    agent_id text NOT NULL,
    secret bytea NOT NULL
);

CREATE TABLE public.monitored_periods (
    period date NOT NULL,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT monitored_periods_period_check CHECK ((EXTRACT(day FROM period) = (1)::numeric))
);

CREATE TABLE public.person_ledger (
    period date NOT NULL,
    person_key bytea NOT NULL,
    record_id uuid NOT NULL,
    unit_code character(12) NOT NULL,
    household_key bytea NOT NULL,
    birth_year smallint NOT NULL,
    sex text NOT NULL,
    status text NOT NULL,
    employment_form text,
    work_location text,
    sector character(1),
    registered_unemployed boolean NOT NULL,
    groups text[] NOT NULL,
    seeking_work boolean NOT NULL,
    assisted boolean NOT NULL,
    trained boolean NOT NULL,
    income_band text,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT person_ledger_period_check CHECK ((EXTRACT(day FROM period) = (1)::numeric)),
    CONSTRAINT person_ledger_person_key_check CHECK ((length(person_key) = 32))
)
PARTITION BY RANGE (period);

CREATE TABLE public.person_ledger_displaced (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    person_key bytea NOT NULL,
    record_id uuid NOT NULL,
    reported_at_ms bigint NOT NULL
);

CREATE TABLE public.person_ledger_superseded (
    period date NOT NULL,
    person_key bytea NOT NULL,
    record_id uuid NOT NULL,
    unit_code character(12) NOT NULL,
    household_key bytea NOT NULL,
    birth_year smallint NOT NULL,
    sex text NOT NULL,
    status text NOT NULL,
    employment_form text,
    work_location text,
    sector character(1),
    registered_unemployed boolean NOT NULL,
    groups text[] NOT NULL,
    seeking_work boolean NOT NULL,
    assisted boolean NOT NULL,
    trained boolean NOT NULL,
    income_band text,
    reported_at_ms bigint NOT NULL,
    agent_id text NOT NULL,
    signature bytea NOT NULL,
    accepted_at timestamp with time zone DEFAULT now() NOT NULL,
    superseded_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.quality_refreshes (
    period date NOT NULL,
    counts_version numeric NOT NULL,
    rejections_version numeric NOT NULL,
    refreshed_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.receipt_outbox (
    id bigint NOT NULL,
    agent_id text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    published_at timestamp with time zone
);

CREATE SEQUENCE public.receipt_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.receipt_outbox_id_seq OWNED BY public.receipt_outbox.id;

CREATE TABLE public.rejections (
    id bigint NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    "offset" bigint NOT NULL,
    record_id text,
    agent_id text,
    unit_code text,
    reason_code text NOT NULL,
    field text DEFAULT ''::text NOT NULL,
    message_zh text NOT NULL,
    message_en text NOT NULL,
    payload bytea NOT NULL,
    rejected_at timestamp with time zone DEFAULT now() NOT NULL,
    period date
);

CREATE SEQUENCE public.rejections_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.rejections_id_seq OWNED BY public.rejections.id;

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.submission_manifests (
    record_id uuid NOT NULL,
    agent_id text NOT NULL,
    unit_code character(12) NOT NULL,
    period date NOT NULL,
    kind text NOT NULL,
    records integer NOT NULL,
    digest bytea NOT NULL,
    reported_at_ms bigint NOT NULL,
    accepted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT submission_manifests_digest_check CHECK ((length(digest) = 32)),
    CONSTRAINT submission_manifests_kind_check CHECK ((kind = ANY (ARRAY['person'::text, 'activity'::text]))),
    CONSTRAINT submission_manifests_period_check CHECK ((EXTRACT(day FROM period) = (1)::numeric)),
    CONSTRAINT submission_manifests_records_check CHECK ((records >= 0)),
    CONSTRAINT submission_manifests_unit_code_check CHECK ((unit_code ~ '^[0-9]{12}$'::text))
);

CREATE TABLE public.unit_month_count_history (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    labour_force bigint DEFAULT 0 NOT NULL,
    employed bigint DEFAULT 0 NOT NULL,
    unemployed bigint DEFAULT 0 NOT NULL,
    registered_unemployed bigint DEFAULT 0 NOT NULL,
    new_employment bigint DEFAULT 0 NOT NULL,
    new_urban_employment bigint DEFAULT 0 NOT NULL,
    reemployed bigint DEFAULT 0 NOT NULL,
    hard_to_employ_reemployed bigint DEFAULT 0 NOT NULL,
    rural_labour_employed bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_local bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_in_province bigint DEFAULT 0 NOT NULL,
    rural_labour_employed_out_of_province bigint DEFAULT 0 NOT NULL,
    zero_employment_households bigint DEFAULT 0 NOT NULL,
    trained bigint DEFAULT 0 NOT NULL,
    assisted bigint DEFAULT 0 NOT NULL,
    assistance_target bigint DEFAULT 0 NOT NULL,
    unemployed_last_month bigint DEFAULT 0 NOT NULL,
    college_graduates bigint DEFAULT 0 NOT NULL,
    college_graduates_employed bigint DEFAULT 0 NOT NULL,
    reporting_units bigint DEFAULT 0 NOT NULL,
    expected_units bigint DEFAULT 0 NOT NULL,
    jobs_collected bigint DEFAULT 0 NOT NULL,
    recruitment_events bigint DEFAULT 0 NOT NULL,
    internship_posts bigint DEFAULT 0 NOT NULL,
    gig_market_services bigint DEFAULT 0 NOT NULL,
    entrepreneurship_trainees bigint DEFAULT 0 NOT NULL,
    jobs_created_by_entrepreneurship bigint DEFAULT 0 NOT NULL,
    training_completions bigint DEFAULT 0 NOT NULL,
    labour_disputes_handled bigint DEFAULT 0 NOT NULL,
    wage_arrears_cases bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    recorded_at timestamp with time zone DEFAULT now() NOT NULL,
    urban_labour_force bigint DEFAULT 0 NOT NULL,
    urban_registered_unemployed bigint DEFAULT 0 NOT NULL
);

CREATE TABLE public.village_month_quality (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    persons integer NOT NULL,
    first_reported_ms bigint,
    last_reported_ms bigint,
    corrected_persons integer NOT NULL,
    corrected_statuses integer NOT NULL,
    last_correction_ms bigint,
    reported_month_before boolean NOT NULL,
    by_status jsonb NOT NULL,
    joined integer NOT NULL,
    left_ledger integer NOT NULL,
    double_reports jsonb NOT NULL,
    rejected jsonb NOT NULL
);

CREATE TABLE public.village_reports (
    period date NOT NULL,
    unit_code character(12) NOT NULL,
    persons integer NOT NULL,
    employed_new_to_ledger integer DEFAULT 0 NOT NULL,
    CONSTRAINT village_reports_employed_new_to_ledger_check CHECK ((employed_new_to_ledger >= 0)),
    CONSTRAINT village_reports_persons_check CHECK ((persons >= 0))
)
WITH (fillfactor='50');

ALTER TABLE ONLY public.alert_events ALTER COLUMN id SET DEFAULT nextval('public.alert_events_id_seq'::regclass);

ALTER TABLE ONLY public.alerts ALTER COLUMN id SET DEFAULT nextval('public.alerts_id_seq'::regclass);

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);

ALTER TABLE ONLY public.forecast_runs ALTER COLUMN id SET DEFAULT nextval('public.forecast_runs_id_seq'::regclass);

ALTER TABLE ONLY public.receipt_outbox ALTER COLUMN id SET DEFAULT nextval('public.receipt_outbox_id_seq'::regclass);

ALTER TABLE ONLY public.rejections ALTER COLUMN id SET DEFAULT nextval('public.rejections_id_seq'::regclass);

ALTER TABLE ONLY public.activity_ledger
    ADD CONSTRAINT activity_ledger_pkey PRIMARY KEY (unit_code, period);

ALTER TABLE ONLY public.agent_keys
    ADD CONSTRAINT agent_keys_pkey PRIMARY KEY (agent_id, key_id);

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.alert_deliveries
    ADD CONSTRAINT alert_deliveries_pkey PRIMARY KEY (event_id, target);

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_token_sha256_key UNIQUE (token_sha256);

ALTER TABLE ONLY public.city_keys
    ADD CONSTRAINT city_keys_pkey PRIMARY KEY (purpose);

ALTER TABLE ONLY public.consumer_offsets
    ADD CONSTRAINT consumer_offsets_pkey PRIMARY KEY (consumer_group, topic, partition);

ALTER TABLE ONLY public.forecast_runs
    ADD CONSTRAINT forecast_runs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.forecasts
    ADD CONSTRAINT forecasts_pkey PRIMARY KEY (run_id, unit_code, period);

ALTER TABLE ONLY public.household_members
    ADD CONSTRAINT household_members_pkey PRIMARY KEY (period, unit_code, household_key);

ALTER TABLE ONLY public.legacy_hmac_secrets
    ADD CONSTRAINT legacy_hmac_secrets_pkey PRIMARY KEY (agent_id);

ALTER TABLE ONLY public.monitored_periods
    ADD CONSTRAINT monitored_periods_pkey PRIMARY KEY (period);

ALTER TABLE ONLY public.person_ledger_displaced
    ADD CONSTRAINT person_ledger_displaced_pkey PRIMARY KEY (period, unit_code, person_key);

ALTER TABLE ONLY public.person_ledger
    ADD CONSTRAINT person_ledger_pkey PRIMARY KEY (person_key, period);

ALTER TABLE ONLY public.quality_refreshes
    ADD CONSTRAINT quality_refreshes_pkey PRIMARY KEY (period);

ALTER TABLE ONLY public.receipt_outbox
    ADD CONSTRAINT receipt_outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.rejections
    ADD CONSTRAINT rejections_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.rejections
    ADD CONSTRAINT rejections_topic_partition_offset_key UNIQUE (topic, partition, "offset");

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.submission_manifests
    ADD CONSTRAINT submission_manifests_pkey PRIMARY KEY (record_id);

ALTER TABLE ONLY public.unit_month_counts
    ADD CONSTRAINT unit_month_counts_pkey PRIMARY KEY (period, unit_code);

ALTER TABLE ONLY public.village_month_quality
    ADD CONSTRAINT village_month_quality_pkey PRIMARY KEY (period, unit_code);

ALTER TABLE ONLY public.village_reports
    ADD CONSTRAINT village_reports_pkey PRIMARY KEY (period, unit_code);

CREATE INDEX agents_unit ON public.agents USING btree (unit_code);

CREATE INDEX alert_deliveries_due ON public.alert_deliveries USING btree (next_attempt_at) WHERE (delivered_at IS NULL);

CREATE UNIQUE INDEX alerts_open ON public.alerts USING btree (rule_id, unit_code) WHERE (state <> 'resolved'::text);

CREATE INDEX alerts_state ON public.alerts USING btree (state, updated_at DESC);

CREATE INDEX forecast_runs_latest ON public.forecast_runs USING btree (indicator, created_at DESC);

CREATE INDEX person_ledger_superseded_key ON public.person_ledger_superseded USING btree (person_key, period);

CREATE INDEX receipt_outbox_unpublished ON public.receipt_outbox USING btree (id) WHERE (published_at IS NULL);

CREATE INDEX rejections_reason ON public.rejections USING btree (reason_code, rejected_at);

CREATE INDEX rejections_unit_month ON public.rejections USING btree (period, unit_code) WHERE (period IS NOT NULL);

CREATE INDEX submission_manifests_latest ON public.submission_manifests USING btree (period, unit_code, kind, reported_at_ms DESC, record_id DESC);

CREATE INDEX unit_month_count_history_lookup ON public.unit_month_count_history USING btree (unit_code, period, recorded_at);

CREATE INDEX unit_month_counts_unit ON public.unit_month_counts USING btree (unit_code, period);

CREATE TRIGGER household_members_writes AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.household_members FOR EACH STATEMENT EXECUTE FUNCTION public.empmon_count_ledger_write();

CREATE TRIGGER person_ledger_writes AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.person_ledger FOR EACH STATEMENT EXECUTE FUNCTION public.empmon_count_ledger_write();

CREATE TRIGGER unit_month_counts_history_inserted AFTER INSERT ON public.unit_month_counts REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.empmon_keep_count_history();

CREATE TRIGGER unit_month_counts_history_updated AFTER UPDATE ON public.unit_month_counts REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.empmon_keep_count_history();

CREATE TRIGGER village_reports_writes AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.village_reports FOR EACH STATEMENT EXECUTE FUNCTION public.empmon_count_ledger_write();

ALTER TABLE ONLY public.agent_keys
    ADD CONSTRAINT agent_keys_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(agent_id);

ALTER TABLE ONLY public.alert_deliveries
    ADD CONSTRAINT alert_deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.alert_events(id);

ALTER TABLE ONLY public.alert_events
    ADD CONSTRAINT alert_events_alert_id_fkey FOREIGN KEY (alert_id) REFERENCES public.alerts(id);

ALTER TABLE ONLY public.forecasts
    ADD CONSTRAINT forecasts_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.forecast_runs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.legacy_hmac_secrets
    ADD CONSTRAINT legacy_hmac_secrets_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(agent_id);

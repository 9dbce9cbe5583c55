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

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
